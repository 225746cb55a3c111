//! Linear algebra as plain data: the operations behind `matmul`,
//! `tensordot` and `floe::linalg`, and the node builders that check their
//! shapes and line up their chunks. Lowering (`lower::linalg`) turns them into
//! block-product trees, TSQR trees and blocked factorizations.

use crate::chunks::{refine, Chunks};
use crate::error::{Error, Result};

use super::build::rechunk;
use super::{Node, NodeRef, Op};

/// A linear algebra operation of an `Op::Linalg` node.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LinalgOp {
    /// Contraction of `inputs[0]` along `axes_a` with `inputs[1]` along
    /// `axes_b` (pairwise); the result has the free axes of `a` then those of
    /// `b`. The inputs are chunked alike along each contracted pair.
    Tensordot { axes_a: Vec<usize>, axes_b: Vec<usize> },
    /// R (min(m, n) × n) of the TSQR of `inputs[0]`, a matrix of one column block.
    TsqrR,
    /// Q (m × min(m, n)) of the TSQR; inputs: the matrix and its `TsqrR` node
    /// (whose tree of factorizations Q reuses).
    TsqrQ,
    /// A dense kernel over inputs of one block each, giving one block.
    Dense(DenseOp),
    /// The 2-d transpose, block by block.
    Transpose,
    /// Lower Cholesky factor of a symmetric positive definite matrix whose
    /// two axes are chunked alike (blocked, right-looking; reads the lower triangle).
    Cholesky,
    /// LU with partial pivoting, blocked (see `lu.rs`): U of `a = P L U`
    /// (input: the matrix with square blocks).
    LuU,
    /// The row permutation of the LU as indices (input: the `LuU` node).
    LuPivots,
    /// L of the LU (inputs: the `LuU` and `LuPivots` nodes).
    LuL,
    /// P of the LU as a matrix (input: the `LuPivots` node).
    LuP,
    /// `L⁻¹ Pᵀ b` (inputs: the `LuU` node and b, its rows chunked like U's).
    LuForward,
    /// `a x = b` for a triangular `a` with square blocks (inputs a, b).
    SolveTriangular { lower: bool },
    /// NumPy's `matmul` of stacks of matrices: `a` (…, m, k) times `b`
    /// (…, k, n), both at least 2-d, the leading (batch) axes broadcast
    /// against each other (right-aligned). Chunked alike along k and along
    /// every batch axis neither input broadcasts along.
    BatchMatmul,
}

/// Kernels run on a whole (small) matrix in one task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DenseOp {
    /// Thin SVD factors of a matrix: U (m × k), S (k), Vᵀ (k × n), k = min(m, n).
    SvdU,
    SvdS,
    SvdVt,
    /// `r x = b` for upper triangular (or trapezoidal k × n, k ≥ n) `r` (inputs r, b).
    SolveUpper,
}

impl LinalgOp {
    pub fn name(&self) -> String {
        match self {
            LinalgOp::Tensordot { axes_a, axes_b } => format!("tensordot(axes_a={axes_a:?}, axes_b={axes_b:?})"),
            LinalgOp::TsqrR => "tsqr_r".into(),
            LinalgOp::TsqrQ => "tsqr_q".into(),
            LinalgOp::Dense(d) => format!("dense_{}", d.name()),
            LinalgOp::Transpose => "transpose".into(),
            LinalgOp::Cholesky => "cholesky".into(),
            LinalgOp::LuU => "lu_u".into(),
            LinalgOp::LuPivots => "lu_pivots".into(),
            LinalgOp::LuL => "lu_l".into(),
            LinalgOp::LuP => "lu_p".into(),
            LinalgOp::LuForward => "lu_forward".into(),
            LinalgOp::SolveTriangular { lower } => format!("solve_triangular(lower={lower})"),
            LinalgOp::BatchMatmul => "batch_matmul".into(),
        }
    }
}

impl DenseOp {
    pub fn name(self) -> &'static str {
        match self {
            DenseOp::SvdU => "svd_u",
            DenseOp::SvdS => "svd_s",
            DenseOp::SvdVt => "svd_vt",
            DenseOp::SolveUpper => "solve_upper",
        }
    }
}

/// [`node`] for a shape made of both operands' axes (it may not fit).
fn node_checked(op: LinalgOp, inputs: Vec<NodeRef>, shape: Vec<usize>, chunks: Chunks, dtype: crate::dtype::DType) -> Result<NodeRef> {
    Node::try_new(Op::Linalg { op, inputs }, shape, dtype, chunks)
}

pub(super) fn node(op: LinalgOp, inputs: Vec<NodeRef>, shape: Vec<usize>, chunks: Chunks, dtype: crate::dtype::DType) -> NodeRef {
    Node::new(Op::Linalg { op, inputs }, shape, dtype, chunks)
}

fn with_axis_chunks(n: &NodeRef, changes: &[(usize, Vec<usize>)]) -> NodeRef {
    let mut c = n.chunks.to_vec();
    for (ax, s) in changes {
        c[*ax] = s.clone();
    }
    rechunk(n, Chunks::from_sizes_unchecked(c))
}

/// `tensordot(a, b, axes_a, axes_b)`: checks axes and lengths, rechunks both
/// inputs to the common refinement of their chunks along each contracted pair.
pub fn tensordot(a: &NodeRef, b: &NodeRef, axes_a: &[usize], axes_b: &[usize]) -> Result<NodeRef> {
    let bad = |m: String| Err(Error::Shape(format!("tensordot of shapes {:?} and {:?}: {m}", a.shape, b.shape)));
    if a.dtype != b.dtype {
        return Err(Error::DType(format!("tensordot of {} and {}", a.dtype, b.dtype)));
    }
    if axes_a.len() != axes_b.len() {
        return bad(format!("{} axes of a ({axes_a:?}) but {} of b ({axes_b:?})", axes_a.len(), axes_b.len()));
    }
    for (axes, nd, who) in [(axes_a, a.shape.len(), "a"), (axes_b, b.shape.len(), "b")] {
        for (i, &x) in axes.iter().enumerate() {
            if x >= nd {
                return Err(crate::error::axis_err(x as isize, nd, &format!("tensordot: axis of {who}")));
            }
            if axes[..i].contains(&x) {
                return Err(crate::error::axis_err(x as isize, nd, &format!("tensordot: axis of {who} repeated")));
            }
        }
    }
    for (&x, &y) in axes_a.iter().zip(axes_b) {
        if a.shape[x] != b.shape[y] {
            return bad(format!("axis {x} of a has length {} but axis {y} of b has length {}", a.shape[x], b.shape[y]));
        }
    }
    let mut ca = Vec::new();
    let mut cb = Vec::new();
    for (&x, &y) in axes_a.iter().zip(axes_b) {
        if a.chunks.axis(x) != b.chunks.axis(y) {
            let common = refine(&[a.chunks.axis(x), b.chunks.axis(y)]);
            ca.push((x, common.clone()));
            cb.push((y, common));
        }
    }
    let a = with_axis_chunks(a, &ca);
    let b = with_axis_chunks(b, &cb);
    let mut shape = Vec::new();
    let mut sizes = Vec::new();
    for k in (0..a.shape.len()).filter(|k| !axes_a.contains(k)) {
        shape.push(a.shape[k]);
        sizes.push(a.chunks.axis(k).to_vec());
    }
    for k in (0..b.shape.len()).filter(|k| !axes_b.contains(k)) {
        shape.push(b.shape[k]);
        sizes.push(b.chunks.axis(k).to_vec());
    }
    let dtype = a.dtype;
    node_checked(
        LinalgOp::Tensordot { axes_a: axes_a.to_vec(), axes_b: axes_b.to_vec() },
        vec![a, b],
        shape,
        Chunks::from_sizes_unchecked(sizes),
        dtype,
    )
}

/// NumPy's `matmul` of two arrays of at least 2 dimensions (see
/// [`LinalgOp::BatchMatmul`]): checks the contracted lengths and that the
/// batch shapes broadcast, and lines up the chunks (common refinement along
/// k and along batch axes both inputs have longer than 1).
pub fn batch_matmul(a: &NodeRef, b: &NodeRef) -> Result<NodeRef> {
    let (na, nb) = (a.shape.len(), b.shape.len());
    if a.dtype != b.dtype {
        return Err(Error::DType(format!("matmul of {} and {}", a.dtype, b.dtype)));
    }
    if na < 2 || nb < 2 {
        return Err(Error::Shape(format!("batched matmul needs operands of at least 2 dimensions, got shapes {:?} and {:?}", a.shape, b.shape)));
    }
    let (k, k2) = (a.shape[na - 1], b.shape[nb - 2]);
    if k != k2 {
        return Err(Error::Shape(format!(
            "matmul: shapes {:?} and {:?} not aligned: {k} (axis {} of a) != {k2} (axis {} of b)",
            a.shape,
            b.shape,
            na - 1,
            nb - 2
        )));
    }
    let batch = super::build::broadcast_shapes(&[&a.shape[..na - 2], &b.shape[..nb - 2]]).map_err(|_| {
        Error::Shape(format!("matmul: the batch shapes of {:?} and {:?} do not broadcast", a.shape, b.shape))
    })?;
    let nbatch = batch.len();
    let (oa, ob) = (nbatch - (na - 2), nbatch - (nb - 2));
    let mut ca = Vec::new();
    let mut cb = Vec::new();
    let mut out_sizes: Vec<Vec<usize>> = Vec::with_capacity(nbatch + 2);
    for (t, &len) in batch.iter().enumerate() {
        // the inputs that do not broadcast along this axis, with their axis
        let xa = (t >= oa && !(a.shape[t - oa] == 1 && len != 1)).then(|| t - oa);
        let xb = (t >= ob && !(b.shape[t - ob] == 1 && len != 1)).then(|| t - ob);
        let sizes = match (xa, xb) {
            (Some(x), Some(y)) => {
                let common = refine(&[a.chunks.axis(x), b.chunks.axis(y)]);
                if a.chunks.axis(x) != common.as_slice() {
                    ca.push((x, common.clone()));
                }
                if b.chunks.axis(y) != common.as_slice() {
                    cb.push((y, common.clone()));
                }
                common
            }
            (Some(x), None) => a.chunks.axis(x).to_vec(),
            (None, Some(y)) => b.chunks.axis(y).to_vec(),
            (None, None) => vec![len],
        };
        out_sizes.push(sizes);
    }
    if a.chunks.axis(na - 1) != b.chunks.axis(nb - 2) {
        let common = refine(&[a.chunks.axis(na - 1), b.chunks.axis(nb - 2)]);
        ca.push((na - 1, common.clone()));
        cb.push((nb - 2, common));
    }
    let a = with_axis_chunks(a, &ca);
    let b = with_axis_chunks(b, &cb);
    out_sizes.push(a.chunks.axis(na - 2).to_vec());
    out_sizes.push(b.chunks.axis(nb - 1).to_vec());
    let mut shape = batch;
    shape.push(a.shape[na - 2]);
    shape.push(b.shape[nb - 1]);
    let dtype = a.dtype;
    let chunks = Chunks::checked(out_sizes)?;
    node_checked(LinalgOp::BatchMatmul, vec![a, b], shape, chunks, dtype)
}

/// The R factor of the TSQR of a matrix (its columns are made one block).
pub fn tsqr_r(a: &NodeRef) -> Result<NodeRef> {
    if a.shape.len() != 2 {
        return Err(Error::Shape(format!("tsqr needs a 2-d array, got shape {:?}", a.shape)));
    }
    let (m, n) = (a.shape[0], a.shape[1]);
    let a = with_axis_chunks(a, &[(1, vec![n])]);
    let k = m.min(n);
    let dtype = a.dtype;
    Ok(node(LinalgOp::TsqrR, vec![a], vec![k, n], Chunks::single(&[k, n]), dtype))
}

/// The Q factor of a TSQR, given the matrix and its `tsqr_r` node.
pub fn tsqr_q(r: &NodeRef) -> NodeRef {
    let a = r.inputs()[0].clone();
    let k = r.shape[0];
    let chunks = Chunks::from_sizes_unchecked(vec![a.chunks.axis(0).to_vec(), vec![k]]);
    node(LinalgOp::TsqrQ, vec![a.clone(), r.clone()], vec![a.shape[0], k], chunks, a.dtype)
}

/// A dense kernel: every input becomes one block, the output is one block.
pub fn dense(op: DenseOp, inputs: &[NodeRef]) -> Result<NodeRef> {
    let a = &inputs[0];
    if a.shape.len() != 2 {
        return Err(Error::Shape(format!("{} needs a 2-d matrix, got shape {:?}", op.name(), a.shape)));
    }
    let (m, n) = (a.shape[0], a.shape[1]);
    let k = m.min(n);
    let shape = match op {
        DenseOp::SvdU => vec![m, k],
        DenseOp::SvdS => vec![k],
        DenseOp::SvdVt => vec![k, n],
        DenseOp::SolveUpper => {
            if m < n {
                return Err(Error::Shape(format!("triangular solve needs rows >= columns, got shape {:?}", a.shape)));
            }
            let b = &inputs[1];
            if b.shape.is_empty() || b.shape.len() > 2 || b.shape[0] != m {
                return Err(Error::Shape(format!(
                    "{}: the right-hand side of shape {:?} does not fit the matrix of shape {:?}",
                    op.name(),
                    b.shape,
                    a.shape
                )));
            }
            let mut s = b.shape.clone();
            s[0] = n;
            s
        }
    };
    for i in inputs {
        if i.dtype != a.dtype {
            return Err(Error::DType(format!("{} of {} and {}", op.name(), a.dtype, i.dtype)));
        }
    }
    let ins: Vec<NodeRef> = inputs.iter().map(|i| rechunk(i, Chunks::single(&i.shape))).collect();
    let chunks = Chunks::single(&shape);
    Ok(node(LinalgOp::Dense(op), ins, shape, chunks, a.dtype))
}

/// The transpose of a 2-d array (block (i, j) of the result is block (j, i) transposed).
pub fn transpose(a: &NodeRef) -> Result<NodeRef> {
    if a.shape.len() != 2 {
        return Err(Error::Shape(format!("transpose: 2-d arrays only here, got shape {:?}", a.shape)));
    }
    let shape = vec![a.shape[1], a.shape[0]];
    let chunks = Chunks::from_sizes_unchecked(vec![a.chunks.axis(1).to_vec(), a.chunks.axis(0).to_vec()]);
    Ok(node(LinalgOp::Transpose, vec![a.clone()], shape, chunks, a.dtype))
}

/// Blocked Cholesky: the columns are chunked like the rows.
pub fn cholesky(a: &NodeRef) -> Result<NodeRef> {
    if a.shape.len() != 2 || a.shape[0] != a.shape[1] {
        return Err(Error::Shape(format!("cholesky needs a square 2-d matrix, got shape {:?}", a.shape)));
    }
    let rows = a.chunks.axis(0).to_vec();
    let a = with_axis_chunks(a, &[(1, rows)]);
    let (shape, chunks, dtype) = (a.shape.clone(), a.chunks.clone(), a.dtype);
    Ok(node(LinalgOp::Cholesky, vec![a], shape, chunks, dtype))
}
