//! Text form of an expression graph: one node a line, inputs first.

use std::collections::HashMap;

use super::ExprGraph;

impl ExprGraph {
    /// One node a line: `%k = <operation> <dtype> <shape> chunks=<..> (<inputs>)`,
    /// numbered in topological order; outputs are marked.
    pub fn explain(&self) -> String {
        let order = self.topo();
        let mut num: HashMap<u64, usize> = HashMap::new();
        let mut out = String::new();
        for (k, n) in order.iter().enumerate() {
            num.insert(n.id, k);
            let ins: Vec<String> = n.inputs().iter().map(|i| format!("%{}", num[&i.id])).collect();
            let outputs: Vec<String> = self
                .roots
                .iter()
                .enumerate()
                .filter(|(_, r)| r.id == n.id)
                .map(|(i, _)| format!("output {i}"))
                .collect();
            out.push_str(&format!("%{k} = {}", n.signature()));
            out.push_str(&format!(" blocks={}", n.chunks.nblocks()));
            if !ins.is_empty() {
                out.push_str(&format!(" ({})", ins.join(", ")));
            }
            if !outputs.is_empty() {
                out.push_str(&format!("  <- {}", outputs.join(", ")));
            }
            out.push('\n');
        }
        out
    }
}
