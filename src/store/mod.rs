//! Stores: Zarr v2/v3 arrays on the filesystem through `zarrs`. A leaf
//! module: it knows ndarray and zarrs, nothing of graphs or executors.
//! Reading ([`zarr::ZarrArray`]) gives the lazy source of `open_zarr`;
//! writing ([`write::ZarrWriter`]) is driven by `Executor::to_zarr`.

pub mod atomic;
pub mod location;
pub mod write;
pub mod zarr;

pub use write::{ZarrCodec, ZarrWriteOptions};
pub use zarr::ZarrArray;
