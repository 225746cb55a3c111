//! Linear algebra on chunked arrays: products ([`Array::matmul`],
//! [`tensordot`]) and `floe::linalg` factorizations.
//!
//! | function | algorithm |
//! |---|---|
//! | [`Array::matmul`], [`Array::dot`], [`tensordot`] | output block (i, k) = Σ_j A(i, j)·B(j, k): each task accumulates up to `split_every` block products (faer GEMM, f32/f64; a wrapping loop for integers), then a tree of block sums. Chunks along the contracted axes are rechunked to their common refinement. |
//! | [`Array::matmul`] of ≥ 3-d operands | NumPy's batched rules: batch axes broadcast (right-aligned), one task per output block (batch block × row block × column block) and group of `split_every` k blocks, a GEMM per matrix of the batch block, then the same tree of block sums. Batch and k chunks rechunked to their common refinement. |
//! | [`tsqr`], [`qr`] | TSQR: QR of every row block, then QR of stacked groups of R factors up a tree of fan-in `split_every`; Q assembled down the same tree. Tall-skinny only. |
//! | [`svd`] | thin SVD: TSQR, then the SVD of the small R (U = Q·U_R); short-fat matrices through the transpose. |
//! | [`svd_compressed`] | randomized range finder (Halko et al.): `A·Ω` with Ω ~ N(0, 1) from [`crate::random::normal`] (seeded, reproducible), power iterations re-orthogonalized by TSQR, then the SVD of `QᵀA`. |
//! | [`cholesky`] | blocked right-looking Cholesky (lower factor; reads the lower triangle) over square blocks; one task per block of the factor. |
//! | [`lu`], [`lu_pivots`] | blocked right-looking LU with partial pivoting over square blocks (both axes chunked as the common refinement of the row and column chunks). Step k: one task factors the tall panel (block column k, rows ≥ its first row; faer's partial-pivoting LU), then one task per later block column gathers its rows by the panel's permutation, solves for its U block (unit lower triangular solve) and applies the Schur update below. A task holds about two block columns (n × block), never the whole matrix. L's rows are put in their final order through a chain of small permutation tasks; P is built from the pivot indices. |
//! | [`solve_triangular`] | blocked substitution: block i of x (per right-hand-side column block) from the diagonal block, a's block row i and the blocks of x already solved (faer triangular solves and GEMM). |
//! | [`solve`], [`inv`] | the blocked LU with the right-hand side carried through every step beside the matrix (forward substitution without forming L), then [`solve_triangular`] with U; `inv` solves with the identity. Many blocks, bounded memory per task. For SPD systems [`cholesky`] does half the work. |
//! | [`lstsq`] | least squares of a tall-skinny system by TSQR: x = R⁻¹(Qᵀb). |
//! | [`norm`] | Frobenius norm (2-norm of a vector), built from elementwise ops and a tree sum. |
//!
//! The factorizations are for f32 and f64 ([`FloatElement`]); products work
//! for every numeric type.

use crate::array::Array;
use crate::dtype::{DType, Element, FloatElement};
use crate::error::{Error, Result};
use crate::expr::linalg as build;
use crate::expr::{DenseOp, NodeRef, ReduceKind};

fn arr<T: Element>(n: NodeRef) -> Array<T> {
    Array::from_node(n)
}

impl<T: Element> Array<T> {
    /// Matrix product with NumPy's `matmul` rules: 2-d @ 2-d, 1-d @ 2-d (a
    /// row vector, result 1-d), 2-d @ 1-d (result 1-d), 1-d @ 1-d (inner
    /// product, result 0-d); with an operand of 3 or more dimensions, stacks
    /// of matrices: `a` (…, m, k) @ `b` (…, k, n) → (…, m, n), the leading
    /// (batch) axes broadcast against each other (a 1-d operand is a row or
    /// column as above, its axis removed from the result). Integers wrap;
    /// bool is a dtype error.
    pub fn matmul(&self, b: &Array<T>) -> Result<Array<T>> {
        let (na, nb) = (self.ndim(), b.ndim());
        if na == 0 || nb == 0 {
            return Err(Error::Shape(format!(
                "matmul: operands must have at least one dimension, got shapes {:?} and {:?}",
                self.shape(),
                b.shape()
            )));
        }
        if na > 2 || nb > 2 {
            if T::DTYPE == DType::Bool {
                return Err(Error::DType("matmul of bool arrays is not supported".into()));
            }
            let eb = crate::expr::build::expand_dims;
            let a2 = if na == 1 { eb(self.node(), 0)? } else { self.node().clone() };
            let b2 = if nb == 1 { eb(b.node(), 1)? } else { b.node().clone() };
            let c = build::batch_matmul(&a2, &b2)?;
            let nd = c.shape.len();
            let c = if na == 1 { crate::expr::build::squeeze(&c, &[nd - 2])? } else if nb == 1 { crate::expr::build::squeeze(&c, &[nd - 1])? } else { c };
            return Ok(arr(c));
        }
        if T::DTYPE == DType::Bool {
            return Err(Error::DType("matmul of bool arrays is not supported".into()));
        }
        let ka = na - 1;
        let (len_a, len_b) = (self.shape()[ka], b.shape()[0]);
        if len_a != len_b {
            return Err(Error::Shape(format!(
                "matmul: shapes {:?} and {:?} not aligned: {len_a} (axis {ka} of a) != {len_b} (axis 0 of b)",
                self.shape(),
                b.shape()
            )));
        }
        Ok(arr(build::tensordot(self.node(), b.node(), &[ka], &[0])?))
    }
    /// The same as [`Array::matmul`] (NumPy's `dot` for 1-d and 2-d operands).
    pub fn dot(&self, b: &Array<T>) -> Result<Array<T>> {
        self.matmul(b)
    }
}

/// Sum of products over the axis pairs (`axes_a[i]`, `axes_b[i]`); the result
/// has the remaining axes of `a`, then those of `b` (NumPy's `tensordot`).
pub fn tensordot<T: Element>(a: &Array<T>, b: &Array<T>, axes_a: &[usize], axes_b: &[usize]) -> Result<Array<T>> {
    if T::DTYPE == DType::Bool {
        return Err(Error::DType("tensordot of bool arrays is not supported".into()));
    }
    Ok(arr(build::tensordot(a.node(), b.node(), axes_a, axes_b)?))
}

fn check_2d(what: &str, n: &NodeRef) -> Result<(usize, usize)> {
    if n.shape.len() != 2 {
        return Err(Error::Shape(format!("{what} needs a 2-d array, got shape {:?}", n.shape)));
    }
    Ok((n.shape[0], n.shape[1]))
}

/// Columns up to this many are made one block automatically by `qr`/`svd`.
const AUTO_ONE_COLUMN_BLOCK: usize = 256;

/// Tall-skinny: at least as many rows as columns, and the columns are one
/// block or may be made one (few columns, or no more than the tallest row block).
fn tall_skinny(n: &NodeRef) -> bool {
    let (m, c) = (n.shape[0], n.shape[1]);
    let max_rows = n.chunks.axis(0).iter().copied().max().unwrap_or(0);
    m >= c && (n.chunks.axis(1).len() == 1 || c <= max_rows.max(AUTO_ONE_COLUMN_BLOCK))
}

fn not_tall_skinny(what: &str, n: &NodeRef) -> Error {
    Error::NotImplemented(format!(
        "{what} of a matrix that is not tall-skinny (shape {:?}, chunks {}): only matrices with at least as many rows as \
         columns, whose columns fit in one block, are supported",
        n.shape,
        n.chunks.describe()
    ))
}

/// QR of a tall-skinny matrix by TSQR: `(q, r)` with `q` m × k orthonormal
/// columns (chunked like `a`'s rows) and `r` k × n upper triangular (one
/// block), k = min(m, n). The columns of `a` are made one block.
pub fn tsqr<T: FloatElement>(a: &Array<T>) -> Result<(Array<T>, Array<T>)> {
    check_2d("tsqr", a.node())?;
    let r = build::tsqr_r(a.node())?;
    Ok((arr(build::tsqr_q(&r)), arr(r)))
}

/// QR factorization; tall-skinny matrices (see [`tsqr`]) only, others are
/// `Error::NotImplemented`.
pub fn qr<T: FloatElement>(a: &Array<T>) -> Result<(Array<T>, Array<T>)> {
    check_2d("qr", a.node())?;
    if !tall_skinny(a.node()) {
        return Err(not_tall_skinny("qr", a.node()));
    }
    tsqr(a)
}

/// Thin SVD `(u, s, vt)`, singular values decreasing, `a = u · diag(s) · vt`.
/// Tall-skinny matrices by TSQR then the SVD of R; short-fat ones through
/// the transpose. Others: `Error::NotImplemented` (see [`svd_compressed`]).
pub fn svd<T: FloatElement>(a: &Array<T>) -> Result<(Array<T>, Array<T>, Array<T>)> {
    let (m, n) = check_2d("svd", a.node())?;
    let node = a.node();
    if tall_skinny(node) {
        let (u, s, vt) = svd_tall(node)?;
        return Ok((arr(u), arr(s), arr(vt)));
    }
    let t = build::transpose(node)?;
    if m < n && tall_skinny(&t) {
        let (u, s, vt) = svd_tall(&t)?;
        return Ok((arr(build::transpose(&vt)?), arr(s), arr(build::transpose(&u)?)));
    }
    Err(not_tall_skinny("svd", node))
}

fn svd_tall(a: &NodeRef) -> Result<(NodeRef, NodeRef, NodeRef)> {
    let r = build::tsqr_r(a)?;
    let q = build::tsqr_q(&r);
    let ur = build::dense(DenseOp::SvdU, &[r.clone()])?;
    let s = build::dense(DenseOp::SvdS, &[r.clone()])?;
    let vt = build::dense(DenseOp::SvdVt, &[r])?;
    let u = build::tensordot(&q, &ur, &[1], &[0])?;
    Ok((u, s, vt))
}

/// Approximate rank-`k` SVD `(u, s, vt)` by a randomized range finder:
/// `Y = A·Ω` with Ω (n × l, l = min(k + 10, m, n)) ~ N(0, 1) drawn with
/// `seed`, `n_power_iter` power iterations `Y = A·(Aᵀ·Q)` each
/// re-orthogonalized by TSQR, then the thin SVD of `QᵀA` (by TSQR of its
/// transpose). Same seed, same result, whatever the chunking.
pub fn svd_compressed<T: FloatElement>(
    a: &Array<T>,
    k: usize,
    n_power_iter: usize,
    seed: u64,
) -> Result<(Array<T>, Array<T>, Array<T>)> {
    let (m, n) = check_2d("svd_compressed", a.node())?;
    if k == 0 || k > m.min(n) {
        return Err(Error::Value(format!("svd_compressed: k = {k} must be in 1..={} for shape {:?}", m.min(n), a.shape())));
    }
    let l = (k + 10).min(m).min(n);
    let omega = crate::random::normal([n, l], 0.0, 1.0, vec![a.chunks().axis(1).to_vec(), vec![l]], seed)?.cast::<T>();
    let an = a.node();
    let orth = |y: &NodeRef| -> Result<NodeRef> { Ok(build::tsqr_q(&build::tsqr_r(y)?)) };
    let mut q = orth(&build::tensordot(an, omega.node(), &[1], &[0])?)?;
    for _ in 0..n_power_iter {
        let z = orth(&build::tensordot(an, &q, &[0], &[0])?)?;
        q = orth(&build::tensordot(an, &z, &[1], &[0])?)?;
    }
    // Bᵀ = Aᵀ Q (n × l) = W Σ Zᵀ, so A ≈ Q B = (Q Z) Σ Wᵀ
    let bt = build::tensordot(an, &q, &[0], &[0])?;
    let (w, s, zt) = svd_tall(&bt)?;
    let u = arr::<T>(build::tensordot(&q, &zt, &[1], &[1])?);
    let vt = arr::<T>(build::transpose(&w)?);
    let s = arr::<T>(s);
    Ok((u.slice(ndarray::s![.., ..k])?, s.slice(ndarray::s![..k])?, vt.slice(ndarray::s![..k, ..])?))
}

/// Lower Cholesky factor `l` of a symmetric positive definite matrix
/// (`a = l · lᵀ`; only the lower triangle of `a` is read), blocked over
/// square blocks (the columns are chunked like the rows). Not positive
/// definite: `Error::Value` when computed.
pub fn cholesky<T: FloatElement>(a: &Array<T>) -> Result<Array<T>> {
    Ok(arr(build::cholesky(a.node())?))
}

/// LU factorization with partial pivoting, `a = p · l · u` (SciPy's and
/// dask's `lu`): `p` a permutation matrix, `l` unit lower triangular, `u`
/// upper triangular, all n × n with square blocks (both axes chunked as the
/// common refinement of `a`'s row and column chunks). Blocked and
/// right-looking: one task factors each tall block column (panel), one task
/// per later block column applies its row swaps and elimination, so no task
/// holds more than about two block columns. Non-square: `Error::NotImplemented`;
/// singular: `Error::Value` when computed (a pivot at most n·eps·max|a|).
/// [`lu_pivots`] gives the permutation as indices instead of `p`.
pub fn lu<T: FloatElement>(a: &Array<T>) -> Result<(Array<T>, Array<T>, Array<T>)> {
    let (m, n) = check_2d("lu", a.node())?;
    if m != n {
        return Err(Error::NotImplemented(format!("lu of a non-square matrix (shape {:?}): only square matrices are supported", a.shape())));
    }
    let u = crate::expr::lu::lu_u(a.node())?;
    let piv = crate::expr::lu::lu_pivots(&u);
    let l = crate::expr::lu::lu_l(&u, &piv);
    let p = crate::expr::lu::lu_p(&piv, T::DTYPE);
    Ok((arr(p), arr(l), arr(u)))
}

/// The row permutation of [`lu`] as indices: row `r` of `l · u` is row
/// `perm[r]` of `a` (so `p[perm[r], r] = 1`; SciPy's `lu(a, p_indices=True)`
/// gives the same vector).
pub fn lu_pivots<T: FloatElement>(a: &Array<T>) -> Result<Array<i64>> {
    let (m, n) = check_2d("lu_pivots", a.node())?;
    if m != n {
        return Err(Error::NotImplemented(format!("lu of a non-square matrix (shape {:?}): only square matrices are supported", a.shape())));
    }
    Ok(arr(crate::expr::lu::lu_pivots(&crate::expr::lu::lu_u(a.node())?)))
}

/// Solution `x` of `a · x = b` for a triangular `a` (dask's and SciPy's
/// `solve_triangular(a, b, lower=)`): only the `lower` (or upper) triangle
/// of `a` is read. Blocked: x's row block i from a's block row i and the
/// blocks of x already solved. `b` a vector or a matrix; `x` is chunked like
/// `b` (rows like `a`'s square blocks). A zero on the diagonal: `Error::Value`
/// when computed.
pub fn solve_triangular<T: FloatElement>(a: &Array<T>, b: &Array<T>, lower: bool) -> Result<Array<T>> {
    Ok(arr(crate::expr::lu::solve_triangular(a.node(), b.node(), lower)?))
}

/// Inverse of a square matrix: [`solve`] with the identity, so it runs over
/// many blocks (blocked LU, then block triangular solves); chunked like `a`.
/// Singular: `Error::Value` when computed.
pub fn inv<T: FloatElement>(a: &Array<T>) -> Result<Array<T>> {
    let (m, n) = check_2d("inv", a.node())?;
    if m != n {
        return Err(Error::Shape(format!("inv needs a square 2-d matrix, got shape {:?}", a.shape())));
    }
    let rows = crate::chunks::refine(&[a.chunks().axis(0), a.chunks().axis(1)]);
    let chunks = crate::chunks::Chunks::from_sizes_unchecked(vec![rows.clone(), rows]);
    let eye = crate::expr::build::source(crate::expr::Source::Eye, vec![n, n], T::DTYPE, chunks);
    let x = solve_nodes(a.node(), &eye)?;
    Ok(arr(crate::expr::build::rechunk(&x, a.chunks().clone())))
}

/// Solution `x` of `a · x = b` (`b` a vector or a matrix) by the blocked LU
/// of [`lu`]: b goes through the factorization's steps beside the matrix
/// (forward substitution, L never formed), then a blocked upper triangular
/// solve with U. Chunked like `b`. Singular: `Error::Value` when computed.
pub fn solve<T: FloatElement>(a: &Array<T>, b: &Array<T>) -> Result<Array<T>> {
    let x = solve_nodes(a.node(), b.node())?;
    Ok(arr(crate::expr::build::rechunk(&x, b.chunks().clone())))
}

fn solve_nodes(a: &NodeRef, b: &NodeRef) -> Result<NodeRef> {
    if a.shape.len() != 2 || a.shape[0] != a.shape[1] {
        return Err(Error::Shape(format!("solve needs a square 2-d matrix, got shape {:?}", a.shape)));
    }
    let u = crate::expr::lu::lu_u(a)?;
    let y = crate::expr::lu::lu_forward(&u, b)?;
    crate::expr::lu::solve_triangular(&u, &y, false)
}

/// Least-squares solution of `a · x ≈ b` for a tall-skinny `a` (m ≥ n) by
/// TSQR: `x = R⁻¹ (Qᵀ b)`. A rank-deficient `a` is an `Error::Value` when
/// computed; an underdetermined system (m < n) is not implemented.
pub fn lstsq<T: FloatElement>(a: &Array<T>, b: &Array<T>) -> Result<Array<T>> {
    let (m, _) = check_2d("lstsq", a.node())?;
    if b.ndim() == 0 || b.ndim() > 2 || b.shape()[0] != m {
        return Err(Error::Shape(format!("lstsq: shapes {:?} and {:?} not aligned", a.shape(), b.shape())));
    }
    if !tall_skinny(a.node()) {
        return Err(not_tall_skinny("lstsq", a.node()));
    }
    let r = build::tsqr_r(a.node())?;
    let q = build::tsqr_q(&r);
    let qtb = build::tensordot(&q, b.node(), &[0], &[0])?;
    Ok(arr(build::dense(DenseOp::SolveUpper, &[r, qtb])?))
}

/// Frobenius norm of a matrix, 2-norm of a vector (any rank: the square root
/// of the sum of squares), a 0-d array.
pub fn norm<T: FloatElement>(a: &Array<T>) -> Result<Array<T>> {
    let sq = a * a;
    let s = crate::expr::build::reduce(ReduceKind::Sum, sq.node(), None, false, 0)?;
    Ok(arr::<T>(s).sqrt())
}
