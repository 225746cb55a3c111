//! Common-subexpression elimination: nodes with the same operation and the
//! same inputs become one node.

use std::collections::HashMap;

use super::Pass;
use crate::error::Result;
use crate::expr::graph::with_new_inputs;
use crate::expr::{ExprGraph, NodeRef, Op};

pub struct Cse;

fn key(n: &NodeRef, ins: &[NodeRef]) -> String {
    let prog = match &n.op {
        Op::Map { program, .. } | Op::Reduce { program, .. } => format!("{program:?}"),
        _ => String::new(),
    };
    let ids: Vec<String> = ins.iter().map(|i| i.id.to_string()).collect();
    // the signature abbreviates long chunk lists: the key carries them whole
    format!("{}|{:?}|{prog}|{}", n.signature(), n.chunks.as_slice(), ids.join(","))
}

impl Pass for Cse {
    fn name(&self) -> &'static str {
        "cse"
    }
    fn run(&self, g: ExprGraph) -> Result<ExprGraph> {
        let mut seen: HashMap<String, NodeRef> = HashMap::new();
        Ok(g.rewrite(|n, ins| {
            let k = key(n, &ins);
            if let Some(existing) = seen.get(&k) {
                return existing.clone();
            }
            let new = with_new_inputs(n, ins);
            seen.insert(k, new.clone());
            new
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunks::Chunks;
    use crate::dtype::{DType, Scalar};
    use crate::expr::{build, Program, Source, UnaryOp};

    #[test]
    fn equal_subexpressions_become_one() {
        let x = build::source(Source::Full(Scalar::F64(1.0)), vec![4], DType::F64, Chunks::single(&[4]));
        let sin = || {
            let mut p = Program::with_inputs(vec![DType::F64]);
            let a = p.input(0);
            let s = p.unary(UnaryOp::Sin, a);
            build::map(p.finish(s), vec![x.clone()]).unwrap()
        };
        let (a, b) = (sin(), sin());
        assert_ne!(a.id, b.id);
        let g = Cse.run(ExprGraph::new(vec![a, b])).unwrap();
        assert_eq!(g.roots[0].id, g.roots[1].id);
        assert_eq!(g.topo().len(), 2);
        assert!(Cse.run(g.clone()).unwrap().same_as(&g));
    }
}
