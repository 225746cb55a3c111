//! Slicing: ndarray `s![]` arguments resolved against a shape (negative
//! indices from the end, steps of either sign, single indices that drop an
//! axis, new axes), and the block structure of a strided selection.
//!
//! A slice along one axis is an [`AxisSlice`]: output element `i` is input
//! element `start + i * step`. Its chunks follow the input's blocks: one
//! output block per input block holding selected elements (in the order the
//! selection visits them), so every output block is a strided view of one
//! input block and a slice never creates more tasks than its input has.

use ndarray::SliceInfoElem;

use crate::chunks::Chunks;
use crate::error::{Error, Result};

/// The selection along one axis: `len` elements `start, start + step, ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AxisSlice {
    pub start: usize,
    pub step: isize,
    pub len: usize,
}

impl AxisSlice {
    pub fn full(len: usize) -> AxisSlice {
        AxisSlice { start: 0, step: 1, len }
    }
    /// Whether this selects the whole axis of length `n` in order.
    pub fn is_full(&self, n: usize) -> bool {
        self.len == n && self.start == 0 && (self.step == 1 || n <= 1)
    }
    /// Input index of output element `i`.
    pub fn index(&self, i: usize) -> usize {
        (self.start as isize + i as isize * self.step) as usize
    }
    /// This selection applied after `inner` (`inner` selects from the input).
    pub fn compose(inner: &AxisSlice, outer: &AxisSlice) -> AxisSlice {
        if outer.len == 0 {
            return AxisSlice { start: 0, step: 1, len: 0 };
        }
        // one element: its step is never used, and huge steps must not be
        // multiplied (with two or more elements the product is at most the
        // axis length, so it fits)
        let step = if outer.len == 1 { 1 } else { inner.step * outer.step };
        AxisSlice { start: inner.index(outer.start), step, len: outer.len }
    }
}

/// A resolved `s![]`: the per-axis selections over the input, then which
/// axes (of the sliced array) to drop, then where (in the result) to insert
/// new axes.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    pub axes: Vec<AxisSlice>,
    pub drop: Vec<usize>,
    pub new_axes: Vec<usize>,
}

/// Resolve ndarray slice elements against `shape` (axes not named are taken whole).
pub fn resolve(elems: &[SliceInfoElem], shape: &[usize]) -> Result<Resolved> {
    let nd = shape.len();
    let used = elems.iter().filter(|e| !matches!(e, SliceInfoElem::NewAxis)).count();
    if used > nd {
        return Err(Error::Shape(format!(
            "slice with {used} indices for an array of {nd} dimension(s) (shape {shape:?})"
        )));
    }
    let mut axes = Vec::with_capacity(nd);
    let mut drop = Vec::new();
    let mut new_axes = Vec::new();
    let mut out_pos = 0usize; // position in the result
    let mut ax = 0usize;
    for e in elems {
        match *e {
            SliceInfoElem::NewAxis => {
                new_axes.push(out_pos);
                out_pos += 1;
            }
            SliceInfoElem::Index(i) => {
                let n = shape[ax];
                let j = abs_index(i, n);
                if j < 0 || j >= n as isize {
                    return Err(Error::Shape(format!("index {i} is out of range for axis {ax} of length {n}")));
                }
                axes.push(AxisSlice { start: j as usize, step: 1, len: 1 });
                drop.push(ax);
                ax += 1;
            }
            SliceInfoElem::Slice { start, end, step } => {
                let n = shape[ax];
                if step == 0 {
                    return Err(Error::Value(format!("slice step of 0 on axis {ax}")));
                }
                let s = abs_index(start, n);
                let mut e = abs_index(end.unwrap_or(n as isize), n);
                if s < 0 || s > n as isize {
                    return Err(Error::Shape(format!("slice start {start} is out of range for axis {ax} of length {n}")));
                }
                if e < 0 || e > n as isize {
                    return Err(Error::Shape(format!(
                        "slice end {} is out of range for axis {ax} of length {n}",
                        end.unwrap_or(n as isize)
                    )));
                }
                if e < s {
                    e = s;
                }
                let m = (e - s) as usize;
                let k = step.unsigned_abs();
                let len = m.div_ceil(k);
                let first = if len == 0 {
                    0
                } else if step > 0 {
                    s as usize
                } else {
                    e as usize - 1
                };
                axes.push(AxisSlice { start: first, step, len });
                ax += 1;
                out_pos += 1;
            }
        }
    }
    while ax < nd {
        axes.push(AxisSlice::full(shape[ax]));
        ax += 1;
    }
    Ok(Resolved { axes, drop, new_axes })
}

fn abs_index(i: isize, n: usize) -> isize {
    if i < 0 {
        n as isize + i
    } else {
        i
    }
}

/// For one axis: per output block, (input block, position of its first
/// selected element inside that input block, number selected).
pub fn axis_blocks(in_sizes: &[usize], s: &AxisSlice) -> Vec<(usize, usize, usize)> {
    let mut out: Vec<(usize, usize, usize)> = Vec::new();
    if s.len == 0 {
        // one empty block, cut from the first input block
        return vec![(0, 0, 0)];
    }
    let bounds: Vec<usize> = in_sizes
        .iter()
        .scan(0usize, |acc, &b| {
            *acc += b;
            Some(*acc)
        })
        .collect();
    // walk the selected indices block by block (a block's count is computed
    // arithmetically, so this is O(blocks), not O(elements))
    let mut i = 0usize;
    while i < s.len {
        let idx = s.index(i);
        let b = bounds.partition_point(|&e| e <= idx);
        let lo = bounds[b] - in_sizes[b];
        let hi = bounds[b]; // exclusive
        let k = s.step.unsigned_abs();
        let n = if s.step > 0 { (hi - 1 - idx) / k + 1 } else { (idx - lo) / k + 1 };
        let n = n.min(s.len - i);
        out.push((b, idx - lo, n));
        i += n;
    }
    out
}

/// Chunks of a slice of an array with chunks `in_chunks`.
pub fn sliced_chunks(in_chunks: &Chunks, axes: &[AxisSlice]) -> Chunks {
    let sizes = axes
        .iter()
        .enumerate()
        .map(|(k, s)| {
            axis_blocks(in_chunks.axis(k), s).iter().map(|t| t.2).collect()
        })
        .collect();
    Chunks::from_sizes_unchecked(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::s;

    #[test]
    fn resolves_like_ndarray() {
        let r = resolve(s![1..5;2, -1, ..;-1].as_ref(), &[6, 4, 3]).unwrap();
        assert_eq!(r.axes[0], AxisSlice { start: 1, step: 2, len: 2 });
        assert_eq!(r.axes[1], AxisSlice { start: 3, step: 1, len: 1 });
        assert_eq!(r.axes[2], AxisSlice { start: 2, step: -1, len: 3 });
        assert_eq!(r.drop, vec![1]);
        // ndarray: negative step over 0..4 visits 3, 1
        let r = resolve(s![0..4;-2].as_ref(), &[5]).unwrap();
        assert_eq!((r.axes[0].index(0), r.axes[0].index(1), r.axes[0].len), (3, 1, 2));
        assert!(resolve(s![7..].as_ref(), &[6]).is_err());
        assert!(resolve(s![6].as_ref(), &[6]).is_err());
        assert!(resolve(s![-7..].as_ref(), &[6]).is_err());
        assert_eq!(resolve(s![4..2].as_ref(), &[6]).unwrap().axes[0].len, 0);
        let r = resolve(s![ndarray::NewAxis, 1..].as_ref(), &[3]).unwrap();
        assert_eq!(r.new_axes, vec![0]);
    }

    #[test]
    fn blocks_follow_the_input_blocks() {
        // blocks [3, 3, 4]; every other element from 1: 1, 3, 5, 7, 9
        let b = axis_blocks(&[3, 3, 4], &AxisSlice { start: 1, step: 2, len: 5 });
        assert_eq!(b, vec![(0, 1, 1), (1, 0, 2), (2, 1, 2)]);
        // reversed: 9..=0 step -3: 9, 6, 3, 0
        let b = axis_blocks(&[3, 3, 4], &AxisSlice { start: 9, step: -3, len: 4 });
        assert_eq!(b, vec![(2, 3, 2), (1, 0, 1), (0, 0, 1)]);
    }
}
