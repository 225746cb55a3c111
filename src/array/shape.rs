//! Chunk-level and joining operations: `rechunk`, `concatenate`, `stack`.

use super::Array;
use crate::chunks::ChunkSpec;
use crate::dtype::Element;
use crate::error::{axis_err, Error, Result};
use crate::expr::{build, NodeRef};

impl<T: Element> Array<T> {
    /// The same values with other chunks.
    pub fn rechunk(&self, chunks: impl Into<ChunkSpec>) -> Result<Array<T>> {
        let c = chunks.into().resolve(self.shape(), T::DTYPE.size())?;
        Ok(Array::from_node(build::rechunk(self.node(), c)))
    }
    /// A new axis of length 1 at `axis`.
    pub fn insert_axis(&self, axis: usize) -> Result<Array<T>> {
        Ok(Array::from_node(build::expand_dims(self.node(), axis)?))
    }
}

/// Join arrays along an existing axis.
pub fn concatenate<T: Element>(axis: usize, arrays: &[&Array<T>]) -> Result<Array<T>> {
    let nodes: Vec<NodeRef> = arrays.iter().map(|a| a.node().clone()).collect();
    Ok(Array::from_node(build::concat(axis, &nodes)?))
}

/// Join arrays of the same shape along a new axis.
pub fn stack<T: Element>(axis: usize, arrays: &[&Array<T>]) -> Result<Array<T>> {
    let first = arrays.first().ok_or_else(|| Error::Value("stack needs at least one array".into()))?;
    if axis > first.ndim() {
        return Err(axis_err(axis as isize, first.ndim() + 1, "stack"));
    }
    for a in arrays {
        if a.shape() != first.shape() {
            return Err(Error::Shape(format!("stack needs arrays of one shape, got {:?} and {:?}", first.shape(), a.shape())));
        }
    }
    let expanded: Vec<NodeRef> = arrays.iter().map(|a| build::expand_dims(a.node(), axis)).collect::<Result<_>>()?;
    Ok(Array::from_node(build::concat(axis, &expanded)?))
}
