//! `coarsen`: reductions over non-overlapping windows (e.g. daily → 5-daily
//! means). Each axis of length n with window w is split into (n / w, w) by a
//! reshape (chunk boundaries move to multiples of w, no more), then any
//! reduction runs over the window axes, block by block.

use super::Array;
use crate::dtype::Element;
use crate::error::{Error, Result};

/// An array split into windows, waiting for its reduction.
#[must_use = "coarsen needs a reduction: .mean(), .sum(), .max(), ..."]
pub struct Coarsened<T: Element> {
    windows: Array<T>,
    axes: Vec<usize>,
}

impl<T: Element> Array<T> {
    /// Windows of `windows[k]` elements along each axis (1: untouched) for a
    /// reduction, as dask's `coarsen`. An axis that the window does not
    /// divide is an error, unless `trim_excess` drops the elements left over
    /// at its end.
    pub fn coarsen(&self, windows: &[usize], trim_excess: bool) -> Result<Coarsened<T>> {
        let nd = self.ndim();
        if windows.len() != nd {
            return Err(Error::Shape(format!("coarsen: {} windows for an array of {nd} dimension(s)", windows.len())));
        }
        let mut a = self.clone();
        let mut shape = Vec::with_capacity(2 * nd);
        let mut axes = Vec::new();
        for (k, (&w, &n)) in windows.iter().zip(self.shape()).enumerate() {
            if w == 0 {
                return Err(Error::Value(format!("coarsen: window of 0 on axis {k}")));
            }
            if n % w != 0 {
                if !trim_excess {
                    return Err(Error::Shape(format!(
                        "coarsen: window {w} does not divide axis {k} of length {n} (trim_excess drops the rest)"
                    )));
                }
                let mut info: Vec<ndarray::SliceInfoElem> = (0..nd).map(|_| (..).into()).collect();
                info[k] = (..(n - n % w) as isize).into();
                a = a.slice(info.as_slice())?;
            }
            let m = n / w;
            shape.push(m);
            if w > 1 {
                shape.push(w);
                axes.push(shape.len() - 1);
            }
        }
        Ok(Coarsened { windows: a.reshape(&shape)?, axes })
    }
}

impl<T: Element> Coarsened<T> {
    pub fn sum(&self) -> Result<Array<T::Sum>> {
        self.windows.sum(self.axes.as_slice())
    }
    pub fn prod(&self) -> Result<Array<T::Sum>> {
        self.windows.prod(self.axes.as_slice())
    }
    pub fn mean(&self) -> Result<Array<T::Float>> {
        self.windows.mean(self.axes.as_slice())
    }
    pub fn min(&self) -> Result<Array<T>> {
        self.windows.min(self.axes.as_slice())
    }
    pub fn max(&self) -> Result<Array<T>> {
        self.windows.max(self.axes.as_slice())
    }
    pub fn var(&self, ddof: usize) -> Result<Array<T::Float>> {
        self.windows.var(self.axes.as_slice(), ddof)
    }
    pub fn std(&self, ddof: usize) -> Result<Array<T::Float>> {
        self.windows.std(self.axes.as_slice(), ddof)
    }
    pub fn nanmean(&self) -> Result<Array<T::Float>> {
        self.windows.nanmean(self.axes.as_slice())
    }
    pub fn nansum(&self) -> Result<Array<T::Sum>> {
        self.windows.nansum(self.axes.as_slice())
    }
    pub fn any(&self) -> Result<Array<bool>> {
        self.windows.any(self.axes.as_slice())
    }
    pub fn all(&self) -> Result<Array<bool>> {
        self.windows.all(self.axes.as_slice())
    }
}
