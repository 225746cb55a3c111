//! Indexing: `slice` with ndarray's `s![]`, and `squeeze`.

use ndarray::SliceInfoElem;

use super::Array;
use crate::dtype::Element;
use crate::error::Result;
use crate::expr::{build, slice};

impl<T: Element> Array<T> {
    /// A view-like selection with ndarray's `s![]` semantics: ranges,
    /// steps (negative steps walk backwards, as in ndarray), single indices
    /// that drop their axis, negative indices counted from the end, and
    /// `NewAxis`. Axes not named are taken whole. An index or bound out of
    /// range is an `Err`, never a panic; empty selections are fine.
    ///
    /// Slices are lazy and pushed towards the sources by the optimizer: a
    /// slice of `a + b` becomes a sum of slices, and a slice of a Zarr array
    /// reads only the stored chunks it overlaps.
    pub fn slice(&self, info: impl AsRef<[SliceInfoElem]>) -> Result<Array<T>> {
        let r = slice::resolve(info.as_ref(), self.shape())?;
        let mut n = build::slice(self.node(), r.axes);
        n = build::squeeze(&n, &r.drop)?;
        for &a in &r.new_axes {
            n = build::expand_dims(&n, a)?;
        }
        Ok(Array::from_node(n))
    }

    /// Remove every axis of length 1 (NumPy's `squeeze()`).
    pub fn squeeze(&self) -> Array<T> {
        let axes: Vec<usize> = (0..self.ndim()).filter(|&k| self.shape()[k] == 1).collect();
        Array::from_node(build::squeeze(self.node(), &axes).expect("length-1 axes squeeze"))
    }

    /// Remove the given axes, which must have length 1 (NumPy's `squeeze(axis=...)`).
    pub fn squeeze_axes(&self, axes: &[usize]) -> Result<Array<T>> {
        Ok(Array::from_node(build::squeeze(self.node(), axes)?))
    }

    /// The elements in reverse order along `axis` (a slice with step -1).
    pub fn flip(&self, axis: usize) -> Result<Array<T>> {
        let nd = self.ndim();
        if axis >= nd {
            return Err(crate::error::axis_err(axis as isize, nd, "flip"));
        }
        let mut axes: Vec<slice::AxisSlice> = self.shape().iter().map(|&n| slice::AxisSlice::full(n)).collect();
        let n = self.shape()[axis];
        axes[axis] = slice::AxisSlice { start: n.saturating_sub(1), step: -1, len: n };
        Ok(Array::from_node(build::slice(self.node(), axes)))
    }
}
