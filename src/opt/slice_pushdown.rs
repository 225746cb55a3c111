//! Slice pushdown: a slice moves towards the sources, so only the selected
//! elements are ever computed or read.
//! - `slice(slice(x))` becomes one slice;
//! - a slice of an elementwise map becomes the map of the sliced inputs (an
//!   input broadcast along an axis keeps that axis whole);
//! - a slice of a transpose is the transpose of the input's slice;
//! - a slice of a constant is a smaller constant;
//! - a unit-step slice of a stored array is a smaller region of the store
//!   (its blocks read only the stored chunks they overlap).
//! Other slices stay where they are; their tasks read only the input blocks
//! holding selected elements. The result keeps the slice's chunks (a
//! rechunk is added when the pushed-down form is chunked differently; it
//! folds into sources in `rechunk_merge`).

use super::Pass;
use crate::error::Result;
use crate::expr::build::{self, is_broadcast_axis};
use crate::expr::graph::with_new_inputs;
use crate::expr::slice::{sliced_chunks, AxisSlice};
use crate::expr::{shape_ops, ExprGraph, NodeRef, Op, Source};

pub struct SlicePushdown;

impl Pass for SlicePushdown {
    fn name(&self) -> &'static str {
        "slice_pushdown"
    }
    fn run(&self, g: ExprGraph) -> Result<ExprGraph> {
        Ok(g.rewrite(|n, ins| match &n.op {
            Op::Slice { axes, .. } => {
                let pushed = push(&ins[0], axes);
                if pushed.chunks == n.chunks {
                    pushed
                } else {
                    build::rechunk(&pushed, n.chunks.clone())
                }
            }
            _ => with_new_inputs(n, ins),
        }))
    }
}

fn push(x: &NodeRef, axes: &[AxisSlice]) -> NodeRef {
    if axes.iter().zip(&x.shape).all(|(a, &n)| a.is_full(n)) {
        return x.clone();
    }
    match &x.op {
        Op::Slice { axes: inner, input } => {
            let c: Vec<AxisSlice> = inner.iter().zip(axes).map(|(i, o)| AxisSlice::compose(i, o)).collect();
            push(input, &c)
        }
        Op::Map { program, inputs } => {
            let nd = x.shape.len();
            let new: Vec<NodeRef> = inputs
                .iter()
                .map(|i| {
                    let off = nd - i.shape.len();
                    let a: Vec<AxisSlice> = (0..i.shape.len())
                        .map(|k| if is_broadcast_axis(&i.shape, k, &x.shape) { AxisSlice::full(1) } else { axes[k + off] })
                        .collect();
                    push(i, &a)
                })
                .collect();
            build::map(program.clone(), new).unwrap_or_else(|_| build::slice(x, axes.to_vec()))
        }
        // the map (or whoever reads this) aligns chunks again
        Op::Rechunk { input } => push(input, axes),
        Op::Transpose { perm, input } => {
            let mut inner = vec![AxisSlice::full(0); perm.len()];
            for (k, &p) in perm.iter().enumerate() {
                inner[p] = axes[k];
            }
            shape_ops::transpose(&push(input, &inner), perm).unwrap_or_else(|_| build::slice(x, axes.to_vec()))
        }
        Op::Source(Source::Full(v)) => {
            let shape = axes.iter().map(|a| a.len).collect();
            build::source(Source::Full(*v), shape, x.dtype, sliced_chunks(&x.chunks, axes))
        }
        Op::Source(Source::Stored { array, origin }) if axes.iter().all(|a| a.step == 1 || a.len <= 1) => {
            let shape = axes.iter().map(|a| a.len).collect();
            let origin = origin.iter().zip(axes).map(|(o, a)| o + if a.len == 0 { 0 } else { a.start }).collect();
            build::source(Source::Stored { array: array.clone(), origin }, shape, x.dtype, sliced_chunks(&x.chunks, axes))
        }
        _ => build::slice(x, axes.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunks::Chunks;
    use crate::dtype::{DType, Scalar};
    use crate::expr::{BinaryOp, Program};

    fn data(shape: &[usize], chunks: Vec<Vec<usize>>) -> NodeRef {
        build::source(Source::Data(std::sync::Arc::new(0u8)), shape.to_vec(), DType::F64, Chunks::new(shape, chunks).unwrap())
    }

    #[test]
    fn slices_move_through_maps_and_merge() {
        let a = data(&[8, 4], vec![vec![4, 4], vec![4]]);
        let b = data(&[4], vec![vec![2, 2]]);
        let mut p = Program::with_inputs(vec![DType::F64, DType::F64]);
        let (x, y) = (p.input(0), p.input(1));
        let r = p.binary(BinaryOp::Add, x, y);
        let m = build::map(p.finish(r), vec![a, b]).unwrap();
        let s1 = build::slice(&m, vec![AxisSlice { start: 1, step: 1, len: 6 }, AxisSlice::full(4)]);
        let s2 = build::slice(&s1, vec![AxisSlice { start: 0, step: 2, len: 3 }, AxisSlice { start: 3, step: -1, len: 2 }]);
        let g = SlicePushdown.run(ExprGraph::new(vec![s2.clone()])).unwrap();
        let root = &g.roots[0];
        assert_eq!(root.shape, vec![3, 2]);
        assert_eq!(root.chunks, s2.chunks);
        let e = g.explain();
        // the map now reads two slices of its inputs: rows 1, 3, 5 and columns 3, 2
        assert!(matches!(root.op, Op::Map { .. } | Op::Rechunk { .. }), "{e}");
        assert_eq!(e.matches("slice[").count(), 2, "{e}");
        assert!(e.contains("slice[1+2*3, 3+-1*2]"), "{e}");
        let again = SlicePushdown.run(g.clone()).unwrap();
        assert!(again.equivalent(&g));
    }

    #[test]
    fn constants_shrink() {
        let c = build::source(Source::Full(Scalar::F64(2.0)), vec![10], DType::F64, Chunks::new(&[10], vec![vec![5, 5]]).unwrap());
        let s = build::slice(&c, vec![AxisSlice { start: 3, step: 1, len: 4 }]);
        let g = SlicePushdown.run(ExprGraph::new(vec![s])).unwrap();
        assert!(matches!(g.roots[0].op, Op::Source(Source::Full(_))));
        assert_eq!(g.roots[0].chunks.axis(0), &[2, 2]);
    }

    #[test]
    fn slices_move_through_transposes() {
        let a = data(&[8, 4], vec![vec![4, 4], vec![2, 2]]);
        let t = shape_ops::transpose(&a, &[1, 0]).unwrap();
        let s = build::slice(&t, vec![AxisSlice { start: 1, step: 1, len: 2 }, AxisSlice { start: 6, step: -2, len: 3 }]);
        let g = SlicePushdown.run(ExprGraph::new(vec![s.clone()])).unwrap();
        let root = &g.roots[0];
        assert!(matches!(root.op, Op::Transpose { .. }), "{}", g.explain());
        assert_eq!(root.shape, vec![2, 3]);
        assert!(g.explain().contains("slice[6+-2*3, 1..3]"), "{}", g.explain());
        assert!(SlicePushdown.run(g.clone()).unwrap().equivalent(&g));
    }
}
