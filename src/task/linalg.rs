//! Task layers of linear algebra (plain data): block products summed as
//! trees, the TSQR up-sweep (QR of row blocks, then of stacked R factors) and
//! down-sweep (Q assembled from the tree), dense kernels on one block,
//! block transposes, blocked Cholesky. Inputs are found by index arithmetic,
//! like every other layer.

use crate::chunks::{multi_index, Chunks};
use crate::expr::DenseOp;

use super::{Inline, LayerId, TaskGraph, TaskId};

#[derive(Clone)]
pub enum LinalgLayer {
    /// Task (output block…, g): the sum over contraction blocks j of group g
    /// (`group` consecutive indices of the flattened contraction grid) of
    /// block product A(…, j) · B(j, …). Without the trailing axis (`grouped`
    /// false) there is one group and the task is the output block.
    Contract {
        a: LayerId,
        b: LayerId,
        nd_a: usize,
        nd_b: usize,
        axes_a: Vec<usize>,
        axes_b: Vec<usize>,
        /// Blocks along each contracted pair.
        cgrid: Vec<usize>,
        group: usize,
        grouped: bool,
        out_chunks: Chunks,
        /// Generated or stored operands read inside the task (not held
        /// between tasks: bounded memory for products of arrays on disk).
        a_inline: Option<Inline>,
        b_inline: Option<Inline>,
    },
    /// Sum of groups of `group` blocks along the trailing task axis of
    /// `input` (`in_groups` long); the last level drops that axis.
    SumBlocks { input: LayerId, in_groups: usize, group: usize, keep_axis: bool, out_chunks: Chunks },
    /// QR of row block i of a one-column-block matrix: a partial [Q_i, R_i]
    /// (Q_i empty unless `keep_q`: set when a Q is lowered from this tree).
    TsqrLeaf { input: LayerId, keep_q: bool },
    /// QR of the stacked R factors of a group of `group` tasks of `input`.
    TsqrCombine { input: LayerId, in_tasks: usize, group: usize, keep_q: bool },
    /// The R factor of the root of the tree. `levels` are the up-sweep layers
    /// (leaves first), `ks[l][t]` the rows of the R factor of task t of level l.
    TsqrR { levels: Vec<LayerId>, ks: Vec<Vec<usize>>, group: usize },
    /// Down-sweep at one level: for task c, its rows of the parent's Q
    /// (parent = c / group in `up_parent`) times the parent's coefficients
    /// (`coef_parent`; the identity at the root).
    TsqrCoef { up_parent: LayerId, coef_parent: Option<LayerId>, ks: Vec<usize>, group: usize },
    /// Block (i, 0) of Q: the leaf Q_i times its coefficients (none: one leaf).
    /// With `refactor`, `leaf` is the matrix's layer and Q_i is made here
    /// again by the same QR as the leaf's (so under a memory limit the leaf
    /// Q factors, as large as the matrix, are not held across the tree).
    TsqrQ { leaf: LayerId, coef: Option<LayerId>, refactor: bool },
    /// A dense kernel over one-block inputs.
    Dense { op: DenseOp, inputs: Vec<LayerId>, in_ndims: Vec<usize> },
    /// Block (i, j) is input block (j, i) transposed.
    Transpose { input: LayerId },
    /// Block (i, j) of the lower Cholesky factor (zero above the diagonal):
    /// reads A(i, j) and the factor blocks (this layer) left of it.
    Cholesky { input: LayerId },
    /// Task (batch block…, i, j, g): the sum over k blocks p of group g of
    /// A(batch…, i, p) · B(batch…, p, j), matrix by matrix over the batch
    /// block. `a_bcast`/`b_bcast`: per batch axis of the input (right-aligned
    /// to the output's batch axes), whether it broadcasts (block 0).
    BatchContract {
        a: LayerId,
        b: LayerId,
        a_bcast: Vec<bool>,
        b_bcast: Vec<bool>,
        kblocks: usize,
        group: usize,
        grouped: bool,
        out_chunks: Chunks,
    },
    /// Blocked LU with partial pivoting and triangular solves (see [`super::lu`]).
    Lu(super::lu::LuLayer),
}

impl LinalgLayer {
    pub fn name(&self) -> String {
        match self {
            LinalgLayer::Contract { .. } | LinalgLayer::BatchContract { .. } => "matmul".into(),
            LinalgLayer::SumBlocks { keep_axis, .. } => {
                if *keep_axis { "matmul-sum".into() } else { "matmul-sum-final".into() }
            }
            LinalgLayer::TsqrLeaf { .. } => "tsqr-leaf".into(),
            LinalgLayer::TsqrCombine { .. } => "tsqr-combine".into(),
            LinalgLayer::TsqrR { .. } => "tsqr-r".into(),
            LinalgLayer::TsqrCoef { .. } => "tsqr-q-coef".into(),
            LinalgLayer::TsqrQ { .. } => "tsqr-q".into(),
            LinalgLayer::Dense { op, .. } => format!("dense-{}", op.name()),
            LinalgLayer::Transpose { .. } => "transpose".into(),
            LinalgLayer::Cholesky { .. } => "cholesky".into(),
            LinalgLayer::Lu(l) => l.name(),
        }
    }

    /// The inputs of task `block` of layer `layer` (this kind), in the order
    /// the executor reads them.
    pub fn deps(&self, g: &TaskGraph, layer: LayerId, block: &[usize], out: &mut Vec<TaskId>) {
        match self {
            LinalgLayer::Contract { a, b, a_inline, b_inline, .. } => {
                self.contract_blocks(block, |ia, ib| {
                    if a_inline.is_none() {
                        out.push(g.task(*a, ia));
                    }
                    if b_inline.is_none() {
                        out.push(g.task(*b, ib));
                    }
                });
            }
            LinalgLayer::BatchContract { a, b, .. } => {
                self.batch_blocks(block, |ia, ib| {
                    out.push(g.task(*a, ia));
                    out.push(g.task(*b, ib));
                });
            }
            LinalgLayer::SumBlocks { input, in_groups, group, keep_axis, .. } => {
                let nout = if *keep_axis { block.len() - 1 } else { block.len() };
                let h = if *keep_axis { block[nout] } else { 0 };
                let mut idx: Vec<usize> = block[..nout].to_vec();
                idx.push(0);
                for j in h * group..((h + 1) * group).min(*in_groups) {
                    idx[nout] = j;
                    out.push(g.task(*input, &idx));
                }
            }
            LinalgLayer::TsqrLeaf { input, .. } => out.push(g.task(*input, &[block[0], 0])),
            LinalgLayer::TsqrCombine { input, in_tasks, group, .. } => {
                for j in block[0] * group..((block[0] + 1) * group).min(*in_tasks) {
                    out.push(g.task(*input, &[j]));
                }
            }
            LinalgLayer::TsqrR { levels, .. } => out.push(g.task(*levels.last().expect("a level"), &[0])),
            LinalgLayer::TsqrCoef { up_parent, coef_parent, group, .. } => {
                let p = block[0] / group;
                out.push(g.task(*up_parent, &[p]));
                if let Some(c) = coef_parent {
                    out.push(g.task(*c, &[p]));
                }
            }
            LinalgLayer::TsqrQ { leaf, coef, refactor } => {
                out.push(if *refactor { g.task(*leaf, &[block[0], 0]) } else { g.task(*leaf, &[block[0]]) });
                if let Some(c) = coef {
                    out.push(g.task(*c, &[block[0]]));
                }
            }
            LinalgLayer::Dense { inputs, in_ndims, .. } => {
                for (&l, &nd) in inputs.iter().zip(in_ndims) {
                    out.push(g.task(l, &vec![0; nd]));
                }
            }
            LinalgLayer::Transpose { input } => out.push(g.task(*input, &[block[1], block[0]])),
            LinalgLayer::Cholesky { input } => {
                let (i, j) = (block[0], block[1]);
                if i < j {
                    return;
                }
                out.push(g.task(*input, &[i, j]));
                if i > j {
                    out.push(g.task(layer, &[j, j]));
                }
                for k in 0..j {
                    out.push(g.task(layer, &[i, k]));
                    if i > j {
                        out.push(g.task(layer, &[j, k]));
                    }
                }
            }
            LinalgLayer::Lu(l) => l.deps(g, layer, block, out),
        }
    }
}

impl LinalgLayer {
    /// For a `Contract` task: the block indices of each (A, B) pair it multiplies, in order.
    pub fn contract_blocks(&self, block: &[usize], mut f: impl FnMut(&[usize], &[usize])) {
        let LinalgLayer::Contract { nd_a, nd_b, axes_a, axes_b, cgrid, group, grouped, .. } = self else {
            return;
        };
        let nfree_a = nd_a - axes_a.len();
        let nout = nfree_a + nd_b - axes_b.len();
        let gi = if *grouped { block[nout] } else { 0 };
        let total: usize = cgrid.iter().product();
        let mut jj = Vec::new();
        for j in gi * group..((gi + 1) * group).min(total) {
            multi_index(j, cgrid, &mut jj);
            f(&operand_block(*nd_a, axes_a, &jj, &block[..nfree_a]), &operand_block(*nd_b, axes_b, &jj, &block[nfree_a..nout]));
        }
    }
}

impl LinalgLayer {
    /// For a `BatchContract` task: the block indices of each (A, B) pair it multiplies, in order.
    pub fn batch_blocks(&self, block: &[usize], mut f: impl FnMut(&[usize], &[usize])) {
        let LinalgLayer::BatchContract { a_bcast, b_bcast, kblocks, group, grouped, out_chunks, .. } = self else {
            return;
        };
        let nout = out_chunks.ndim();
        let nbatch = nout - 2;
        let gi = if *grouped { block[nout] } else { 0 };
        let batch_idx = |bc: &[bool]| -> Vec<usize> {
            let off = nbatch - bc.len();
            bc.iter().enumerate().map(|(t, &x)| if x { 0 } else { block[off + t] }).collect()
        };
        let (mut ia, mut ib) = (batch_idx(a_bcast), batch_idx(b_bcast));
        let (na, nb) = (ia.len(), ib.len());
        ia.extend([block[nbatch], 0]);
        ib.extend([0, block[nbatch + 1]]);
        for p in gi * group..((gi + 1) * group).min(*kblocks) {
            ia[na + 1] = p;
            ib[nb] = p;
            f(&ia, &ib);
        }
    }
}

/// The block index of a tensordot operand: contracted axes from `jj` (by
/// pair position), free axes from `free` in order.
pub fn operand_block(nd: usize, axes: &[usize], jj: &[usize], free: &[usize]) -> Vec<usize> {
    let mut it = free.iter();
    (0..nd)
        .map(|ax| match axes.iter().position(|&x| x == ax) {
            Some(t) => jj[t],
            None => *it.next().expect("free block index"),
        })
        .collect()
}
