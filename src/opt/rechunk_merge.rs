//! Merge rechunks: `rechunk(rechunk(x, a), b)` becomes `rechunk(x, b)`, a
//! rechunk to the chunks its input already has disappears, and a rechunk of
//! a reproducible source (constants, ranges, random numbers, stored arrays)
//! becomes that source with the new chunks: its blocks are made (or read)
//! directly in the new shape, never assembled from pieces.

use super::Pass;
use crate::error::Result;
use crate::expr::graph::with_new_inputs;
use crate::chunks::Chunks;
use crate::expr::{build, ExprGraph, Op, Source};

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
                let folded = match &src.op {
                    Op::Source(s)
                        if s.reproducible()
                            && (!matches!(s, Source::Stored { .. })
                                || read_amplification(&src.chunks, &n.chunks) <= 2.0) =>
                    {
                        Some(build::source(s.clone(), src.shape.clone(), src.dtype, n.chunks.clone()))
                    }
                    _ => None,
                };
                if src.chunks == n.chunks {
                    src
                } else if let Some(f) = folded {
                    f
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

/// How many times each stored element is decoded when every block of `to`
/// reads the blocks of `from` it overlaps (1.0: each stored block once).
/// A stored source is read in the new chunks directly only when this is
/// small; otherwise each stored block is read once and cut up by a rechunk.
pub fn read_amplification(from: &Chunks, to: &Chunks) -> f64 {
    let mut f = 1.0;
    for k in 0..from.ndim() {
        let len: usize = from.axis(k).iter().sum();
        if len == 0 {
            return 1.0;
        }
        let fb = from.bounds(k);
        let mut read = 0usize;
        let mut at = 0usize;
        for &b in to.axis(k) {
            if b == 0 {
                continue;
            }
            // old blocks overlapping [at, at + b)
            let first = fb.partition_point(|&e| e <= at).saturating_sub(1);
            let mut i = first;
            while i + 1 < fb.len() && fb[i] < at + b {
                read += fb[i + 1] - fb[i];
                i += 1;
            }
            at += b;
        }
        f *= read as f64 / len as f64;
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn amplification_counts_overlapping_stored_blocks() {
        let c = |v: Vec<Vec<usize>>| Chunks::new(&[v[0].iter().sum(), v[1].iter().sum()], v).unwrap();
        let cols = c(vec![vec![100], vec![10; 10]]);
        let rows = c(vec![vec![10; 10], vec![100]]);
        assert_eq!(read_amplification(&cols, &cols), 1.0);
        assert_eq!(read_amplification(&cols, &rows), 10.0);
        let halves = c(vec![vec![100], vec![5; 20]]);
        assert_eq!(read_amplification(&cols, &halves), 2.0);
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
