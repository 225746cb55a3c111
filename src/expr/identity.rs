//! Structural node identity: when two nodes compute the same values.
//!
//! Two nodes are the same only when every parameter of their operations is
//! equal in full — index lists, slice bounds, chunk lists, programs and
//! scalars bit for bit, in-memory data and block functions by the very
//! object they hold, stored arrays by store and metadata — and their inputs
//! are the same nodes. Display text ([`Node::signature`]) abbreviates long
//! parameters and is never used for this; [`candidate_hash`] only narrows
//! the search, [`same_node`] decides.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::{ExprGraph, Halo, Node, Op, Source};

/// Whether `a` and `b` compute the same values: equal shape, dtype and
/// chunks, the same operation with every parameter equal in full, and the
/// same input nodes (by id) in the same order.
pub fn same_node(a: &Node, b: &Node) -> bool {
    a.id == b.id || same_node_with(a, b, |p, q| p == q)
}

/// [`same_node`] with `same_input(id of an input of a, id of b's)` deciding
/// whether two inputs are the same node.
fn same_node_with(a: &Node, b: &Node, same_input: impl Fn(u64, u64) -> bool) -> bool {
    let (x, y) = (a.inputs(), b.inputs());
    a.shape == b.shape
        && a.dtype == b.dtype
        && a.chunks == b.chunks
        && x.len() == y.len()
        && x.iter().zip(&y).all(|(p, q)| same_input(p.id, q.id))
        && same_op(&a.op, &b.op)
}

/// Whether two graphs compute the same way: node for node in topological
/// order, the same operations with the same parameters over corresponding
/// inputs, and corresponding roots.
pub fn same_graph(a: &ExprGraph, b: &ExprGraph) -> bool {
    let (x, y) = (a.topo(), b.topo());
    if x.len() != y.len() || a.roots.len() != b.roots.len() {
        return false;
    }
    let mut map: HashMap<u64, u64> = HashMap::new();
    for (p, q) in x.iter().zip(&y) {
        if !same_node_with(p, q, |i, j| map.get(&i) == Some(&j)) {
            return false;
        }
        map.insert(p.id, q.id);
    }
    a.roots.iter().zip(&b.roots).all(|(p, q)| map.get(&p.id) == Some(&q.id))
}

/// Whether two operations have equal parameters (inputs are not compared).
fn same_op(a: &Op, b: &Op) -> bool {
    match (a, b) {
        (Op::Source(x), Op::Source(y)) => same_source(x, y),
        (Op::Map { program: p, .. }, Op::Map { program: q, .. }) => p == q,
        (Op::Reduce { spec: s, program: p, .. }, Op::Reduce { spec: t, program: q, .. }) => s == t && p == q,
        (Op::Scan { kind: k, axis: a, .. }, Op::Scan { kind: l, axis: b, .. }) => k == l && a == b,
        (Op::Rechunk { .. }, Op::Rechunk { .. }) => true,
        (Op::Concat { axis: a, .. }, Op::Concat { axis: b, .. }) => a == b,
        (Op::ExpandDims { axis: a, .. }, Op::ExpandDims { axis: b, .. }) => a == b,
        (Op::Slice { axes: a, .. }, Op::Slice { axes: b, .. }) => a == b,
        (Op::Squeeze { axes: a, .. }, Op::Squeeze { axes: b, .. }) => a == b,
        (Op::Transpose { perm: a, .. }, Op::Transpose { perm: b, .. }) => a == b,
        (Op::Gather { maps: m, fill: f, .. }, Op::Gather { maps: n, fill: g, .. }) => {
            f == g
                && m.len() == n.len()
                && m.iter().zip(n).all(|(x, y)| match (x, y) {
                    (None, None) => true,
                    (Some(x), Some(y)) => Arc::ptr_eq(x, y) || x == y,
                    _ => false,
                })
        }
        (Op::Reshape { .. }, Op::Reshape { .. }) => true,
        (Op::BroadcastTo { .. }, Op::BroadcastTo { .. }) => true,
        (Op::Diagonal { offset: a, .. }, Op::Diagonal { offset: b, .. }) => a == b,
        (Op::Diag { offset: a, .. }, Op::Diag { offset: b, .. }) => a == b,
        (
            Op::MapBlocks { func: f, axes: a, halo: h, .. },
            Op::MapBlocks { func: g, axes: b, halo: k, .. },
        ) => f.name == g.name && Arc::ptr_eq(&f.func, &g.func) && a == b && same_halo(h, k),
        (Op::Linalg { op: a, .. }, Op::Linalg { op: b, .. }) => a == b,
        _ => false,
    }
}

fn same_halo(a: &Option<Halo>, b: &Option<Halo>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.depth == b.depth && a.boundary == b.boundary && a.fill == b.fill,
        _ => false,
    }
}

fn same_source(a: &Source, b: &Source) -> bool {
    let bits = |v: f64| v.to_bits();
    match (a, b) {
        // the same data object (both Arcs are alive, so this is identity)
        (Source::Data(x), Source::Data(y)) => Arc::ptr_eq(x, y),
        (Source::Full(x), Source::Full(y)) => x == y,
        (Source::Arange { start: a, step: s }, Source::Arange { start: b, step: t }) => a == b && s == t,
        (Source::Linspace { start: a, stop: b, num: n }, Source::Linspace { start: c, stop: d, num: m }) => {
            bits(*a) == bits(*c) && bits(*b) == bits(*d) && n == m
        }
        (Source::Eye, Source::Eye) => true,
        (
            Source::Random { dist: d, a, b, seed: s },
            Source::Random { dist: e, a: c, b: f, seed: t },
        ) => d == e && bits(*a) == bits(*c) && bits(*b) == bits(*f) && s == t,
        (Source::Stored { array: x, origin: o }, Source::Stored { array: y, origin: p }) => {
            o == p && (Arc::ptr_eq(x, y) || x.same_array(y.as_ref()))
        }
        _ => false,
    }
}

/// A hash of the parts of a node that [`same_node`] compares and that are
/// cheap to hash: equal nodes have equal hashes; unequal nodes may too.
pub fn candidate_hash(n: &Node) -> u64 {
    let mut h = DefaultHasher::new();
    std::mem::discriminant(&n.op).hash(&mut h);
    n.shape.hash(&mut h);
    n.dtype.hash(&mut h);
    for i in n.inputs() {
        i.id.hash(&mut h);
    }
    match &n.op {
        Op::Map { program, .. } => program.hash(&mut h),
        Op::Reduce { spec, program, .. } => (spec, program).hash(&mut h),
        Op::Gather { maps, fill, .. } => {
            fill.hash(&mut h);
            for m in maps {
                m.as_ref().map(|v| (v.len(), v.first(), v.last())).hash(&mut h);
            }
        }
        Op::Source(Source::Full(v)) => v.hash(&mut h),
        Op::Source(Source::Random { seed, .. }) => seed.hash(&mut h),
        _ => {}
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunks::Chunks;
    use crate::dtype::{DType, Scalar};
    use crate::expr::{build, shape_ops, Program, ReduceKind};

    fn src(v: f64) -> crate::expr::NodeRef {
        build::source(Source::Full(Scalar::F64(v)), vec![40], DType::F64, Chunks::single(&[40]))
    }

    #[test]
    fn long_index_lists_differing_in_one_entry_are_different() {
        let x = src(1.0);
        let a: Vec<i64> = (0..31).collect();
        let mut b = a.clone();
        b[30] = 39;
        let take = |m: &Vec<i64>| shape_ops::gather(&x, vec![Some(m.clone())], Scalar::F64(0.0), None).unwrap();
        let (ta, tb) = (take(&a), take(&b));
        // the display text is the same; the nodes are not
        assert_eq!(ta.signature(), tb.signature());
        assert!(!same_node(&ta, &tb));
        let tc = take(&a);
        assert!(same_node(&ta, &tc));
        assert_eq!(candidate_hash(&ta), candidate_hash(&tc));
    }

    #[test]
    fn scalars_compare_bit_for_bit() {
        assert!(!same_node(&src(0.0), &src(-0.0)));
        assert!(same_node(&src(f64::NAN), &src(f64::NAN)));
        let x = src(1.0);
        let scaled = |c: f64| {
            let mut p = Program::with_inputs(vec![DType::F64]);
            let a = p.input(0);
            let k = p.constant(Scalar::F64(c));
            let m = p.binary(crate::expr::BinaryOp::Mul, a, k);
            build::map(p.finish(m), vec![x.clone()]).unwrap()
        };
        assert!(!same_node(&scaled(0.0), &scaled(-0.0)));
        assert!(!same_node(&scaled(1.0), &scaled(1.0 + f64::EPSILON)));
        assert!(same_node(&scaled(2.0), &scaled(2.0)));
    }

    #[test]
    fn graphs_compare_node_for_node() {
        let take = |x: &crate::expr::NodeRef, last: i64| {
            let m: Vec<i64> = (0..30).chain([last]).collect();
            shape_ops::gather(x, vec![Some(m)], Scalar::F64(0.0), None).unwrap()
        };
        let (x, y) = (src(1.0), src(1.0));
        let g = |x: &crate::expr::NodeRef, last| ExprGraph::new(vec![take(x, last)]);
        assert!(same_graph(&g(&x, 39), &g(&y, 39)));
        assert!(!same_graph(&g(&x, 39), &g(&y, 38)));
        assert!(!same_graph(&g(&x, 39), &g(&src(2.0), 39)));
    }

    #[test]
    fn reductions_differ_by_every_parameter() {
        let x = build::source(Source::Full(Scalar::F64(1.0)), vec![4, 5], DType::F64, Chunks::single(&[4, 5]));
        let r = |k, axes: &[usize], keep, ddof| build::reduce(k, &x, Some(axes), keep, ddof).unwrap();
        let base = r(ReduceKind::Var, &[0], false, 0);
        assert!(same_node(&base, &r(ReduceKind::Var, &[0], false, 0)));
        assert!(!same_node(&base, &r(ReduceKind::Var, &[0], false, 1)));
        assert!(!same_node(&base, &r(ReduceKind::Var, &[1], false, 0)));
        assert!(!same_node(&base, &r(ReduceKind::Std, &[0], false, 0)));
    }
}
