//! Fusion: an elementwise node read by exactly one other elementwise node (or
//! reduction) is inlined into that reader's Program. Chains become one
//! Program; a chain ending in a reduction becomes the reduction's Program.
//! Nodes with several readers are kept, so nothing is computed twice.

use std::collections::HashMap;

use super::Pass;
use crate::dtype::DType;
use crate::error::Result;
use crate::expr::graph::with_new_inputs;
use crate::expr::{ExprGraph, Node, NodeRef, Op, Program};

pub struct Fuse;

/// Inline every single-reader Map input of (`program`, `inputs`).
fn absorb(program: &Program, inputs: &[NodeRef], originals: &[&NodeRef], readers: &HashMap<u64, usize>) -> Option<(Program, Vec<NodeRef>)> {
    let mut prog = program.clone();
    let mut ins: Vec<NodeRef> = inputs.to_vec();
    // single-reader flags follow the inputs as they move
    let mut single: Vec<bool> = originals.iter().map(|o| readers.get(&o.id).copied().unwrap_or(0) == 1).collect();
    let mut changed = false;
    while let Some(k) = (0..ins.len()).find(|&k| single[k] && matches!(ins[k].op, Op::Map { .. })) {
        let Op::Map { program: inner, inputs: inner_ins } = &ins[k].op else { unreachable!() };
        // new input list: the inner inputs take the place of input k (natural
        // numbering: in0, in1, ... in reading order); repeats are read once
        let mut new_ins: Vec<NodeRef> = Vec::new();
        let mut new_single: Vec<bool> = Vec::new();
        let mut outer_map = vec![usize::MAX; ins.len()];
        let mut inner_map = vec![usize::MAX; inner_ins.len()];
        let place = |n: &NodeRef, single: bool, new_ins: &mut Vec<NodeRef>, new_single: &mut Vec<bool>| -> usize {
            match new_ins.iter().position(|m| m.id == n.id) {
                Some(p) => {
                    new_single[p] = false;
                    p
                }
                None => {
                    new_ins.push(n.clone());
                    new_single.push(single);
                    new_ins.len() - 1
                }
            }
        };
        for (i, n) in ins.iter().enumerate() {
            if i == k {
                for (j, m) in inner_ins.iter().enumerate() {
                    // inner inputs were not fused into the inner node: they have other readers
                    inner_map[j] = place(m, false, &mut new_ins, &mut new_single);
                }
            } else {
                outer_map[i] = place(n, single[i], &mut new_ins, &mut new_single);
            }
        }
        let dtypes: Vec<DType> = new_ins.iter().map(|n| n.dtype).collect();
        prog = prog.inline(k, inner, &outer_map, &inner_map, dtypes);
        ins = new_ins;
        single = new_single;
        changed = true;
    }
    changed.then_some((prog, ins))
}

impl Pass for Fuse {
    fn name(&self) -> &'static str {
        "fuse"
    }
    fn run(&self, g: ExprGraph) -> Result<ExprGraph> {
        let readers = g.consumers();
        Ok(g.rewrite(|n, ins| {
            let originals = n.inputs();
            match &n.op {
                Op::Map { program, .. } => match absorb(program, &ins, &originals, &readers) {
                    Some((p, i)) => Node::new(Op::Map { program: p, inputs: i }, n.shape.clone(), n.dtype, n.chunks.clone()),
                    None => with_new_inputs(n, ins),
                },
                Op::Reduce { spec, program, .. } => match absorb(program, &ins, &originals, &readers) {
                    Some((p, i)) => Node::new(
                        Op::Reduce { spec: spec.clone(), program: p, inputs: i },
                        n.shape.clone(),
                        n.dtype,
                        n.chunks.clone(),
                    ),
                    None => with_new_inputs(n, ins),
                },
                _ => with_new_inputs(n, ins),
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunks::Chunks;
    use crate::dtype::Scalar;
    use crate::expr::{build, BinaryOp, ReduceKind, Source, UnaryOp};

    fn src(v: f64) -> NodeRef {
        build::source(Source::Full(Scalar::F64(v)), vec![8], DType::F64, Chunks::new(&[8], vec![vec![4, 4]]).unwrap())
    }
    fn unary(op: UnaryOp, x: &NodeRef) -> NodeRef {
        let mut p = Program::with_inputs(vec![DType::F64]);
        let a = p.input(0);
        let r = p.unary(op, a);
        build::map(p.finish(r), vec![x.clone()]).unwrap()
    }
    fn add(x: &NodeRef, y: &NodeRef) -> NodeRef {
        let mut p = Program::with_inputs(vec![DType::F64, DType::F64]);
        let (a, b) = (p.input(0), p.input(1));
        let r = p.binary(BinaryOp::Add, a, b);
        build::map(p.finish(r), vec![x.clone(), y.clone()]).unwrap()
    }

    #[test]
    fn chain_into_reduction_is_one_program() {
        let (x, y) = (src(1.0), src(2.0));
        let s = build::reduce(ReduceKind::Sum, &unary(UnaryOp::Sin, &add(&x, &y)), None, false, 0).unwrap();
        let g = Fuse.run(ExprGraph::new(vec![s])).unwrap();
        let e = g.explain();
        assert_eq!(g.topo().len(), 3, "{e}");
        assert!(e.contains("sum(axes=[0]) <- fused[sin((in0 + in1))]"), "{e}");
        assert!(Fuse.run(g.clone()).unwrap().equivalent(&g));
    }

    #[test]
    fn shared_nodes_are_not_duplicated() {
        let x = src(1.0);
        let shared = unary(UnaryOp::Exp, &x);
        let a = unary(UnaryOp::Sin, &shared);
        let b = unary(UnaryOp::Cos, &shared);
        let g = Fuse.run(ExprGraph::new(vec![a, b])).unwrap();
        let e = g.explain();
        assert_eq!(e.matches("exp(").count(), 1, "{e}");
        assert_eq!(g.topo().len(), 4, "{e}");
    }

    #[test]
    fn an_input_used_twice_is_read_once() {
        let x = src(1.0);
        let sq = {
            let mut p = Program::with_inputs(vec![DType::F64, DType::F64]);
            let (a, b) = (p.input(0), p.input(1));
            let r = p.binary(BinaryOp::Mul, a, b);
            let e = unary(UnaryOp::Exp, &x);
            build::map(p.finish(r), vec![e, x.clone()]).unwrap()
        };
        let g = Fuse.run(ExprGraph::new(vec![sq])).unwrap();
        let e = g.explain();
        assert!(e.contains("map[(exp(in0) * in0)]"), "{e}");
        assert!(e.contains("(%0)"), "x is the only input: {e}");
    }
}
