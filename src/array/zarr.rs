//! Arrays backed by Zarr stores.

use std::path::Path;
use std::sync::Arc;

use super::Array;
use crate::dtype::Element;
use crate::error::{Error, Result};
use crate::expr::{build, Source};
use crate::store::ZarrArray;

/// Open the Zarr v2 or v3 array at `path` lazily: nothing is read but the
/// metadata. Its blocks are the stored chunks (for sharded arrays the
/// shards, read with one request each, or their inner chunks when a shard
/// is over 128 MiB). `T` must be the stored element type.
pub fn open_zarr<T: Element>(path: impl AsRef<Path>) -> Result<Array<T>> {
    from_zarr(Arc::new(ZarrArray::open(path.as_ref())?))
}

/// An array over an opened Zarr array (keep the `Arc` to look at
/// [`ZarrArray::chunk_reads`] after computing).
pub fn from_zarr<T: Element>(z: Arc<ZarrArray>) -> Result<Array<T>> {
    if z.dtype() != T::DTYPE {
        return Err(Error::DType(format!(
            "{} holds {} elements but was opened as {}",
            z.path().display(),
            z.dtype(),
            T::DTYPE
        )));
    }
    let shape = z.shape().to_vec();
    let chunks = z.chunks().clone();
    // the metadata's sizes are input too: they must fit before anything
    // multiplies them (a grid of many blocks is fine: slices of it read few)
    if let Err(e) = crate::size::shape_elems(&shape, T::DTYPE.size()) {
        return Err(Error::Storage(format!("{}: {e}", z.path().display())));
    }
    let origin = vec![0; shape.len()];
    Ok(Array::from_node(build::source(Source::Stored { array: z, origin }, shape, T::DTYPE, chunks)))
}
