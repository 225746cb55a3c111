//! LU with partial pivoting and triangular solves as plain data: the node
//! builders behind `floe::linalg::{lu, solve, inv, solve_triangular}`. They
//! check shapes and make the blocks square (the columns of the matrix are
//! chunked like its rows, right-hand sides like its rows); lowering
//! (`lower::lu`) turns them into the blocked right-looking factorization.
//!
//! The factorization is anchored on its U node (`LuU`): the L, P and
//! pivot nodes and the forward substitution of a right-hand side take the
//! U node as their first input and reuse the factorization's layers.

use crate::chunks::{refine, Chunks};
use crate::dtype::DType;
use crate::error::{Error, Result};

use super::build::rechunk;
use super::linalg::{node, LinalgOp};
use super::NodeRef;

/// The order of a square 2-d matrix, or a shape error naming `what`.
fn square(what: &str, a: &NodeRef) -> Result<usize> {
    if a.shape.len() != 2 || a.shape[0] != a.shape[1] {
        return Err(Error::Shape(format!("{what} needs a square 2-d matrix, got shape {:?}", a.shape)));
    }
    Ok(a.shape[0])
}

/// `a` with square blocks: both axes chunked as the common refinement of
/// its row and column chunks (no block larger than either).
fn square_blocks(a: &NodeRef) -> NodeRef {
    let c = refine(&[a.chunks.axis(0), a.chunks.axis(1)]);
    rechunk(a, Chunks::from_sizes_unchecked(vec![c.clone(), c]))
}

/// A right-hand side (vector or matrix) of `n` rows, its rows chunked as `rows`.
fn rhs(what: &str, a: &NodeRef, b: &NodeRef, rows: &[usize]) -> Result<NodeRef> {
    let n = a.shape[0];
    if b.shape.is_empty() || b.shape.len() > 2 || b.shape[0] != n {
        return Err(Error::Shape(format!(
            "{what}: the right-hand side of shape {:?} does not fit the matrix of shape {:?}",
            b.shape, a.shape
        )));
    }
    if b.dtype != a.dtype {
        return Err(Error::DType(format!("{what} of {} and {}", a.dtype, b.dtype)));
    }
    let mut c = b.chunks.to_vec();
    c[0] = rows.to_vec();
    Ok(rechunk(b, Chunks::from_sizes_unchecked(c)))
}

/// The U factor of `a = P L U` (upper triangular, square blocks); lowering
/// builds the whole blocked factorization from this node.
pub fn lu_u(a: &NodeRef) -> Result<NodeRef> {
    let n = square("lu", a)?;
    let a = square_blocks(a);
    let (chunks, dtype) = (a.chunks.clone(), a.dtype);
    Ok(node(LinalgOp::LuU, vec![a], vec![n, n], chunks, dtype))
}

/// The row permutation of the factorization as indices (i64, chunked like
/// the rows): row `r` of `L U` is row `perm[r]` of `a`.
pub fn lu_pivots(u: &NodeRef) -> NodeRef {
    let rows = u.chunks.axis(0).to_vec();
    node(LinalgOp::LuPivots, vec![u.clone()], vec![u.shape[0]], Chunks::from_sizes_unchecked(vec![rows]), DType::I64)
}

/// The unit lower triangular L factor (chunked like U).
pub fn lu_l(u: &NodeRef, pivots: &NodeRef) -> NodeRef {
    node(LinalgOp::LuL, vec![u.clone(), pivots.clone()], u.shape.clone(), u.chunks.clone(), u.dtype)
}

/// The permutation matrix P of `a = P L U` (element type `dtype`, square blocks).
pub fn lu_p(pivots: &NodeRef, dtype: DType) -> NodeRef {
    let rows = pivots.chunks.axis(0).to_vec();
    let n = pivots.shape[0];
    node(LinalgOp::LuP, vec![pivots.clone()], vec![n, n], Chunks::from_sizes_unchecked(vec![rows.clone(), rows]), dtype)
}

/// `y = L⁻¹ Pᵀ b`: the forward substitution of `b` through the factorization
/// of U node `u`, done step by step beside it (the row swaps and
/// eliminations of each step applied to b's columns), so L is never formed.
pub fn lu_forward(u: &NodeRef, b: &NodeRef) -> Result<NodeRef> {
    let b = rhs("solve", u, b, u.chunks.axis(0))?;
    let (shape, chunks, dtype) = (b.shape.clone(), b.chunks.clone(), b.dtype);
    Ok(node(LinalgOp::LuForward, vec![u.clone(), b], shape, chunks, dtype))
}

/// `x` with `a x = b` for a triangular `a` (only its `lower` or upper
/// triangle is read), by blocks: row block i of x from the blocks of x
/// before it (after it, for an upper `a`).
pub fn solve_triangular(a: &NodeRef, b: &NodeRef, lower: bool) -> Result<NodeRef> {
    square("solve_triangular", a)?;
    let a = square_blocks(a);
    let b = rhs("solve_triangular", &a, b, a.chunks.axis(0))?;
    let (shape, chunks, dtype) = (b.shape.clone(), b.chunks.clone(), b.dtype);
    Ok(node(LinalgOp::SolveTriangular { lower }, vec![a, b], shape, chunks, dtype))
}
