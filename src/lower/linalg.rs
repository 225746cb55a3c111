//! Lowering of linear algebra nodes. Products: one task per output block and
//! group of up to `split_every` contraction blocks (the group's products are
//! accumulated in place), then a tree of block sums — so a task reads at most
//! `2 · split_every` blocks and memory stays bounded however long the
//! contracted axis. Under a memory limit, generated and stored operands are
//! read inside the product tasks (re-read per output block, never held). TSQR: QR of each row block, then QR of stacked groups of
//! R factors up a tree of fan-in `split_every`; Q comes down the same tree. Under a
//! memory limit the leaf Q factors are not kept: each Q task reads its row
//! block again and repeats the leaf QR (twice the leaf flops, memory of a
//! few blocks instead of the whole matrix).

use std::collections::HashMap;

use crate::chunks::Chunks;
use crate::expr::{LinalgOp, NodeRef};
use crate::task::linalg::LinalgLayer;
use crate::task::{Layer, LayerId, LayerKind, TaskGraph};

use super::LowerOptions;

fn layer(n: &NodeRef, l: LinalgLayer, grid: Vec<usize>, chunks: Option<Chunks>, block_bytes: u64) -> Layer {
    Layer { kind: LayerKind::Linalg(l), grid, chunks, dtype: n.dtype, block_bytes, node: n.signature() }
}

fn array_layer(n: &NodeRef, l: LinalgLayer) -> Layer {
    layer(n, l, n.chunks.numblocks(), Some(n.chunks.clone()), n.max_block_bytes())
}

/// Sums of groups of `split` partial products along the trailing task axis
/// (`len` long) of layer `cur`, level by level, down to the output blocks.
fn sum_tree(tg: &mut TaskGraph, n: &NodeRef, mut cur: LayerId, mut len: usize, split: usize) -> LayerId {
    let out_grid = n.chunks.numblocks();
    loop {
        let next = len.div_ceil(split);
        let keep_axis = next > 1;
        let kind = LinalgLayer::SumBlocks { input: cur, in_groups: len, group: split, keep_axis, out_chunks: n.chunks.clone() };
        if !keep_axis {
            return tg.push(array_layer(n, kind));
        }
        let mut grid = out_grid.clone();
        grid.push(next);
        cur = tg.push(layer(n, kind, grid, None, n.max_block_bytes()));
        len = next;
    }
}

pub(super) fn lower_linalg(
    tg: &mut TaskGraph,
    n: &NodeRef,
    op: &LinalgOp,
    inputs: &[NodeRef],
    layer_of: &HashMap<u64, LayerId>,
    opts: &LowerOptions,
) -> LayerId {
    let split = opts.split_every.max(2);
    // products read generated and stored sources inside their tasks (see `lower`)
    let inline = |i: &NodeRef| super::input_refs(std::slice::from_ref(i), &i.shape, layer_of).remove(0).inline;
    let ins: Vec<LayerId> = inputs.iter().map(|i| layer_of.get(&i.id).copied().unwrap_or(usize::MAX)).collect();
    match op {
        LinalgOp::Tensordot { axes_a, axes_b } => {
            let (a, b) = (&inputs[0], &inputs[1]);
            let cgrid: Vec<usize> = axes_a.iter().map(|&x| a.chunks.numblocks()[x]).collect();
            let total: usize = cgrid.iter().product();
            let groups = total.div_ceil(split).max(1);
            let out_grid = n.chunks.numblocks();
            let contract = |grouped: bool| LinalgLayer::Contract {
                a: ins[0],
                b: ins[1],
                nd_a: a.shape.len(),
                nd_b: b.shape.len(),
                axes_a: axes_a.clone(),
                axes_b: axes_b.clone(),
                cgrid: cgrid.clone(),
                group: split,
                grouped,
                out_chunks: n.chunks.clone(),
                a_inline: inline(a),
                b_inline: inline(b),
            };
            if groups == 1 {
                return tg.push(array_layer(n, contract(false)));
            }
            let mut grid = out_grid.clone();
            grid.push(groups);
            let first = tg.push(layer(n, contract(true), grid, None, n.max_block_bytes()));
            sum_tree(tg, n, first, groups, split)
        }
        LinalgOp::BatchMatmul => {
            let (a, b) = (&inputs[0], &inputs[1]);
            let nbatch = n.shape.len() - 2;
            let bcast = |x: &NodeRef| -> Vec<bool> {
                let nb = x.shape.len() - 2;
                (0..nb).map(|t| x.shape[t] == 1 && n.shape[nbatch - nb + t] != 1).collect()
            };
            let kblocks = a.chunks.numblocks()[a.shape.len() - 1];
            let groups = kblocks.div_ceil(split).max(1);
            let contract = |grouped: bool| LinalgLayer::BatchContract {
                a: ins[0],
                b: ins[1],
                a_bcast: bcast(a),
                b_bcast: bcast(b),
                kblocks,
                group: split,
                grouped,
                out_chunks: n.chunks.clone(),
            };
            if groups == 1 {
                return tg.push(array_layer(n, contract(false)));
            }
            let mut grid = n.chunks.numblocks();
            grid.push(groups);
            let first = tg.push(layer(n, contract(true), grid, None, n.max_block_bytes()));
            sum_tree(tg, n, first, groups, split)
        }
        LinalgOp::TsqrR => {
            let a = &inputs[0];
            let ncols = a.shape[1];
            let item = n.dtype.size() as u64;
            let rows = a.chunks.axis(0);
            let mut ks: Vec<Vec<usize>> = vec![rows.iter().map(|&m| m.min(ncols)).collect()];
            // a leaf holds Q_i (m_i × k_i) and R_i (k_i × n)
            let leaf_bytes = rows.iter().map(|&m| (m * m.min(ncols) + m.min(ncols) * ncols) as u64).max().unwrap_or(0) * item;
            let mut levels = vec![tg.push(layer(n, LinalgLayer::TsqrLeaf { input: ins[0], keep_q: false }, vec![rows.len()], None, leaf_bytes))];
            while ks.last().expect("a level").len() > 1 {
                let prev = ks.last().expect("a level").clone();
                let next: Vec<usize> = prev.chunks(split).map(|g| g.iter().sum::<usize>().min(ncols)).collect();
                let bytes = prev
                    .chunks(split)
                    .map(|g| {
                        let s: usize = g.iter().sum();
                        (s * s.min(ncols) + s.min(ncols) * ncols) as u64
                    })
                    .max()
                    .unwrap_or(0)
                    * item;
                let kind = LinalgLayer::TsqrCombine { input: *levels.last().expect("a level"), in_tasks: prev.len(), group: split, keep_q: false };
                levels.push(tg.push(layer(n, kind, vec![next.len()], None, bytes)));
                ks.push(next);
            }
            tg.push(array_layer(n, LinalgLayer::TsqrR { levels, ks, group: split }))
        }
        LinalgOp::TsqrQ => {
            let LayerKind::Linalg(LinalgLayer::TsqrR { levels, ks, group }) = &tg.layers[ins[1]].kind else {
                unreachable!("the second input of tsqr_q is a tsqr_r node")
            };
            let (levels, ks, group) = (levels.clone(), ks.clone(), *group);
            // the up-sweep keeps its Q factors only when a Q is wanted (R
            // alone: no Q formed); under a memory limit the leaves' (as
            // large as the matrix) are made again by the Q tasks instead
            let refactor = opts.bounded_memory;
            for &l in &levels[refactor as usize..] {
                if let LayerKind::Linalg(LinalgLayer::TsqrLeaf { keep_q, .. } | LinalgLayer::TsqrCombine { keep_q, .. }) = &mut tg.layers[l].kind {
                    *keep_q = true;
                }
            }
            let kroot = n.shape[1];
            let item = n.dtype.size() as u64;
            let top = levels.len() - 1;
            let mut coef: Option<LayerId> = None;
            for l in (0..top).rev() {
                let bytes = ks[l].iter().max().copied().unwrap_or(0) as u64 * kroot as u64 * item;
                let kind = LinalgLayer::TsqrCoef { up_parent: levels[l + 1], coef_parent: coef, ks: ks[l].clone(), group };
                coef = Some(tg.push(layer(n, kind, vec![ks[l].len()], None, bytes)));
            }
            let leaf = if refactor { ins[0] } else { levels[0] };
            tg.push(array_layer(n, LinalgLayer::TsqrQ { leaf, coef, refactor }))
        }
        LinalgOp::Dense(d) => {
            let in_ndims = inputs.iter().map(|i| i.shape.len()).collect();
            // working memory of the factorization: a few copies of the input
            let bytes = n.max_block_bytes().max(inputs.iter().map(|i| i.max_block_bytes()).max().unwrap_or(0).saturating_mul(3));
            tg.push(layer(n, LinalgLayer::Dense { op: *d, inputs: ins, in_ndims }, n.chunks.numblocks(), Some(n.chunks.clone()), bytes))
        }
        LinalgOp::Transpose => tg.push(array_layer(n, LinalgLayer::Transpose { input: ins[0] })),
        LinalgOp::Cholesky => tg.push(array_layer(n, LinalgLayer::Cholesky { input: ins[0] })),
        LinalgOp::LuU | LinalgOp::LuPivots | LinalgOp::LuL | LinalgOp::LuP | LinalgOp::LuForward | LinalgOp::SolveTriangular { .. } => {
            super::lu::lower_lu(tg, n, op, inputs, &ins)
        }
    }
}
