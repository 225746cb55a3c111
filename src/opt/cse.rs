//! Common-subexpression elimination: nodes with the same operation and the
//! same inputs become one node. "The same" is structural
//! ([`crate::expr::identity::same_node`]: every parameter compared in full); a hash of
//! the cheap parts only finds the candidates.

use std::collections::HashMap;

use super::Pass;
use crate::error::Result;
use crate::expr::graph::with_new_inputs;
use crate::expr::identity::{candidate_hash, same_node};
use crate::expr::{ExprGraph, NodeRef};

pub struct Cse;

impl Pass for Cse {
    fn name(&self) -> &'static str {
        "cse"
    }
    fn run(&self, g: ExprGraph) -> Result<ExprGraph> {
        let mut seen: HashMap<u64, Vec<NodeRef>> = HashMap::new();
        Ok(g.rewrite(|n, ins| {
            let new = with_new_inputs(n, ins);
            let bucket = seen.entry(candidate_hash(&new)).or_default();
            if let Some(existing) = bucket.iter().find(|c| same_node(c, &new)) {
                return existing.clone();
            }
            bucket.push(new.clone());
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

    #[test]
    fn takes_with_long_lists_differing_in_one_position_stay_apart() {
        // the hour-of-day climatology: takes of 31 positions each
        let x = build::source(Source::Full(Scalar::F64(1.0)), vec![744], DType::F64, Chunks::single(&[744]));
        let take = |h: i64| {
            let m: Vec<i64> = (0..31).map(|d| d * 24 + h).collect();
            crate::expr::shape_ops::gather(&x, vec![Some(m)], Scalar::F64(0.0), None).unwrap()
        };
        let (a, b, c) = (take(0), take(1), take(0));
        let g = Cse.run(ExprGraph::new(vec![a, b, c])).unwrap();
        assert_ne!(g.roots[0].id, g.roots[1].id);
        assert_eq!(g.roots[0].id, g.roots[2].id);
        assert!(Cse.run(g.clone()).unwrap().same_as(&g));
    }
}
