//! Sanity: the invariants lowering relies on, checked last. Elementwise and
//! reduction inputs broadcast to the node and are chunked like it; program
//! input types match the inputs.

use super::Pass;
use crate::error::{Error, Result};
use crate::expr::build::{is_broadcast_axis, layout};
use crate::expr::{ExprGraph, Op};

pub struct Sanity;

impl Pass for Sanity {
    fn name(&self) -> &'static str {
        "sanity"
    }
    fn run(&self, g: ExprGraph) -> Result<ExprGraph> {
        for n in g.topo() {
            let (program, inputs) = match &n.op {
                Op::Map { program, inputs } | Op::Reduce { program, inputs, .. } => (program, inputs),
                _ => continue,
            };
            let bad = |m: String| Err(Error::Execution(format!("internal: optimizer produced a bad plan: {m}\n{}", g.explain())));
            if program.n_inputs() != inputs.len() {
                return bad(format!("program inputs {} vs node inputs {}", program.n_inputs(), inputs.len()));
            }
            for (i, d) in inputs.iter().zip(program.input_dtypes()) {
                if i.dtype != *d {
                    return bad(format!("input type {} vs program input {}", i.dtype, d));
                }
            }
            let (shape, chunks) = layout(inputs)?;
            if let Op::Map { .. } = &n.op {
                if shape != n.shape || chunks != n.chunks {
                    return bad(format!("map of shape {:?} over inputs of layout {shape:?}", n.shape));
                }
            }
            for i in inputs {
                let off = shape.len() - i.shape.len();
                for k in 0..i.shape.len() {
                    if is_broadcast_axis(&i.shape, k, &shape) && i.chunks.axis(k) != [1] {
                        return bad(format!("broadcast axis {k} of an input is not one block"));
                    }
                    if !is_broadcast_axis(&i.shape, k, &shape) && i.chunks.axis(k) != chunks.axis(k + off) {
                        return bad(format!("input chunks {:?} not aligned on axis {k}", i.chunks.axis(k)));
                    }
                }
            }
        }
        Ok(g)
    }
}
