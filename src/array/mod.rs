//! `Array<T>`: the user's lazy handle. Building an array records a node in the
//! expression graph and checks shapes, axes and types; nothing is computed
//! until `compute` (or an `Executor`) is asked for a result.

mod blocks;
mod coarsen;
mod create;
mod elementwise;
mod index;
mod manip;
mod ops;
pub mod random;
mod reduce;
mod shape;
mod zarr;

use std::marker::PhantomData;

use ndarray::ArrayD;

use crate::chunks::Chunks;
use crate::dtype::{DType, Element};
use crate::error::Result;
use crate::exec::Executor;
use crate::expr::NodeRef;

pub use blocks::blockwise;
pub use coarsen::Coarsened;
pub use manip::{diag, PadMode};
pub use create::{arange, eye, from_ndarray, full, linspace, ones, zeros};
pub use elementwise::{where_, Operand};
pub use reduce::Axes;
pub use shape::{concatenate, stack};
pub use zarr::{from_zarr, open_zarr};

/// A lazy, chunked n-dimensional array of `T`. Cheap to clone (a reference
/// to a graph node). Building one does nothing until it is computed.
#[must_use = "arrays are lazy: call .compute() (or an Executor) to get values"]
pub struct Array<T: Element> {
    node: NodeRef,
    _t: PhantomData<T>,
}

impl<T: Element> Clone for Array<T> {
    fn clone(&self) -> Self {
        Array { node: self.node.clone(), _t: PhantomData }
    }
}

impl<T: Element> std::fmt::Debug for Array<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "floe::Array<{}>(shape={:?}, chunks={})", T::DTYPE, self.shape(), self.node.chunks.describe())
    }
}

impl<T: Element> Array<T> {
    pub(crate) fn from_node(node: NodeRef) -> Array<T> {
        debug_assert_eq!(node.dtype, T::DTYPE);
        Array { node, _t: PhantomData }
    }
    /// The expression node behind this array (for executors and tools).
    #[doc(hidden)]
    pub fn node(&self) -> &NodeRef {
        &self.node
    }
    pub fn shape(&self) -> &[usize] {
        &self.node.shape
    }
    pub fn ndim(&self) -> usize {
        self.node.shape.len()
    }
    /// Number of elements.
    pub fn size(&self) -> usize {
        self.node.shape.iter().product()
    }
    pub fn dtype(&self) -> DType {
        T::DTYPE
    }
    /// Bytes of the whole array.
    pub fn nbytes(&self) -> u64 {
        crate::size::saturating_bytes(self.size(), T::DTYPE.size())
    }
    /// Number of blocks along each axis.
    pub fn numblocks(&self) -> Vec<usize> {
        self.node.chunks.numblocks()
    }
    pub fn chunks(&self) -> &Chunks {
        &self.node.chunks
    }
    /// Compute with the default executor (CPU, all cores, no memory limit).
    pub fn compute(&self) -> Result<ArrayD<T>> {
        Executor::default().compute(self)
    }
    /// The optimized plan: the expression graph one node a line, then the task layers.
    pub fn explain(&self) -> String {
        Executor::default().explain(&[self.node.clone()])
    }
    /// Write as a Zarr v3 array (zstd; irregular chunks regularised to the
    /// largest block per axis) with the default executor. Fails if an array
    /// exists at `path`: use [`Executor::to_zarr_with`] to overwrite or resume.
    pub fn to_zarr(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        Executor::default().to_zarr(self, path)
    }
}

impl Executor {
    /// Compute one array.
    pub fn compute<T: Element>(&self, a: &Array<T>) -> Result<ArrayD<T>> {
        Ok(self.compute_with_stats(a)?.0)
    }
    /// Compute one array and report what the run did.
    pub fn compute_with_stats<T: Element>(&self, a: &Array<T>) -> Result<(ArrayD<T>, crate::exec::Stats)> {
        let (mut v, stats) = self.compute_many_with_stats(&[a])?;
        Ok((v.pop().expect("one result"), stats))
    }
    /// Compute several arrays together: shared intermediates are computed once.
    pub fn compute_many<T: Element>(&self, arrays: &[&Array<T>]) -> Result<Vec<ArrayD<T>>> {
        Ok(self.compute_many_with_stats(arrays)?.0)
    }
    /// `compute_many`, with run statistics.
    pub fn compute_many_with_stats<T: Element>(&self, arrays: &[&Array<T>]) -> Result<(Vec<ArrayD<T>>, crate::exec::Stats)> {
        let roots: Vec<NodeRef> = arrays.iter().map(|a| a.node.clone()).collect();
        let (chunks, stats) = self.run_nodes(&roots)?;
        let out = chunks
            .into_iter()
            .map(|c| T::peel_owned(c).map_err(|c| crate::exec::cpu::chunk::type_err(T::DTYPE, &c)))
            .collect::<Result<Vec<_>>>()?;
        Ok((out, stats))
    }
    /// The optimized expression graph and the task layers of `roots`.
    pub fn explain(&self, roots: &[NodeRef]) -> String {
        let g = match self.optimize(roots) {
            Ok(g) => g,
            Err(e) => return format!("plan error: {e}"),
        };
        let tasks = match self.lower_checked(&g) {
            Ok(t) => t.explain(),
            Err(e) => format!("plan error: {e}\n"),
        };
        format!("{}-- tasks --\n{}", g.explain(), tasks)
    }
}
