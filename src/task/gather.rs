//! Inputs assembled from several blocks: how each axis of an input region is
//! found for a task (the task's block, the only block, or listed positions
//! with the blocks they lie in), and the dependencies that follow.

use std::sync::Arc;

use crate::chunks::Chunks;
use crate::dtype::Scalar;

use super::{Inline, LayerId, TaskGraph, TaskId};

/// Where one axis of an input region comes from, for a task block.
#[derive(Clone, Debug)]
pub enum AxisSource {
    /// The input block whose index is the task's block index along output axis `k`, whole.
    Block(usize),
    /// The input's only block along this axis, whole.
    Single,
    /// Listed positions: for each task block along output axis `out_axis`,
    /// the input positions to copy (-1: the fill value) and the input blocks
    /// they lie in (sorted, distinct).
    Positions { out_axis: usize, pos: Arc<Vec<Vec<i64>>>, blocks: Arc<Vec<Vec<usize>>> },
}

impl AxisSource {
    /// Positions per block along an axis with input chunks `chunks`, with
    /// the input blocks each block's positions lie in.
    pub fn positions(out_axis: usize, pos: Vec<Vec<i64>>, in_sizes: &[usize]) -> AxisSource {
        let bounds: Vec<usize> = in_sizes
            .iter()
            .scan(0usize, |acc, &s| {
                *acc += s;
                Some(*acc)
            })
            .collect();
        let blocks = pos
            .iter()
            .map(|p| {
                let mut b: Vec<usize> =
                    p.iter().filter(|&&i| i >= 0).map(|&i| bounds.partition_point(|&e| e <= i as usize)).collect();
                b.sort_unstable();
                b.dedup();
                b
            })
            .collect();
        AxisSource::Positions { out_axis, pos: Arc::new(pos), blocks: Arc::new(blocks) }
    }
}

/// One input of a gather or block-function task: a region of layer `layer`
/// (chunked as `in_chunks`) chosen per axis, or of a random source made
/// inside the task (`inline`).
#[derive(Clone)]
pub struct GatherInput {
    /// The producing layer (unused when `inline` is set).
    pub layer: LayerId,
    pub in_chunks: Chunks,
    pub axes: Vec<AxisSource>,
    pub fill: Scalar,
    /// A random source read only here: the task generates exactly the
    /// region it reads (a block and its halo), and depends on no task.
    pub inline: Option<Inline>,
}

impl std::fmt::Debug for GatherInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatherInput")
            .field("layer", &self.layer)
            .field("in_chunks", &self.in_chunks)
            .field("axes", &self.axes)
            .field("fill", &self.fill)
            .field("inline", &self.inline.is_some())
            .finish()
    }
}

impl GatherInput {
    /// True when every task reads exactly one whole input block.
    pub fn is_plain(&self) -> bool {
        self.axes.iter().all(|a| !matches!(a, AxisSource::Positions { .. }))
    }

    /// The input blocks along input axis `k` for task block `block`.
    pub fn blocks_along<'a>(&'a self, k: usize, block: &[usize], one: &'a mut [usize; 1]) -> &'a [usize] {
        match &self.axes[k] {
            AxisSource::Block(o) => {
                one[0] = block[*o];
                &one[..]
            }
            AxisSource::Single => {
                one[0] = 0;
                &one[..]
            }
            AxisSource::Positions { out_axis, blocks, .. } => &blocks[block[*out_axis]],
        }
    }

    /// The input tasks of task block `block`, row-major over the per-axis
    /// block lists (the order the executor expects them in).
    pub fn deps(&self, g: &TaskGraph, block: &[usize], out: &mut Vec<TaskId>) {
        if self.inline.is_some() {
            return;
        }
        let nd = self.axes.len();
        let mut ones = vec![[0usize; 1]; nd];
        let lists: Vec<Vec<usize>> = (0..nd).map(|k| self.blocks_along(k, block, &mut ones[k]).to_vec()).collect();
        if lists.iter().any(|l| l.is_empty()) {
            return;
        }
        let ranges: Vec<(usize, usize)> = lists.iter().map(|l| (0, l.len())).collect();
        let mut b = vec![0; nd];
        super::for_each_in_box(&ranges, |i| {
            for k in 0..nd {
                b[k] = lists[k][i[k]];
            }
            out.push(g.task(self.layer, &b));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_find_their_blocks() {
        let a = AxisSource::positions(0, vec![vec![9, 0, -1, 3], vec![4, 4]], &[4, 4, 2]);
        let AxisSource::Positions { blocks, .. } = a else { panic!() };
        assert_eq!(*blocks, vec![vec![0, 2], vec![1]]);
    }
}
