//! Merge rechunks: `rechunk(rechunk(x, a), b)` becomes `rechunk(x, b)`, a
//! rechunk to the chunks its input already has disappears, and a rechunk of
//! a reproducible source (constants, ranges, random numbers, stored arrays)
//! becomes that source with the new chunks: its blocks are made (or read)
//! directly in the new shape, never assembled from pieces.

use super::Pass;
use crate::error::Result;
use crate::expr::graph::with_new_inputs;
use crate::expr::{build, ExprGraph, Op};

pub struct RechunkMerge;

impl Pass for RechunkMerge {
    fn name(&self) -> &'static str {
        "rechunk_merge"
    }
    fn run(&self, g: ExprGraph) -> Result<ExprGraph> {
        Ok(g.rewrite(|n, ins| match &n.op {
            Op::Rechunk { .. } => {
                let mut src = ins[0].clone();
                while let Op::Rechunk { input } = &src.op {
                    src = input.clone();
                }
                if src.chunks == n.chunks {
                    src
                } else if let Op::Source(s) = &src.op {
                    if s.reproducible() {
                        build::source(s.clone(), src.shape.clone(), src.dtype, n.chunks.clone())
                    } else {
                        build::rechunk(&src, n.chunks.clone())
                    }
                } else if src.id == ins[0].id && ins[0].id == n.inputs()[0].id {
                    n.clone()
                } else {
                    build::rechunk(&src, n.chunks.clone())
                }
            }
            _ => with_new_inputs(n, ins),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunks::Chunks;
    use crate::dtype::{DType, Scalar};
    use crate::expr::Source;

    #[test]
    fn consecutive_rechunks_merge_and_noops_vanish() {
        let c = |v: Vec<usize>| Chunks::new(&[6], vec![v]).unwrap();
        let x = build::source(Source::Data(std::sync::Arc::new(0u8)), vec![6], DType::F64, c(vec![3, 3]));
        let a = build::rechunk(&x, c(vec![2, 2, 2]));
        let b = build::rechunk(&a, c(vec![1, 5]));
        let back = build::rechunk(&a, c(vec![3, 3]));
        let g = RechunkMerge.run(ExprGraph::new(vec![b.clone(), back])).unwrap();
        let e = g.explain();
        assert_eq!(e.matches("rechunk").count(), 1, "{e}");
        assert!(g.roots[1].id == x.id);
        let again = RechunkMerge.run(g.clone()).unwrap();
        assert!(again.same_as(&g));
    }

    #[test]
    fn rechunks_of_reproducible_sources_become_the_source() {
        let c = |v: Vec<usize>| Chunks::new(&[6], vec![v]).unwrap();
        let x = build::source(Source::Full(Scalar::F64(1.0)), vec![6], DType::F64, c(vec![3, 3]));
        let r = build::rechunk(&build::rechunk(&x, c(vec![2, 2, 2])), c(vec![1, 5]));
        let g = RechunkMerge.run(ExprGraph::new(vec![r])).unwrap();
        let e = g.explain();
        assert_eq!(e.matches("rechunk").count(), 0, "{e}");
        assert!(matches!(g.roots[0].op, Op::Source(Source::Full(_))));
        assert_eq!(g.roots[0].chunks, c(vec![1, 5]));
    }
}
