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
}

/// Kernels run on a whole (small) matrix in one task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DenseOp {
    /// Thin SVD factors of a matrix: U (m × k), S (k), Vᵀ (k × n), k = min(m, n).
    SvdU,
    SvdS,
    SvdVt,
    /// Inverse by LU with partial pivoting.
    Inv,
    /// `a x = b` by LU with partial pivoting (inputs a, b).
    Solve,
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
        }
    }
}

impl DenseOp {
    pub fn name(self) -> &'static str {
        match self {
            DenseOp::SvdU => "svd_u",
            DenseOp::SvdS => "svd_s",
            DenseOp::SvdVt => "svd_vt",
            DenseOp::Inv => "inv",
            DenseOp::Solve => "solve",
            DenseOp::SolveUpper => "solve_upper",
        }
    }
}

fn node(op: LinalgOp, inputs: Vec<NodeRef>, shape: Vec<usize>, chunks: Chunks, dtype: crate::dtype::DType) -> NodeRef {
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
    Ok(node(
        LinalgOp::Tensordot { axes_a: axes_a.to_vec(), axes_b: axes_b.to_vec() },
        vec![a, b],
        shape,
        Chunks::from_sizes_unchecked(sizes),
        dtype,
    ))
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
    let sq = |what: &str| -> Result<()> {
        if a.shape.len() != 2 || a.shape[0] != a.shape[1] {
            return Err(Error::Shape(format!("{what} needs a square 2-d matrix, got shape {:?}", a.shape)));
        }
        Ok(())
    };
    if a.shape.len() != 2 {
        return Err(Error::Shape(format!("{} needs a 2-d matrix, got shape {:?}", op.name(), a.shape)));
    }
    let (m, n) = (a.shape[0], a.shape[1]);
    let k = m.min(n);
    let shape = match op {
        DenseOp::SvdU => vec![m, k],
        DenseOp::SvdS => vec![k],
        DenseOp::SvdVt => vec![k, n],
        DenseOp::Inv => {
            sq("inv")?;
            vec![m, m]
        }
        DenseOp::Solve | DenseOp::SolveUpper => {
            if op == DenseOp::Solve {
                sq("solve")?;
            } else if m < n {
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
