//! How an array is cut into blocks: `Chunks` (the block sizes along every
//! axis) and `ChunkSpec` (what users write to ask for a chunking).

use crate::error::{Error, Result};
use crate::size;

/// Block sizes along every axis. Every axis has at least one block; an axis
/// of length 0 has the single block `[0]`; explicit chunkings may contain
/// zero-size blocks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Chunks {
    sizes: Vec<Vec<usize>>,
}

/// A requested chunking, resolved against a shape by [`ChunkSpec::resolve`].
#[derive(Clone, Debug, PartialEq)]
pub enum ChunkSpec {
    /// The same block size along every axis (clamped to the axis length).
    Uniform(usize),
    /// A block size per axis (clamped).
    PerAxis(Vec<usize>),
    /// Explicit block sizes per axis; each list must sum to the axis length.
    Explicit(Vec<Vec<usize>>),
    /// Sizes chosen for blocks of about 64 MiB.
    Auto,
}

/// Target block size of `ChunkSpec::Auto`, in bytes.
pub const AUTO_BLOCK_BYTES: usize = 64 << 20;

impl From<usize> for ChunkSpec {
    fn from(v: usize) -> Self {
        ChunkSpec::Uniform(v)
    }
}
impl<const N: usize> From<[usize; N]> for ChunkSpec {
    fn from(v: [usize; N]) -> Self {
        ChunkSpec::PerAxis(v.to_vec())
    }
}
impl<const N: usize> From<&[usize; N]> for ChunkSpec {
    fn from(v: &[usize; N]) -> Self {
        ChunkSpec::PerAxis(v.to_vec())
    }
}
impl From<&[usize]> for ChunkSpec {
    fn from(v: &[usize]) -> Self {
        ChunkSpec::PerAxis(v.to_vec())
    }
}
impl From<Vec<usize>> for ChunkSpec {
    fn from(v: Vec<usize>) -> Self {
        ChunkSpec::PerAxis(v)
    }
}
impl From<Vec<Vec<usize>>> for ChunkSpec {
    fn from(v: Vec<Vec<usize>>) -> Self {
        ChunkSpec::Explicit(v)
    }
}
impl From<&Chunks> for ChunkSpec {
    fn from(c: &Chunks) -> Self {
        ChunkSpec::Explicit(c.to_vec())
    }
}
impl From<Chunks> for ChunkSpec {
    fn from(c: Chunks) -> Self {
        ChunkSpec::Explicit(c.sizes)
    }
}

/// `len` cut into blocks of `block` (clamped to `len`; the last one shorter),
/// `[0]` for an empty axis.
pub(crate) fn regular(len: usize, block: usize) -> Vec<usize> {
    if len == 0 {
        return vec![0];
    }
    let block = block.clamp(1, len);
    let mut v = vec![block; len / block];
    if len % block != 0 {
        v.push(len % block);
    }
    v
}

/// [`regular`], refused with an error naming the count when axis `axis`
/// would get more than [`size::MAX_AXIS_BLOCKS`] blocks (checked before the
/// list is built).
pub(crate) fn regular_checked(axis: usize, len: usize, block: usize) -> Result<Vec<usize>> {
    size::check_axis_blocks(axis, len, size::block_count(len, block))?;
    Ok(regular(len, block))
}

impl ChunkSpec {
    /// The chunks this spec gives an array of `shape` with `itemsize`-byte elements.
    ///
    /// Errors when the shape's element or byte count does not fit (see
    /// [`crate::size`]) or when the blocks would be too many.
    pub fn resolve(&self, shape: &[usize], itemsize: usize) -> Result<Chunks> {
        size::shape_elems(shape, itemsize)?;
        let per_axis: Vec<usize> = match self {
            ChunkSpec::Uniform(b) => vec![*b; shape.len()],
            ChunkSpec::PerAxis(v) => {
                if v.len() != shape.len() {
                    return Err(Error::Chunks(format!(
                        "{} block sizes given for an array of {} dimension(s) (shape {shape:?})",
                        v.len(),
                        shape.len()
                    )));
                }
                v.clone()
            }
            ChunkSpec::Explicit(v) => return Chunks::new(shape, v.clone()),
            ChunkSpec::Auto => auto_blocks(shape, itemsize),
        };
        for (ax, (&len, &b)) in shape.iter().zip(&per_axis).enumerate() {
            if b == 0 && len > 0 {
                return Err(Error::Chunks(format!(
                    "block size 0 on axis {ax} of length {len}"
                )));
            }
        }
        // count the blocks before any list is built
        let counts: Vec<usize> = shape.iter().zip(&per_axis).map(|(&len, &b)| size::block_count(len, b)).collect();
        size::check_numblocks(shape, &counts)?;
        let sizes = shape.iter().zip(&per_axis).map(|(&len, &b)| regular(len, b)).collect();
        Ok(Chunks { sizes })
    }
}

fn auto_blocks(shape: &[usize], itemsize: usize) -> Vec<usize> {
    let target = (AUTO_BLOCK_BYTES / itemsize.max(1)).max(1);
    let mut b: Vec<usize> = shape.iter().map(|&l| l.max(1)).collect();
    // the shape's element count fits (checked by `resolve`), so this product does
    while b.iter().product::<usize>() > target {
        // halve the largest block (ties: the first axis), like dask's balanced auto chunks
        let (i, _) = b.iter().enumerate().max_by_key(|(i, &v)| (v, usize::MAX - i)).unwrap();
        b[i] = b[i].div_ceil(2);
    }
    b
}

impl Chunks {
    /// Explicit chunks, checked against `shape`.
    pub fn new(shape: &[usize], sizes: Vec<Vec<usize>>) -> Result<Chunks> {
        if sizes.len() != shape.len() {
            return Err(Error::Chunks(format!(
                "chunks for {} axes given for an array of {} dimension(s) (shape {shape:?})",
                sizes.len(),
                shape.len()
            )));
        }
        let mut out = Vec::with_capacity(sizes.len());
        for (ax, (mut s, &len)) in sizes.into_iter().zip(shape).enumerate() {
            let total = size::checked_sum(&s).map_err(|_| {
                Error::Chunks(format!(
                    "block sizes {} on axis {ax} add up to more than {} (usize::MAX), but the axis has length {len}",
                    size::show(&s),
                    usize::MAX
                ))
            })?;
            if total != len {
                return Err(Error::Chunks(format!(
                    "block sizes {} on axis {ax} sum to {total}, but the axis has length {len}",
                    size::show(&s)
                )));
            }
            if s.is_empty() {
                s.push(0);
            }
            out.push(s);
        }
        let c = Chunks { sizes: out };
        size::check_numblocks(shape, &c.numblocks())?;
        Ok(c)
    }
    /// Chunks of a stored array's grid, checked like [`Chunks::new`] except
    /// for the total number of blocks: a stored array is mostly read through
    /// slices of few blocks, and a plan's task count is checked when it is
    /// lowered (`Executor::plan`).
    pub(crate) fn new_stored_grid(shape: &[usize], sizes: Vec<Vec<usize>>) -> Result<Chunks> {
        if sizes.len() != shape.len() {
            return Err(Error::Chunks(format!("a stored grid of {} axes for shape {shape:?}", sizes.len())));
        }
        let mut out = Vec::with_capacity(sizes.len());
        for (ax, (mut s, &len)) in sizes.into_iter().zip(shape).enumerate() {
            size::check_axis_blocks(ax, len, s.len())?;
            if size::checked_sum(&s).ok() != Some(len) {
                return Err(Error::Chunks(format!("stored block sizes on axis {ax} do not sum to the axis length {len}")));
            }
            if s.is_empty() {
                s.push(0);
            }
            out.push(s);
        }
        Ok(Chunks { sizes: out })
    }
    /// Chunks built from block lists derived inside the crate (refinements,
    /// joins, repeats), checked like user input: every axis sums without
    /// overflow and the block counts are within the limits of [`crate::size`].
    pub(crate) fn checked(sizes: Vec<Vec<usize>>) -> Result<Chunks> {
        let mut shape = Vec::with_capacity(sizes.len());
        for (ax, s) in sizes.iter().enumerate() {
            shape.push(size::checked_sum(s).map_err(|_| {
                Error::Shape(format!("axis {ax} would have more than {} (usize::MAX) elements", usize::MAX))
            })?);
        }
        Chunks::new(&shape, sizes)
    }
    /// Chunks of an array with a single block.
    pub fn single(shape: &[usize]) -> Chunks {
        Chunks { sizes: shape.iter().map(|&l| vec![l]).collect() }
    }
    pub(crate) fn from_sizes_unchecked(sizes: Vec<Vec<usize>>) -> Chunks {
        Chunks { sizes }
    }
    /// Block sizes along axis `i`.
    pub fn axis(&self, i: usize) -> &[usize] {
        &self.sizes[i]
    }
    pub fn ndim(&self) -> usize {
        self.sizes.len()
    }
    pub fn to_vec(&self) -> Vec<Vec<usize>> {
        self.sizes.clone()
    }
    pub fn as_slice(&self) -> &[Vec<usize>] {
        &self.sizes
    }
    pub fn shape(&self) -> Vec<usize> {
        // sums were checked when the chunks were made; saturating keeps a
        // chunking made unchecked from wrapping to a small length
        self.sizes.iter().map(|s| s.iter().fold(0usize, |a, &b| a.saturating_add(b))).collect()
    }
    /// Number of blocks along each axis.
    pub fn numblocks(&self) -> Vec<usize> {
        self.sizes.iter().map(|s| s.len()).collect()
    }
    /// Total number of blocks.
    pub fn nblocks(&self) -> usize {
        self.sizes.iter().fold(1usize, |a, s| a.saturating_mul(s.len()))
    }
    /// Shape of the block at a multi-index.
    pub fn block_shape(&self, idx: &[usize]) -> Vec<usize> {
        idx.iter().zip(&self.sizes).map(|(&i, s)| s[i]).collect()
    }
    /// Index of the first element of the block at a multi-index.
    pub fn block_start(&self, idx: &[usize]) -> Vec<usize> {
        (0..idx.len()).map(|k| self.offset(k, idx[k])).collect()
    }
    /// Start offset of block `i` along `axis`.
    pub fn offset(&self, axis: usize, i: usize) -> usize {
        self.sizes[axis][..i].iter().sum()
    }
    /// Start offsets of every block along `axis`, plus the axis length at the end.
    pub fn bounds(&self, axis: usize) -> Vec<usize> {
        let mut b = Vec::with_capacity(self.sizes[axis].len() + 1);
        let mut acc = 0;
        b.push(0);
        for &s in &self.sizes[axis] {
            acc += s;
            b.push(acc);
        }
        b
    }
    /// The largest block size along every axis.
    pub fn max_block(&self) -> Vec<usize> {
        self.sizes.iter().map(|s| s.iter().copied().max().unwrap_or(0)).collect()
    }
    /// Number of elements of the largest block (saturating at `usize::MAX`:
    /// never wrapped to a small count that a memory limit would let through).
    pub fn max_block_elems(&self) -> usize {
        self.max_block().iter().fold(1usize, |a, &b| a.saturating_mul(b))
    }
    /// Short text form, `(2000, 2000)` for regular chunks, per-axis lists otherwise.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .sizes
            .iter()
            .map(|s| {
                let first = s[0];
                let last = s[s.len() - 1];
                let regular = s[..s.len() - 1].iter().all(|&v| v == first) && last <= first && (last > 0 || s.len() == 1);
                if regular {
                    format!("{first}")
                } else if s.len() <= 6 {
                    format!("{s:?}")
                } else {
                    format!("[{}, {}, .. {} blocks]", s[0], s[1], s.len())
                }
            })
            .collect();
        format!("({})", parts.join(", "))
    }
}

/// The common refinement of several block lists over the same length: block
/// boundaries are the union of all boundaries. Zero-size blocks are dropped,
/// unless all lists are identical (then that list is returned as it is).
pub fn refine(lists: &[&[usize]]) -> Vec<usize> {
    if lists.iter().all(|l| *l == lists[0]) {
        return lists[0].to_vec();
    }
    let mut bounds: Vec<usize> = Vec::new();
    for l in lists {
        let mut acc = 0;
        for &s in *l {
            acc += s;
            bounds.push(acc);
        }
    }
    bounds.sort_unstable();
    bounds.dedup();
    let mut out = Vec::with_capacity(bounds.len());
    let mut prev = 0;
    for b in bounds {
        if b > prev {
            out.push(b - prev);
            prev = b;
        }
    }
    if out.is_empty() {
        out.push(0);
    }
    out
}

/// Row-major linear index of a block multi-index.
pub fn linear_index(idx: &[usize], numblocks: &[usize]) -> usize {
    let mut lin = 0;
    for (&i, &n) in idx.iter().zip(numblocks) {
        lin = lin * n + i;
    }
    lin
}

/// Row-major strides (in elements) of `shape`, also over axes of length 0 and 1.
pub fn row_major_strides(shape: &[usize]) -> Vec<usize> {
    let mut st = vec![1usize; shape.len()];
    for k in (0..shape.len().saturating_sub(1)).rev() {
        st[k] = st[k + 1] * shape[k + 1];
    }
    st
}

/// Multi-index of a row-major linear block index.
pub fn multi_index(mut lin: usize, numblocks: &[usize], out: &mut Vec<usize>) {
    out.clear();
    out.resize(numblocks.len(), 0);
    for k in (0..numblocks.len()).rev() {
        let n = numblocks[k];
        out[k] = lin % n;
        lin /= n;
    }
}

/// Call `f` with every multi-index in the box `ranges` (row-major).
pub fn for_each_in_box(ranges: &[(usize, usize)], mut f: impl FnMut(&[usize])) {
    if ranges.iter().any(|(a, b)| a >= b) {
        return;
    }
    let mut idx: Vec<usize> = ranges.iter().map(|r| r.0).collect();
    loop {
        f(&idx);
        let mut k = ranges.len();
        loop {
            if k == 0 {
                return;
            }
            k -= 1;
            idx[k] += 1;
            if idx[k] < ranges[k].1 {
                break;
            }
            idx[k] = ranges[k].0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn resolve_uniform_clamps_and_handles_empty_axes() {
        let c = ChunkSpec::from(4).resolve(&[10, 3, 0], 8).unwrap();
        assert_eq!(c.to_vec(), vec![vec![4, 4, 2], vec![3], vec![0]]);
        assert_eq!(c.numblocks(), vec![3, 1, 1]);
        assert_eq!(c.block_shape(&[2, 0, 0]), vec![2, 3, 0]);
        assert_eq!(c.offset(0, 2), 8);
    }
    #[test]
    fn resolve_rejects_bad_specs() {
        assert!(ChunkSpec::from(0).resolve(&[3], 8).is_err());
        assert!(ChunkSpec::from(vec![vec![1, 1]]).resolve(&[3], 8).is_err());
        assert!(ChunkSpec::from([2, 2]).resolve(&[3], 8).is_err());
        let c = ChunkSpec::from(vec![vec![2, 0, 1]]).resolve(&[3], 8).unwrap();
        assert_eq!(c.axis(0), &[2, 0, 1]);
    }
    #[test]
    fn auto_targets_64_mib() {
        let c = ChunkSpec::Auto.resolve(&[20000, 20000], 8).unwrap();
        let elems = c.max_block_elems() * 8;
        assert!(elems <= AUTO_BLOCK_BYTES && elems > AUTO_BLOCK_BYTES / 4, "{elems}");
    }
    #[test]
    fn refine_is_the_union_of_boundaries() {
        assert_eq!(refine(&[&[2, 3], &[1, 4]]), vec![1, 1, 3]);
        assert_eq!(refine(&[&[2, 0, 3], &[2, 0, 3]]), vec![2, 0, 3]);
        assert_eq!(refine(&[&[2, 0, 3], &[5]]), vec![2, 3]);
        assert_eq!(refine(&[&[0], &[0, 0]]), vec![0]);
    }
    #[test]
    fn index_round_trip() {
        let nb = [3, 1, 4];
        let mut m = Vec::new();
        for lin in 0..12 {
            multi_index(lin, &nb, &mut m);
            assert_eq!(linear_index(&m, &nb), lin);
        }
    }
    #[test]
    fn box_iteration_is_row_major() {
        let mut v = Vec::new();
        for_each_in_box(&[(0, 2), (1, 3)], |b| v.push(b.to_vec()));
        assert_eq!(v, vec![vec![0, 1], vec![0, 2], vec![1, 1], vec![1, 2]]);
        let mut n = 0;
        for_each_in_box(&[], |_| n += 1);
        assert_eq!(n, 1);
        for_each_in_box(&[(0, 0)], |_| n += 1);
        assert_eq!(n, 1);
    }
}
