//! # floe — parallel, lazy, chunked n-dimensional arrays
//!
//! What dask.array is to Python, floe is to Rust. Build whole-array
//! expressions with a NumPy-like API; floe records them, optimizes them
//! (fusing elementwise chains into one tiled program per chunk), lowers them
//! to per-chunk tasks and runs those on all cores in a memory-aware order.
//!
//! ```
//! use floe::{Executor, random};
//! let x = random::uniform([1000, 1000], 0.0, 1.0, 250, 42)?;
//! let y = random::uniform([1000, 1000], 0.0, 1.0, 250, 7)?;
//! let total = ((x.sin() * 2.0 + &y * &y - 1.0).abs()).sum(..)?;
//! let v = Executor::cpu().threads(2).compute(&total)?;
//! assert!(v.first().copied().unwrap() > 0.0);
//! # Ok::<(), floe::Error>(())
//! ```
//!
//! ## Map of the crate (the four representations of DESIGN.md)
//! | module | what it owns |
//! |---|---|
//! | [`array`](mod@array) (re-exported at the root) | [`Array<T>`], the lazy user handle: creation, elementwise, reductions, chunk ops |
//! | [`expr`] | the expression graph: [`expr::Node`], [`expr::Op`], the fused [`expr::Program`], shape/chunk inference, `explain` |
//! | [`opt`] | the optimizer [`opt::Pipeline`]: rechunk merging, CSE, fusion, sanity — one file a pass |
//! | [`lower`] | expression graph → [`task::TaskGraph`] (tree reductions, scans) |
//! | [`task`] | the compact per-chunk task graph (virtual blockwise layers) and its memory-aware [`task::order`] |
//! | [`exec`] | [`Executor`] configuration; [`exec::cpu`]: the threaded scheduler, the tiled Program interpreter, block kernels, the I/O pool (read-ahead, write-behind) |
//! | [`chunks`], [`dtype`], [`error`] | [`Chunks`]/[`ChunkSpec`], [`Element`]/[`DType`], the one [`Error`] |
//! | [`rng`] | the counter-based (Philox) random streams |
//! | [`simd`] | which instruction set (portable, AVX2, AVX-512) the CPU kernels use, detected at run time |
//! | [`store`] | Zarr v2/v3 reading and v3 writing through `zarrs` (a leaf: no graphs); `Executor::to_zarr_with`, `Executor::rechunk_zarr` in [`exec`] |
//! | [`alloc`] | [`HugePageAlloc`], an opt-in global allocator (huge pages for large chunk buffers) |
//! | [`linalg`] | `matmul`/`tensordot` (tree-summed block products) and factorizations: TSQR, QR, SVD, randomized SVD, Cholesky, blocked LU with partial pivoting (`lu`, `solve`, `inv`), `solve_triangular`, lstsq, norm; NumPy's batched matmul |
//! | [`dask`] | floe for dask users: dask.array names → floe names |
//!
//! Semantics follow NumPy (broadcasting, reductions, NaN handling) with the
//! types of Rust: integer arithmetic wraps, integer division truncates and
//! `x / 0 == 0` for integers, sums of integers accumulate in `i64`/`u64`.

pub mod alloc;
pub mod array;
pub mod chunks;
pub mod dask;
pub mod dtype;
pub mod error;
pub mod exec;
pub mod expr;
pub mod linalg;
pub mod lower;
pub mod opt;
pub mod rng;
pub mod simd;
pub mod size;
pub mod store;
pub mod task;

pub use array::{
    arange, blockwise, concatenate, diag, eye, from_ndarray, from_zarr, full, linspace, ones, open_zarr, random, stack,
    where_, zeros, Array, Axes, Coarsened, Operand, PadMode,
};
pub use alloc::HugePageAlloc;
pub use chunks::{ChunkSpec, Chunks};
pub use dtype::{DType, Element, FloatElement, Numeric, SignedElement};
pub use error::{Error, Result};
pub use exec::{Executor, Stats};
pub use exec::rechunk_zarr::{RechunkReport, RechunkStage};
pub use linalg::tensordot;
pub use store::{ZarrArray, ZarrCodec, ZarrWriteOptions};
pub use ndarray::s;

/// What `map_overlap` sees beyond the array's edges (see [`Array::map_overlap`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Boundary<T> {
    Reflect,
    Periodic,
    Nearest,
    Constant(T),
    None,
}
