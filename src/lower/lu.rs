//! Lowering of LU and triangular-solve nodes (layers in `task::lu`). The U
//! node builds the factorization: one self-referencing layer of step tasks
//! (panel (k, k), updates (k, j > k)) and the U blocks cut from them; L, P,
//! the pivots and forward substitutions find those layers through the U
//! node's layer, as TSQR's Q finds R's tree.
//!
//! Memory per task (`block_bytes`): a step task holds its input block
//! column, its output block column and the panel — about two to three
//! n × s_max blocks, with n the order and s_max the largest block.

use crate::chunks::Chunks;
use crate::dtype::DType;
use crate::expr::{LinalgOp, NodeRef};
use crate::task::linalg::LinalgLayer;
use crate::task::lu::LuLayer;
use crate::task::{Layer, LayerId, LayerKind, TaskGraph};

fn layer(n: &NodeRef, l: LuLayer, grid: Vec<usize>, chunks: Option<Chunks>, dtype: DType, block_bytes: u64) -> Layer {
    Layer { kind: LayerKind::Linalg(LinalgLayer::Lu(l)), grid, chunks, dtype, block_bytes, node: n.signature() }
}

fn array_layer(n: &NodeRef, l: LuLayer, block_bytes: u64) -> Layer {
    layer(n, l, n.chunks.numblocks(), Some(n.chunks.clone()), n.dtype, block_bytes)
}

fn lu_kind(tg: &TaskGraph, l: LayerId) -> &LuLayer {
    match &tg.layers[l].kind {
        LayerKind::Linalg(LinalgLayer::Lu(k)) => k,
        _ => unreachable!("an LU node's input is an LU layer"),
    }
}

/// The step layer of the factorization whose U blocks are layer `u`.
fn steps_of(tg: &TaskGraph, u: LayerId) -> LayerId {
    match lu_kind(tg, u) {
        LuLayer::U { steps } => *steps,
        _ => unreachable!("the first input of an LU node is its U node"),
    }
}

pub(super) fn lower_lu(tg: &mut TaskGraph, n: &NodeRef, op: &LinalgOp, inputs: &[NodeRef], ins: &[LayerId]) -> LayerId {
    let item = n.dtype.size() as u64;
    match op {
        LinalgOp::LuU => {
            let rows = n.chunks.axis(0).to_vec();
            let k = rows.len();
            let order = n.shape[0] as u64;
            let smax = rows.iter().copied().max().unwrap_or(0) as u64;
            // input column + output column (+ the panel's permutation)
            let step_bytes = 2 * order * smax * item + 8 * order + item;
            let steps = tg.push(layer(n, LuLayer::Steps { input: ins[0], rows }, vec![k, k], None, n.dtype, step_bytes));
            tg.push(array_layer(n, LuLayer::U { steps }, n.max_block_bytes()))
        }
        LinalgOp::LuPivots => {
            let steps = steps_of(tg, ins[0]);
            let rows = n.chunks.axis(0).to_vec();
            let k = rows.len();
            let bytes = 8 * n.shape[0] as u64;
            let perm = tg.push(layer(n, LuLayer::Perm { steps }, vec![k], None, DType::I64, bytes));
            let tau = tg.push(layer(n, LuLayer::Tau { perm, rows: rows.clone() }, vec![k], None, DType::I64, bytes));
            tg.push(array_layer(n, LuLayer::Pivots { tau, rows }, n.max_block_bytes()))
        }
        LinalgOp::LuL => {
            let steps = steps_of(tg, ins[0]);
            let tau = match lu_kind(tg, ins[1]) {
                LuLayer::Pivots { tau, .. } => *tau,
                _ => unreachable!("the second input of lu_l is the pivots node"),
            };
            let rows = n.chunks.axis(0).to_vec();
            tg.push(array_layer(n, LuLayer::L { steps, tau, rows }, n.max_block_bytes()))
        }
        LinalgOp::LuP => {
            let rows = n.chunks.axis(0).to_vec();
            tg.push(array_layer(n, LuLayer::P { pivots: ins[0], rows }, n.max_block_bytes()))
        }
        LinalgOp::LuForward => {
            let steps = steps_of(tg, ins[0]);
            let b = &inputs[1];
            let rows = b.chunks.axis(0).to_vec();
            let vector = b.shape.len() == 1;
            let cols: Vec<usize> = if vector { vec![1] } else { b.chunks.axis(1).to_vec() };
            let mmax = cols.iter().copied().max().unwrap_or(0) as u64;
            let bytes = 2 * b.shape[0] as u64 * mmax * item;
            let grid = vec![rows.len(), cols.len()];
            let rhs = tg.push(layer(n, LuLayer::Rhs { steps, input: ins[1], rows, vector }, grid, None, n.dtype, bytes));
            tg.push(array_layer(n, LuLayer::Forward { rhs, vector }, n.max_block_bytes()))
        }
        LinalgOp::SolveTriangular { lower } => {
            let nblocks = inputs[0].chunks.numblocks()[0];
            let vector = n.shape.len() == 1;
            // the result block and its accumulator
            let bytes = n.max_block_bytes().saturating_mul(2);
            tg.push(array_layer(n, LuLayer::TriSolve { a: ins[0], b: ins[1], lower: *lower, nblocks, vector }, bytes))
        }
        _ => unreachable!("not an LU operation"),
    }
}
