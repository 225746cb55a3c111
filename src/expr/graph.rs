//! `ExprGraph`: the nodes reachable from a set of roots, in topological order.

use std::collections::HashMap;

use super::NodeRef;

/// A whole-array expression graph with one or more outputs (roots).
#[derive(Clone, Debug)]
pub struct ExprGraph {
    pub roots: Vec<NodeRef>,
}

impl ExprGraph {
    pub fn new(roots: Vec<NodeRef>) -> ExprGraph {
        ExprGraph { roots }
    }

    /// Every reachable node once, inputs before the nodes that use them.
    pub fn topo(&self) -> Vec<NodeRef> {
        let mut seen: HashMap<u64, ()> = HashMap::new();
        let mut out = Vec::new();
        // iterative post-order DFS (graphs can be deep: long elementwise chains)
        let mut stack: Vec<(NodeRef, usize)> = Vec::new();
        for r in &self.roots {
            if seen.contains_key(&r.id) {
                continue;
            }
            stack.push((r.clone(), 0));
            seen.insert(r.id, ());
            while let Some((n, i)) = stack.pop() {
                let ins = n.inputs();
                if i < ins.len() {
                    let child = ins[i].clone();
                    stack.push((n, i + 1));
                    if seen.insert(child.id, ()).is_none() {
                        stack.push((child, 0));
                    }
                } else {
                    out.push(n);
                }
            }
        }
        out
    }

    /// How many times each node is used as an input (roots count once more
    /// each: a result is a use).
    pub fn consumers(&self) -> HashMap<u64, usize> {
        let mut c: HashMap<u64, usize> = HashMap::new();
        for n in self.topo() {
            c.entry(n.id).or_insert(0);
            for i in n.inputs() {
                *c.entry(i.id).or_insert(0) += 1;
            }
        }
        for r in &self.roots {
            *c.entry(r.id).or_insert(0) += 1;
        }
        c
    }

    /// Rebuild the graph bottom-up: `f` gets each node (inputs already
    /// rewritten, given as the second argument) and returns its replacement.
    pub fn rewrite(&self, mut f: impl FnMut(&NodeRef, Vec<NodeRef>) -> NodeRef) -> ExprGraph {
        let mut done: HashMap<u64, NodeRef> = HashMap::new();
        for n in self.topo() {
            let ins: Vec<NodeRef> = n.inputs().iter().map(|i| done[&i.id].clone()).collect();
            let new = f(&n, ins);
            done.insert(n.id, new);
        }
        ExprGraph { roots: self.roots.iter().map(|r| done[&r.id].clone()).collect() }
    }

    /// Whether two graphs are the same nodes (by identity), for idempotency tests.
    pub fn same_as(&self, other: &ExprGraph) -> bool {
        let a: Vec<u64> = self.topo().iter().map(|n| n.id).collect();
        let b: Vec<u64> = other.topo().iter().map(|n| n.id).collect();
        a == b
    }

    /// Whether the two graphs compute the same way: the same operations with
    /// every parameter equal in full, node for node (see [`super::identity`]).
    pub fn equivalent(&self, other: &ExprGraph) -> bool {
        super::identity::same_graph(self, other)
    }
}

/// Rebuild `n` with new inputs, keeping the node itself when nothing changed.
pub fn with_new_inputs(n: &NodeRef, ins: Vec<NodeRef>) -> NodeRef {
    let same = n.inputs().iter().zip(&ins).all(|(a, b)| a.id == b.id);
    if same {
        return n.clone();
    }
    super::Node::new(n.with_inputs(ins), n.shape.clone(), n.dtype, n.chunks.clone())
}
