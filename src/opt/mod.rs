//! The optimizer: an explicit, ordered list of passes over the expression
//! graph, one file each. Every pass is idempotent (tested) and `sanity` runs
//! last.

pub mod cse;
pub mod fuse;
pub mod rechunk_merge;
pub mod sanity;
pub mod slice_pushdown;

use crate::error::Result;
use crate::expr::ExprGraph;

/// One rewrite of the expression graph.
pub trait Pass: Send + Sync {
    fn name(&self) -> &'static str;
    fn run(&self, g: ExprGraph) -> Result<ExprGraph>;
}

/// The ordered list of passes.
pub struct Pipeline {
    pub passes: Vec<Box<dyn Pass>>,
}

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline {
            passes: vec![
                // first: slices move to the sources, so only selected elements are
                // computed or read (may add rechunks, merged next)
                Box::new(slice_pushdown::SlicePushdown),
                // then: a rechunk of a rechunk becomes one, and a rechunk to the chunks
                // the array already has disappears, so later passes see the real chains
                Box::new(rechunk_merge::RechunkMerge),
                // before fusion: equal subexpressions become one node with several readers,
                // which fusion then keeps (it never duplicates a shared node)
                Box::new(cse::Cse),
                // elementwise chains become one Program; a chain that feeds a reduction
                // becomes that reduction's Program (the fused block never exists)
                Box::new(fuse::Fuse),
                // last: check the invariants lowering relies on
                Box::new(sanity::Sanity),
            ],
        }
    }
}

impl Pipeline {
    pub fn run(&self, mut g: ExprGraph) -> Result<ExprGraph> {
        for p in &self.passes {
            g = p.run(g)?;
        }
        Ok(g)
    }
}
