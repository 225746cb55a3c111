//! Reductions (`sum`, `mean`, `var`, `argmin`, the `nan*` forms, ...) and
//! cumulative scans. Reductions run as trees over blocks.

use std::ops::RangeFull;

use super::Array;
use crate::dtype::Element;
use crate::error::Result;
use crate::expr::{build, ReduceKind, ScanKind};

/// The axes a reduction runs over: one, several, or all (`..`); optionally
/// keeping them as length-1 axes (`Axes::from(0).keepdims()`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axes {
    axes: Option<Vec<usize>>,
    keepdims: bool,
}

impl Axes {
    /// All axes.
    pub fn all() -> Axes {
        Axes { axes: None, keepdims: false }
    }
    /// Keep the reduced axes, with length 1.
    pub fn keepdims(mut self) -> Axes {
        self.keepdims = true;
        self
    }
}
impl From<usize> for Axes {
    fn from(a: usize) -> Axes {
        Axes { axes: Some(vec![a]), keepdims: false }
    }
}
impl<const N: usize> From<[usize; N]> for Axes {
    fn from(a: [usize; N]) -> Axes {
        Axes { axes: Some(a.to_vec()), keepdims: false }
    }
}
impl From<&[usize]> for Axes {
    fn from(a: &[usize]) -> Axes {
        Axes { axes: Some(a.to_vec()), keepdims: false }
    }
}
impl From<Vec<usize>> for Axes {
    fn from(a: Vec<usize>) -> Axes {
        Axes { axes: Some(a), keepdims: false }
    }
}
impl From<RangeFull> for Axes {
    fn from(_: RangeFull) -> Axes {
        Axes::all()
    }
}

impl<T: Element> Array<T> {
    fn reduce<U: Element>(&self, kind: ReduceKind, axes: impl Into<Axes>, ddof: usize) -> Result<Array<U>> {
        let a = axes.into();
        let n = build::reduce(kind, self.node(), a.axes.as_deref(), a.keepdims, ddof)?;
        Ok(Array::from_node(n))
    }
    /// Sum; integers accumulate in i64/u64 (wrapping), bool counts trues.
    pub fn sum(&self, axes: impl Into<Axes>) -> Result<Array<T::Sum>> {
        self.reduce(ReduceKind::Sum, axes, 0)
    }
    pub fn prod(&self, axes: impl Into<Axes>) -> Result<Array<T::Sum>> {
        self.reduce(ReduceKind::Prod, axes, 0)
    }
    /// Mean; NaN over an empty axis.
    pub fn mean(&self, axes: impl Into<Axes>) -> Result<Array<T::Float>> {
        self.reduce(ReduceKind::Mean, axes, 0)
    }
    /// Variance `M2 / (n - ddof)` (inf or NaN where `ddof >= n`, as NumPy).
    pub fn var(&self, axes: impl Into<Axes>, ddof: usize) -> Result<Array<T::Float>> {
        self.reduce(ReduceKind::Var, axes, ddof)
    }
    pub fn std(&self, axes: impl Into<Axes>, ddof: usize) -> Result<Array<T::Float>> {
        self.reduce(ReduceKind::Std, axes, ddof)
    }
    /// Minimum (NaN propagates); `Err` when a reduced axis is empty.
    pub fn min(&self, axes: impl Into<Axes>) -> Result<Array<T>> {
        self.reduce(ReduceKind::Min, axes, 0)
    }
    /// Maximum (NaN propagates); `Err` when a reduced axis is empty.
    pub fn max(&self, axes: impl Into<Axes>) -> Result<Array<T>> {
        self.reduce(ReduceKind::Max, axes, 0)
    }
    /// Index of the first minimum along `axis` (the first NaN, if any).
    pub fn argmin(&self, axis: usize) -> Result<Array<i64>> {
        self.reduce(ReduceKind::ArgMin, axis, 0)
    }
    /// Index of the first maximum along `axis` (the first NaN, if any).
    pub fn argmax(&self, axis: usize) -> Result<Array<i64>> {
        self.reduce(ReduceKind::ArgMax, axis, 0)
    }
    /// Whether any element is non-zero (NaN counts as non-zero).
    pub fn any(&self, axes: impl Into<Axes>) -> Result<Array<bool>> {
        self.reduce(ReduceKind::Any, axes, 0)
    }
    /// Whether all elements are non-zero.
    pub fn all(&self, axes: impl Into<Axes>) -> Result<Array<bool>> {
        self.reduce(ReduceKind::All, axes, 0)
    }
    /// Sum skipping NaN.
    pub fn nansum(&self, axes: impl Into<Axes>) -> Result<Array<T::Sum>> {
        self.reduce(ReduceKind::NanSum, axes, 0)
    }
    /// Mean of the non-NaN values (NaN where there are none).
    pub fn nanmean(&self, axes: impl Into<Axes>) -> Result<Array<T::Float>> {
        self.reduce(ReduceKind::NanMean, axes, 0)
    }
    /// Minimum skipping NaN (NaN where all are NaN).
    pub fn nanmin(&self, axes: impl Into<Axes>) -> Result<Array<T>> {
        self.reduce(ReduceKind::NanMin, axes, 0)
    }
    /// Maximum skipping NaN (NaN where all are NaN).
    pub fn nanmax(&self, axes: impl Into<Axes>) -> Result<Array<T>> {
        self.reduce(ReduceKind::NanMax, axes, 0)
    }
    pub fn nanvar(&self, axes: impl Into<Axes>, ddof: usize) -> Result<Array<T::Float>> {
        self.reduce(ReduceKind::NanVar, axes, ddof)
    }
    pub fn nanstd(&self, axes: impl Into<Axes>, ddof: usize) -> Result<Array<T::Float>> {
        self.reduce(ReduceKind::NanStd, axes, ddof)
    }
    /// Cumulative sum along `axis` (in the sum type).
    pub fn cumsum(&self, axis: usize) -> Result<Array<T::Sum>> {
        Ok(Array::from_node(build::scan(ScanKind::CumSum, self.node(), axis)?))
    }
    /// Cumulative product along `axis` (in the sum type).
    pub fn cumprod(&self, axis: usize) -> Result<Array<T::Sum>> {
        Ok(Array::from_node(build::scan(ScanKind::CumProd, self.node(), axis)?))
    }
}
