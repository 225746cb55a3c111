//! Block-level operations in the expression graph: user functions over
//! blocks (`map_blocks`, `blockwise`, `map_overlap`) and the index maps of
//! gathers (take, roll, pad, tile, repeat) and halos. Plain data: the
//! function itself is opaque here and downcast by the executor that runs it.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crate::dtype::Scalar;

/// A user function over blocks. `func` holds the executor's callable (the CPU
/// executor's `exec::cpu::blockfn::CpuBlockFn`); `name` is for plans.
#[derive(Clone)]
pub struct BlockFunc {
    pub name: String,
    pub func: Arc<dyn Any + Send + Sync>,
}

impl BlockFunc {
    /// A number telling functions apart in plans (for people: identity is
    /// `Arc::ptr_eq` on `func`, see [`super::identity`]).
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.func) as *const u8 as usize
    }
}

/// How one axis of an input of a block function is chosen for an output block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InAxis {
    /// The input's blocks along this axis follow output axis `k` (same chunks).
    Out(usize),
    /// The input has one block along this axis, given whole to every task.
    Whole,
}

/// What lies beyond the edge of an axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edge {
    /// The fill value.
    Constant,
    /// The edge element repeated (NumPy's `edge`, dask's `nearest`).
    Nearest,
    /// Mirrored without repeating the edge element (NumPy's `reflect`).
    Reflect,
    /// Mirrored with the edge element repeated (NumPy's `symmetric`, dask's `reflect`).
    Symmetric,
    /// Wrapped around (NumPy's `wrap`, dask's `periodic`).
    Wrap,
    /// Not extended: blocks at the edge are not grown on that side.
    None,
}

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Edge::Constant => "constant",
            Edge::Nearest => "nearest",
            Edge::Reflect => "reflect",
            Edge::Symmetric => "symmetric",
            Edge::Wrap => "wrap",
            Edge::None => "none",
        };
        f.write_str(s)
    }
}

/// The halo of `map_overlap`: each block is grown by `depth` per axis, with
/// `edge` beyond the array's edges (`fill` for `Edge::Constant`).
#[derive(Clone, Debug)]
pub struct Halo {
    pub depth: Vec<usize>,
    pub boundary: Edge,
    pub fill: Scalar,
}

/// The input position that position `i` (possibly outside `0..n`) of an axis
/// of length `n` reads, or -1 for the fill value. Extensions repeat as far
/// as needed (a reflection of a reflection, ...), as NumPy's `pad` does.
pub fn edge_index(i: i64, n: usize, edge: Edge) -> i64 {
    let n = n as i64;
    if (0..n).contains(&i) {
        return i;
    }
    if n == 0 {
        return -1;
    }
    match edge {
        Edge::Constant | Edge::None => -1,
        Edge::Nearest => i.clamp(0, n - 1),
        Edge::Wrap => i.rem_euclid(n),
        // periods of 2n in i128: n may be up to i64::MAX
        Edge::Symmetric => {
            let (i, n) = (i as i128, n as i128);
            let j = i.rem_euclid(2 * n);
            (if j < n { j } else { 2 * n - 1 - j }) as i64
        }
        Edge::Reflect => {
            if n == 1 {
                return 0;
            }
            let (i, n) = (i as i128, n as i128);
            let p = 2 * (n - 1);
            let j = i.rem_euclid(p);
            (if j < n { j } else { p - j }) as i64
        }
    }
}

/// Per block of `sizes` (chunks of an axis of length `n`): the positions of
/// the block grown by `depth` on each side, mapped through `edge`. With
/// `Edge::None` the growth stops at the array's edges.
pub fn halo_positions(sizes: &[usize], depth: usize, edge: Edge) -> Vec<Vec<i64>> {
    let n: usize = sizes.iter().sum();
    let mut out = Vec::with_capacity(sizes.len());
    let mut start = 0i64;
    for &s in sizes {
        let (mut lo, mut hi) = (start - depth as i64, start + s as i64 + depth as i64);
        if edge == Edge::None {
            lo = lo.max(0);
            hi = hi.min(n as i64);
        }
        out.push((lo..hi).map(|i| edge_index(i, n, edge)).collect());
        start += s as i64;
    }
    out
}

/// A short description of a gather's index maps, for plans.
pub fn describe_gather(maps: &[Option<Arc<Vec<i64>>>], fill: Scalar) -> String {
    let parts: Vec<String> = maps
        .iter()
        .map(|m| match m {
            None => ":".to_string(),
            Some(v) if v.len() <= 6 => format!("{:?}", v.as_slice()),
            Some(v) => format!("[{} positions]", v.len()),
        })
        .collect();
    if maps.iter().flatten().any(|m| m.contains(&-1)) {
        format!("gather[{}] fill={fill}", parts.join(", "))
    } else {
        format!("gather[{}]", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_follow_numpy_pad() {
        // np.pad(np.arange(3), 5, mode=...) positions
        let idx = |e| (-5..8).map(|i| edge_index(i, 3, e)).collect::<Vec<_>>();
        assert_eq!(idx(Edge::Reflect), vec![1, 0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 1]);
        assert_eq!(idx(Edge::Symmetric), vec![1, 2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0, 1]);
        assert_eq!(idx(Edge::Wrap), vec![1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1]);
        assert_eq!(idx(Edge::Nearest), vec![0, 0, 0, 0, 0, 0, 1, 2, 2, 2, 2, 2, 2]);
        assert_eq!(edge_index(-1, 3, Edge::Constant), -1);
        assert_eq!(edge_index(4, 1, Edge::Reflect), 0);
    }

    #[test]
    fn halos_grow_blocks_and_stop_at_edges_with_none() {
        let h = halo_positions(&[2, 3], 1, Edge::Wrap);
        assert_eq!(h, vec![vec![4, 0, 1, 2], vec![1, 2, 3, 4, 0]]);
        let h = halo_positions(&[2, 3], 2, Edge::None);
        assert_eq!(h, vec![vec![0, 1, 2, 3], vec![0, 1, 2, 3, 4]]);
    }
}
