//! Shape manipulation: `reshape`, axis order (`t`, `permuted_axes`,
//! `moveaxis`, `swapaxes`), `broadcast_to`, and the gathers (`take`, `roll`,
//! `pad`, `tile`, `repeat`) and diagonals (`diag`, `diagonal`).

use super::Array;
use crate::dtype::Element;
use crate::error::{axis_err, Error, Result};
use crate::expr::blocks::{edge_index, Edge};
use crate::expr::{reshape, shape_ops};

/// How `pad` fills the new elements (NumPy's `mode`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PadMode<T> {
    /// The value given.
    Constant(T),
    /// The edge element repeated.
    Edge,
    /// Mirrored about the edge element, which is not repeated.
    Reflect,
    /// Mirrored with the edge element repeated.
    Symmetric,
    /// Wrapped around from the other end.
    Wrap,
}

impl<T: Element> Array<T> {
    /// The same elements in row-major order with another shape of the same
    /// size. Chunks are merged or split only along the axes that change,
    /// and a rechunk, when needed, keeps blocks near their old size.
    pub fn reshape(&self, shape: &[usize]) -> Result<Array<T>> {
        Ok(Array::from_node(reshape::reshape(self.node(), shape)?))
    }

    /// The axes in reverse order (the transpose of a matrix).
    pub fn t(&self) -> Array<T> {
        let perm: Vec<usize> = (0..self.ndim()).rev().collect();
        Array::from_node(shape_ops::transpose(self.node(), &perm).expect("a reversal is a permutation"))
    }

    /// Axes reordered: axis k of the result is axis `axes[k]` of `self`.
    pub fn permuted_axes(&self, axes: &[usize]) -> Result<Array<T>> {
        Ok(Array::from_node(shape_ops::transpose(self.node(), axes)?))
    }

    /// Axis `source` moved to position `destination`, the others in order.
    pub fn moveaxis(&self, source: usize, destination: usize) -> Result<Array<T>> {
        let nd = self.ndim();
        for a in [source, destination] {
            if a >= nd {
                return Err(axis_err(a as isize, nd, "moveaxis"));
            }
        }
        let mut perm: Vec<usize> = (0..nd).filter(|&k| k != source).collect();
        perm.insert(destination, source);
        self.permuted_axes(&perm)
    }

    /// Axes `a` and `b` exchanged.
    pub fn swapaxes(&self, a: usize, b: usize) -> Result<Array<T>> {
        let nd = self.ndim();
        for x in [a, b] {
            if x >= nd {
                return Err(axis_err(x as isize, nd, "swapaxes"));
            }
        }
        let mut perm: Vec<usize> = (0..nd).collect();
        perm.swap(a, b);
        self.permuted_axes(&perm)
    }

    /// `self` broadcast to `shape` by NumPy's rules (axes of length 1 and
    /// new leading axes are repeated). New axes are chunked so that blocks
    /// stay near the input's block size (at least 16 MiB).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Array<T>> {
        Ok(Array::from_node(shape_ops::broadcast_to(self.node(), shape)?))
    }

    fn gather_axis(&self, axis: usize, map: Vec<i64>, fill: T, chunks: Option<Vec<usize>>) -> Result<Array<T>> {
        let nd = self.ndim();
        let mut maps = vec![None; nd];
        maps[axis] = Some(map);
        let out_chunks = chunks.map(|c| {
            let mut all = self.chunks().to_vec();
            all[axis] = c;
            all
        });
        Ok(Array::from_node(shape_ops::gather(self.node(), maps, fill.to_scalar(), out_chunks)?))
    }

    fn check_axis(&self, axis: usize, what: &str) -> Result<()> {
        if axis >= self.ndim() {
            return Err(axis_err(axis as isize, self.ndim(), what));
        }
        Ok(())
    }

    /// The elements at `indices` along `axis`, in that order (repeats
    /// allowed). Each output block reads only the input blocks its indices
    /// lie in; output blocks are as long as the input's largest block.
    pub fn take(&self, indices: &[usize], axis: usize) -> Result<Array<T>> {
        self.check_axis(axis, "take")?;
        let n = self.shape()[axis];
        if let Some(&bad) = indices.iter().find(|&&i| i >= n) {
            return Err(Error::Value(format!("take: index {bad} is out of bounds for axis {axis} with size {n}")));
        }
        crate::size::check_map_len(indices.len(), "take")?;
        self.gather_axis(axis, indices.iter().map(|&i| i as i64).collect(), T::default(), None)
    }

    /// The elements shifted by `shift` positions along `axis`, those pushed
    /// off one end coming back at the other (NumPy's `roll`). Chunks are kept.
    pub fn roll(&self, shift: isize, axis: usize) -> Result<Array<T>> {
        self.check_axis(axis, "roll")?;
        let len = self.shape()[axis];
        // the shift reduced exactly (i128), so isize::MIN rolls the right way
        let s = crate::size::shift_mod(shift, len);
        if s == 0 {
            return Ok(self.clone());
        }
        crate::size::check_map_len(len, "roll")?;
        let (n, s) = (len as i64, s as i64);
        // output i takes input (i - s) mod n, with 0 <= s < n: no overflow
        let map = (0..n).map(|i| if i >= s { i - s } else { i + (n - s) }).collect();
        self.gather_axis(axis, map, T::default(), Some(self.chunks().axis(axis).to_vec()))
    }

    /// The array extended by `width[k] = (before, after)` elements on each
    /// axis, filled as `mode` says (NumPy's `pad`). The input's blocks are
    /// kept; the padding gets blocks of its own. `Reflect` needs an axis
    /// longer than 1 to mirror (an axis of length 1 repeats its element);
    /// padding an empty axis other than with a constant is an error.
    pub fn pad(&self, width: &[(usize, usize)], mode: PadMode<T>) -> Result<Array<T>> {
        let nd = self.ndim();
        if width.len() != nd {
            return Err(Error::Shape(format!("pad: {} (before, after) pairs for an array of {nd} dimension(s)", width.len())));
        }
        let (edge, fill) = match mode {
            PadMode::Constant(v) => (Edge::Constant, v),
            PadMode::Edge => (Edge::Nearest, T::default()),
            PadMode::Reflect => (Edge::Reflect, T::default()),
            PadMode::Symmetric => (Edge::Symmetric, T::default()),
            PadMode::Wrap => (Edge::Wrap, T::default()),
        };
        let mut maps = vec![None; nd];
        let mut chunks = self.chunks().to_vec();
        for (k, &(before, after)) in width.iter().enumerate() {
            if before == 0 && after == 0 {
                continue;
            }
            let n = self.shape()[k];
            if n == 0 && edge != Edge::Constant {
                return Err(Error::Value(format!("pad: cannot extend the empty axis {k} with mode {mode:?}")));
            }
            let len = crate::size::checked_sum(&[before, n, after])
                .map_err(|_| Error::Shape(format!("pad: axis {k} of length {n} padded by ({before}, {after}) is longer than {} (usize::MAX)", usize::MAX)))?;
            crate::size::check_map_len(len, "pad")?;
            let block = self.chunks().max_block()[k].max(1);
            let kept = self.chunks().axis(k).iter().filter(|&&s| s > 0).count();
            let count = crate::size::block_count(before, block) + kept + crate::size::block_count(after, block);
            crate::size::check_axis_blocks(k, len, count)?;
            // len <= MAX_GATHER_MAP, so these fit in i64
            let map = (-(before as i64)..(n + after) as i64).map(|i| edge_index(i, n, edge)).collect();
            maps[k] = Some(map);
            let mut c = crate::chunks::regular(before, block);
            c.extend(self.chunks().axis(k).iter().copied().filter(|&s| s > 0));
            c.extend(crate::chunks::regular(after, block));
            chunks[k] = c;
        }
        Ok(Array::from_node(shape_ops::gather(self.node(), maps, fill.to_scalar(), Some(chunks))?))
    }

    /// The array repeated `reps[k]` times along each axis (NumPy's `tile`:
    /// with more reps than axes, new leading axes are added).
    pub fn tile(&self, reps: &[usize]) -> Result<Array<T>> {
        let mut a = self.clone();
        while a.ndim() < reps.len() {
            a = a.insert_axis(0)?;
        }
        let off = a.ndim() - reps.len();
        let nd = a.ndim();
        let mut maps = vec![None; nd];
        let mut chunks = a.chunks().to_vec();
        for (j, &r) in reps.iter().enumerate() {
            let k = j + off;
            if r == 1 {
                continue;
            }
            let len = a.shape()[k];
            let total = crate::size::mul(len, r, &format!("tile: axis {k} of length {len} repeated {r} times"))?;
            crate::size::check_map_len(total, "tile")?;
            let kept = a.chunks().axis(k).iter().filter(|&&s| s > 0).count();
            crate::size::check_axis_blocks(k, total, kept.saturating_mul(r))?;
            // total <= MAX_GATHER_MAP, so these fit in i64
            let n = len as i64;
            maps[k] = Some((0..total as i64).map(|i| i % n.max(1)).collect());
            chunks[k] = if kept == 0 {
                vec![0]
            } else {
                (0..r).flat_map(|_| a.chunks().axis(k).iter().copied()).filter(|&s| s > 0).collect()
            };
        }
        if maps.iter().all(|m| m.is_none()) {
            return Ok(a);
        }
        Ok(Array::from_node(shape_ops::gather(a.node(), maps, T::default().to_scalar(), Some(chunks))?))
    }

    /// Each element repeated `repeats` times along `axis` (NumPy's `repeat`).
    pub fn repeat(&self, repeats: usize, axis: usize) -> Result<Array<T>> {
        self.check_axis(axis, "repeat")?;
        if repeats == 1 {
            return Ok(self.clone());
        }
        let len = self.shape()[axis];
        let total = crate::size::mul(len, repeats, &format!("repeat: axis {axis} of length {len} repeated {repeats} times"))?;
        crate::size::check_map_len(total, "repeat")?;
        // total <= MAX_GATHER_MAP, so these fit in i64 (repeats > total only when total is 0)
        let map = (0..total as i64).map(|i| i / repeats as i64).collect();
        self.gather_axis(axis, map, T::default(), None)
    }

    /// The diagonal `offset` of a 2-d array (NumPy's `diagonal`; positive
    /// offsets are above the main diagonal).
    pub fn diagonal(&self, offset: isize) -> Result<Array<T>> {
        Ok(Array::from_node(shape_ops::diagonal(self.node(), offset)?))
    }
}

/// NumPy's `diag`: of a 1-d array, the square matrix with it on diagonal
/// `offset`; of a 2-d array, its diagonal `offset`.
pub fn diag<T: Element>(a: &Array<T>, offset: isize) -> Result<Array<T>> {
    match a.ndim() {
        1 => Ok(Array::from_node(shape_ops::diag(a.node(), offset)?)),
        2 => a.diagonal(offset),
        d => Err(Error::Shape(format!("diag takes a 1-d or 2-d array, got {d} dimensions"))),
    }
}
