//! Linear algebra on chunked arrays: products ([`Array::matmul`],
//! [`tensordot`]) and `floe::linalg` factorizations.
//!
//! | function | algorithm |
//! |---|---|
//! | [`Array::matmul`], [`Array::dot`], [`tensordot`] | output block (i, k) = Σ_j A(i, j)·B(j, k): each task accumulates up to `split_every` block products (faer GEMM, f32/f64; a wrapping loop for integers), then a tree of block sums. Chunks along the contracted axes are rechunked to their common refinement. |
//! | [`tsqr`], [`qr`] | TSQR: QR of every row block, then QR of stacked groups of R factors up a tree of fan-in `split_every`; Q assembled down the same tree. Tall-skinny only. |
//! | [`svd`] | thin SVD: TSQR, then the SVD of the small R (U = Q·U_R); short-fat matrices through the transpose. |
//! | [`svd_compressed`] | randomized range finder (Halko et al.): `A·Ω` with Ω ~ N(0, 1) from [`crate::random::normal`] (seeded, reproducible), power iterations re-orthogonalized by TSQR, then the SVD of `QᵀA`. |
//! | [`cholesky`] | blocked right-looking Cholesky (lower factor; reads the lower triangle) over square blocks; one task per block of the factor. |
//! | [`inv`], [`solve`] | LU with partial pivoting (faer) of the whole matrix in one task: for matrices that fit one block. For large SPD systems use [`cholesky`]. |
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
    /// Matrix product, as NumPy's `matmul` for 1-d and 2-d operands: 2-d @
    /// 2-d, 1-d @ 2-d (a row vector, result 1-d), 2-d @ 1-d (result 1-d),
    /// 1-d @ 1-d (inner product, result 0-d). Batched (≥ 3-d) operands are
    /// not implemented yet. Integers wrap; bool is a dtype error.
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
            return Err(Error::NotImplemented(format!(
                "batched matmul (operands of more than 2 dimensions: shapes {:?} and {:?}); use floe::tensordot",
                self.shape(),
                b.shape()
            )));
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

/// Inverse of a square matrix by LU with partial pivoting, in one task (the
/// matrix must fit one block); chunked like `a`. Singular: `Error::Value`
/// when computed.
pub fn inv<T: FloatElement>(a: &Array<T>) -> Result<Array<T>> {
    let x = build::dense(DenseOp::Inv, &[a.node().clone()])?;
    Ok(arr(crate::expr::build::rechunk(&x, a.chunks().clone())))
}

/// Solution `x` of `a · x = b` (`b` a vector or a matrix) by LU with partial
/// pivoting of `a` in one task; chunked like `b`. Singular: `Error::Value`
/// when computed.
pub fn solve<T: FloatElement>(a: &Array<T>, b: &Array<T>) -> Result<Array<T>> {
    let x = build::dense(DenseOp::Solve, &[a.node().clone(), b.node().clone()])?;
    Ok(arr(crate::expr::build::rechunk(&x, b.chunks().clone())))
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
