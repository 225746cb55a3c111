//! Linear algebra block kernels: GEMM (also batched), QR, SVD, Cholesky and triangular
//! solves through faer on ndarray blocks (views are handed to faer with
//! their strides, no copies), plus a wrapping loop kernel for integer
//! products. The LU kernels are in `lu.rs`.
//!
//! Parallelism: faer is built without its `rayon` feature, so every kernel
//! runs with `Par::Seq` on the worker thread that runs the task. Blocks
//! already run in parallel on the executor's workers (one per core); a
//! multi-threaded GEMM inside each of them would oversubscribe the cores
//! (the BLAS-in-dask-workers problem of BENCHMARKS.md).

use std::sync::Arc;

use faer::linalg::triangular_solve::{solve_lower_triangular_in_place, solve_upper_triangular_in_place};
use faer::{Accum, MatMut, MatRef, Par, Side};
use ndarray::{Array1, Array2, ArrayD, ArrayView2, ArrayViewMut2, Axis, CowArray, Ix2, IxDyn};

use super::chunk::{typed, Chunk, HostElement};
use super::run_task::{Output, Value};
use super::scalar_ops::Arith;
use super::source::{source_block, Reads};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::expr::DenseOp;
use crate::task::linalg::LinalgLayer;
use crate::task::{Inline, LayerId, TaskGraph};

/// The element types of the faer kernels (f32, f64).
pub trait LaFloat: Element + HostElement + faer::traits::RealField + Copy + Arith + Send + Sync + 'static {
    fn la_eps() -> Self;
    fn la_f64(self) -> f64;
    fn la_zero() -> Self;
    fn la_one() -> Self;
}
impl LaFloat for f32 {
    fn la_eps() -> Self {
        f32::EPSILON
    }
    fn la_f64(self) -> f64 {
        self as f64
    }
    fn la_zero() -> Self {
        0.0
    }
    fn la_one() -> Self {
        1.0
    }
}
impl LaFloat for f64 {
    fn la_eps() -> Self {
        f64::EPSILON
    }
    fn la_f64(self) -> f64 {
        self
    }
    fn la_zero() -> Self {
        0.0
    }
    fn la_one() -> Self {
        1.0
    }
}

/// A faer view of a 2-d ndarray view (any strides).
pub(super) fn mat_ref<'a, T>(a: &'a ArrayView2<'_, T>) -> MatRef<'a, T> {
    let s = a.strides();
    // SAFETY: pointer, lengths and strides describe the live view `a`
    unsafe { MatRef::from_raw_parts(a.as_ptr(), a.nrows(), a.ncols(), s[0], s[1]) }
}

pub(super) fn mat_mut<'a, T>(a: &'a mut ArrayViewMut2<'_, T>) -> MatMut<'a, T> {
    let s = a.strides().to_vec();
    let (r, c) = a.dim();
    // SAFETY: pointer, lengths and strides describe the live, uniquely borrowed view `a`
    unsafe { MatMut::from_raw_parts_mut(a.as_mut_ptr(), r, c, s[0], s[1]) }
}

fn to_nd<T: Copy>(m: MatRef<'_, T>) -> Array2<T> {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)])
}

pub(super) fn view2<'a, T>(c: &'a ArrayD<T>) -> Result<ArrayView2<'a, T>> {
    c.view().into_dimensionality::<Ix2>().map_err(|_| Error::Execution(format!("internal: expected a matrix block, got shape {:?}", c.shape())))
}

pub(super) fn block<T: Element>(v: &Arc<Value>) -> Result<&ArrayD<T>> {
    typed::<T>(v.block()?)
}

pub(super) fn partial(v: &Arc<Value>) -> Result<&Vec<Chunk>> {
    match &**v {
        Value::Partial(p) => Ok(p),
        Value::Block(_) => Err(Error::Execution("internal: expected a TSQR partial, got a block".into())),
    }
}

pub(super) fn blk<T: Element>(a: Array2<T>) -> Result<Output> {
    Ok(Output::New(Value::Block(T::wrap(a.into_dyn()))))
}

/// Compute one task of a linear algebra layer.
pub fn run(g: &TaskGraph, l: &LinalgLayer, layer: LayerId, bidx: &[usize], inputs: &[Arc<Value>], reads: Reads<'_>) -> Result<Output> {
    let dtype = g.layers[layer].dtype;
    match l {
        LinalgLayer::Contract { axes_a, axes_b, out_chunks, a_inline, b_inline, .. } => {
            let nout = out_chunks.ndim();
            let out_shape = out_chunks.block_shape(&bidx[..nout]);
            // operands read inside the task, in pair order
            let mut made: Vec<Result<(Option<Chunk>, Option<Chunk>)>> = Vec::new();
            let gen = |s: &Option<Inline>, idx: &[usize]| s.as_ref().map(|s| source_block(&s.source, &s.shape, &s.chunks, idx, s.dtype, reads)).transpose();
            l.contract_blocks(bidx, |ia, ib| made.push(gen(a_inline, ia).and_then(|x| Ok((x, gen(b_inline, ib)?)))));
            let made: Vec<(Option<Chunk>, Option<Chunk>)> = made.into_iter().collect::<Result<_>>()?;
            let mut pairs: Vec<(&Chunk, &Chunk)> = Vec::with_capacity(made.len());
            let mut deps = inputs.iter();
            for (ma, mb) in &made {
                let a = match ma {
                    Some(c) => c,
                    None => deps.next().ok_or_else(|| Error::Execution("internal: missing matmul input".into()))?.block()?,
                };
                let b = match mb {
                    Some(c) => c,
                    None => deps.next().ok_or_else(|| Error::Execution("internal: missing matmul input".into()))?.block()?,
                };
                pairs.push((a, b));
            }
            let c = match dtype {
                DType::F32 => contract_float::<f32>(&pairs, axes_a, axes_b, &out_shape)?,
                DType::F64 => contract_float::<f64>(&pairs, axes_a, axes_b, &out_shape)?,
                DType::Bool => return Err(Error::DType("matmul of bool arrays is not supported".into())),
                d => crate::dispatch_numeric!(d, T => contract_int::<T>(&pairs, axes_a, axes_b, &out_shape)?,
                    _ => return Err(Error::DType(format!("matmul of {d} arrays is not supported")))),
            };
            Ok(Output::New(Value::Block(c)))
        }
        LinalgLayer::BatchContract { out_chunks, .. } => {
            let out_shape = out_chunks.block_shape(&bidx[..out_chunks.ndim()]);
            let pairs: Vec<(&Chunk, &Chunk)> = inputs.chunks(2).map(|p| Ok((p[0].block()?, p[1].block()?))).collect::<Result<_>>()?;
            let c = match dtype {
                DType::F32 => batch_float::<f32>(&pairs, &out_shape)?,
                DType::F64 => batch_float::<f64>(&pairs, &out_shape)?,
                DType::Bool => return Err(Error::DType("matmul of bool arrays is not supported".into())),
                d => crate::dispatch_numeric!(d, T => batch_int::<T>(&pairs, &out_shape)?,
                    _ => return Err(Error::DType(format!("matmul of {d} arrays is not supported")))),
            };
            Ok(Output::New(Value::Block(c)))
        }
        LinalgLayer::SumBlocks { .. } => {
            if inputs.len() == 1 {
                return Ok(Output::Same(inputs[0].clone()));
            }
            let first = inputs[0].block()?;
            let c = crate::dispatch_numeric!(first.dtype(), T => {
                let mut acc = typed::<T>(first)?.clone();
                for v in &inputs[1..] {
                    acc.zip_mut_with(block::<T>(v)?, |x, &y| *x = T::add(*x, y));
                }
                T::wrap(acc)
            }, _ => return Err(Error::DType("matmul of bool arrays is not supported".into())));
            Ok(Output::New(Value::Block(c)))
        }
        LinalgLayer::Transpose { .. } => {
            let c = inputs[0].block()?;
            Ok(Output::New(Value::Block(crate::with_chunk!(c, a, T => T::wrap(a.t().as_standard_layout().into_owned())))))
        }
        LinalgLayer::Lu(lu) => super::lu::run(g, lu, layer, bidx, inputs),
        _ => match dtype {
            DType::F32 => run_float::<f32>(g, l, layer, bidx, inputs),
            DType::F64 => run_float::<f64>(g, l, layer, bidx, inputs),
            d => Err(Error::DType(format!("{} needs f32 or f64 elements, got {d}", l.name()))),
        },
    }
}

/// An operand block as a matrix: free axes first for `a` (rows), contracted
/// axes first for `b` (rows). The block itself when it already is that
/// matrix (any strides), else a standard-layout copy.
fn as_matrix<'a, T: Clone>(x: &'a ArrayD<T>, axes: &[usize], contracted_first: bool) -> (CowArray<'a, T, IxDyn>, usize, usize) {
    let nd = x.ndim();
    let free: Vec<usize> = (0..nd).filter(|k| !axes.contains(k)).collect();
    let perm: Vec<usize> = if contracted_first { axes.iter().chain(&free).copied().collect() } else { free.iter().chain(axes).copied().collect() };
    let fsz: usize = free.iter().map(|&k| x.shape()[k]).product();
    let csz: usize = axes.iter().map(|&k| x.shape()[k]).product();
    let (r, c) = if contracted_first { (csz, fsz) } else { (fsz, csz) };
    let v = x.view().permuted_axes(IxDyn(&perm));
    if nd == 2 && free.len() == 1 {
        return (CowArray::from(v), r, c);
    }
    let owned = if v.is_standard_layout() { CowArray::from(v) } else { CowArray::from(ArrayD::from_shape_vec(v.raw_dim(), v.iter().cloned().collect()).expect("shape")) };
    (owned, r, c)
}

fn matrix_view<'a, T>(c: &'a CowArray<'_, T, IxDyn>, r: usize, k: usize) -> ArrayView2<'a, T> {
    if c.ndim() == 2 && c.shape() == [r, k] {
        c.view().into_dimensionality::<Ix2>().expect("2-d")
    } else {
        c.view().into_shape_with_order((r, k)).expect("a standard-layout copy reshapes")
    }
}

fn contract_float<T: LaFloat>(pairs: &[(&Chunk, &Chunk)], axes_a: &[usize], axes_b: &[usize], out_shape: &[usize]) -> Result<Chunk> {
    let n_out: usize = out_shape.iter().product();
    let mut acc: Option<Array2<T>> = None;
    for (pa, pb) in pairs {
        let (a, m, k) = as_matrix(typed::<T>(pa)?, axes_a, false);
        let (b, k2, n) = as_matrix(typed::<T>(pb)?, axes_b, true);
        debug_assert_eq!(k, k2);
        debug_assert_eq!(m * n, n_out);
        let c = acc.get_or_insert_with(|| Array2::from_elem((m, n), T::la_zero()));
        let (av, bv) = (matrix_view(&a, m, k), matrix_view(&b, k2, n));
        let mut cv = c.view_mut();
        faer::linalg::matmul::matmul(mat_mut(&mut cv), Accum::Add, mat_ref(&av), mat_ref(&bv), T::la_one(), Par::Seq);
    }
    let c = acc.unwrap_or_else(|| Array2::from_elem((n_out, 1), T::la_zero()));
    let c = c.into_shape_with_order(IxDyn(out_shape)).map_err(|e| Error::Execution(format!("internal: matmul block shape: {e}")))?;
    Ok(T::wrap(c))
}

/// Integer products: a plain loop with wrapping arithmetic (floe's integer semantics).
fn contract_int<T: Element + Arith + Default>(pairs: &[(&Chunk, &Chunk)], axes_a: &[usize], axes_b: &[usize], out_shape: &[usize]) -> Result<Chunk> {
    let n_out: usize = out_shape.iter().product();
    let mut acc: Option<Array2<T>> = None;
    for (pa, pb) in pairs {
        let (a, m, k) = as_matrix(typed::<T>(pa)?, axes_a, false);
        let (b, _, n) = as_matrix(typed::<T>(pb)?, axes_b, true);
        let c = acc.get_or_insert_with(|| Array2::from_elem((m, n), T::default()));
        let (av, bv) = (matrix_view(&a, m, k), matrix_view(&b, k, n));
        for i in 0..m {
            for p in 0..k {
                let x = av[(i, p)];
                for j in 0..n {
                    c[(i, j)] = T::add(c[(i, j)], T::mul(x, bv[(p, j)]));
                }
            }
        }
    }
    let c = acc.unwrap_or_else(|| Array2::from_elem((n_out, 1), T::default()));
    let c = c.into_shape_with_order(IxDyn(out_shape)).map_err(|e| Error::Execution(format!("internal: matmul block shape: {e}")))?;
    Ok(T::wrap(c))
}

/// The matrix of a batched-matmul operand block at batch index `bi` of the
/// output block (right-aligned; axes of length 1 broadcast).
fn batch_matrix<'a, T>(x: &'a ArrayD<T>, bi: &[usize]) -> Result<ArrayView2<'a, T>> {
    let nb = x.ndim() - 2;
    let off = bi.len() - nb;
    let mut v = x.view();
    for t in 0..nb {
        let i = if x.shape()[t] == 1 { 0 } else { bi[off + t] };
        v = v.index_axis_move(Axis(0), i);
    }
    v.into_dimensionality::<Ix2>().map_err(|_| Error::Execution("internal: batched matmul block rank".into()))
}

/// Each matrix of an output block of a batched matmul, accumulated over
/// the (A, B) block pairs with `f(c, a, b)`.
fn batch_accumulate<T: Clone>(
    pairs: &[(&Chunk, &Chunk)],
    out_shape: &[usize],
    zero: T,
    mut f: impl FnMut(ArrayViewMut2<'_, T>, ArrayView2<'_, T>, ArrayView2<'_, T>),
) -> Result<ArrayD<T>>
where
    T: HostElement + Element,
{
    let mut acc = ArrayD::from_elem(IxDyn(out_shape), zero);
    let ranges: Vec<(usize, usize)> = out_shape[..out_shape.len() - 2].iter().map(|&n| (0, n)).collect();
    for (pa, pb) in pairs {
        let (a, b) = (typed::<T>(pa)?, typed::<T>(pb)?);
        let mut err = None;
        crate::chunks::for_each_in_box(&ranges, |bi| {
            let (av, bv) = match (batch_matrix(a, bi), batch_matrix(b, bi)) {
                (Ok(x), Ok(y)) => (x, y),
                (Err(e), _) | (_, Err(e)) => {
                    err = Some(e);
                    return;
                }
            };
            let mut cv = acc.view_mut();
            for &i in bi {
                cv = cv.index_axis_move(Axis(0), i);
            }
            match cv.into_dimensionality::<Ix2>() {
                Ok(c) => f(c, av, bv),
                Err(_) => err = Some(Error::Execution("internal: batched matmul output rank".into())),
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
    }
    Ok(acc)
}

fn batch_float<T: LaFloat>(pairs: &[(&Chunk, &Chunk)], out_shape: &[usize]) -> Result<Chunk> {
    let acc = batch_accumulate::<T>(pairs, out_shape, T::la_zero(), |mut c, a, b| {
        faer::linalg::matmul::matmul(mat_mut(&mut c), Accum::Add, mat_ref(&a), mat_ref(&b), T::la_one(), Par::Seq);
    })?;
    Ok(T::wrap(acc))
}

fn batch_int<T: Element + Arith + Default>(pairs: &[(&Chunk, &Chunk)], out_shape: &[usize]) -> Result<Chunk> {
    let acc = batch_accumulate::<T>(pairs, out_shape, T::default(), |mut c, a, b| {
        let (m, k) = a.dim();
        let n = b.ncols();
        for i in 0..m {
            for p in 0..k {
                let x = a[(i, p)];
                for j in 0..n {
                    c[(i, j)] = T::add(c[(i, j)], T::mul(x, b[(p, j)]));
                }
            }
        }
    })?;
    Ok(T::wrap(acc))
}

/// Thin QR of a matrix: (Q m × k, R k × n), k = min(m, n); Q is 0 × 0 unless `keep_q`.
fn thin_qr<T: LaFloat>(a: MatRef<'_, T>, keep_q: bool) -> (Array2<T>, Array2<T>) {
    let (m, n) = (a.nrows(), a.ncols());
    let k = m.min(n);
    let qshape = if keep_q { (m, k) } else { (0, 0) };
    if m == 0 || n == 0 {
        return (Array2::from_elem(qshape, T::la_zero()), Array2::from_elem((k, n), T::la_zero()));
    }
    let qr = a.qr();
    let q = if keep_q { to_nd(qr.compute_thin_Q().as_ref()) } else { Array2::from_elem(qshape, T::la_zero()) };
    (q, to_nd(qr.thin_R()))
}

fn tsqr_partial<T: LaFloat>(a: MatRef<'_, T>, keep_q: bool) -> Result<Output> {
    let (q, r) = thin_qr(a, keep_q);
    Ok(Output::New(Value::Partial(vec![T::wrap(q.into_dyn()), T::wrap(r.into_dyn())])))
}

fn part2<T: LaFloat>(p: &[Chunk], i: usize) -> Result<ArrayView2<'_, T>> {
    view2(typed::<T>(p.get(i).ok_or_else(|| Error::Execution("internal: short TSQR partial".into()))?)?)
}

fn matmul_nd<T: LaFloat>(a: &ArrayView2<'_, T>, b: &ArrayView2<'_, T>) -> Array2<T> {
    let mut c = Array2::from_elem((a.nrows(), b.ncols()), T::la_zero());
    let mut cv = c.view_mut();
    faer::linalg::matmul::matmul(mat_mut(&mut cv), Accum::Replace, mat_ref(a), mat_ref(b), T::la_one(), Par::Seq);
    c
}

fn run_float<T: LaFloat>(g: &TaskGraph, l: &LinalgLayer, layer: LayerId, bidx: &[usize], inputs: &[Arc<Value>]) -> Result<Output> {
    match l {
        LinalgLayer::TsqrLeaf { keep_q, .. } => {
            let a = view2(block::<T>(&inputs[0])?)?;
            tsqr_partial(mat_ref(&a), *keep_q)
        }
        LinalgLayer::TsqrCombine { keep_q, .. } => {
            let rs: Vec<ArrayView2<T>> = inputs.iter().map(|v| part2::<T>(partial(v)?, 1)).collect::<Result<_>>()?;
            let stacked = ndarray::concatenate(Axis(0), &rs).map_err(|e| Error::Execution(format!("internal: stacking R factors: {e}")))?;
            tsqr_partial(mat_ref(&stacked.view()), *keep_q)
        }
        LinalgLayer::TsqrR { .. } => blk(part2::<T>(partial(&inputs[0])?, 1)?.to_owned()),
        LinalgLayer::TsqrCoef { ks, group, .. } => {
            let c = bidx[0];
            let p = c / group;
            let off: usize = ks[p * group..c].iter().sum();
            let q = part2::<T>(partial(&inputs[0])?, 0)?;
            let rows = q.slice(ndarray::s![off..off + ks[c], ..]);
            match inputs.get(1) {
                Some(e) => blk(matmul_nd(&rows, &view2(block::<T>(e)?)?)),
                None => blk(rows.to_owned()),
            }
        }
        LinalgLayer::TsqrQ { refactor: false, .. } => {
            let q = part2::<T>(partial(&inputs[0])?, 0)?;
            match inputs.get(1) {
                Some(e) => blk(matmul_nd(&q, &view2(block::<T>(e)?)?)),
                None => blk(q.to_owned()),
            }
        }
        LinalgLayer::TsqrQ { refactor: true, .. } => {
            // the leaf's QR again: the same kernel on the same block, so
            // the same Q_i its R_i went up the tree with
            let (q, _) = thin_qr(mat_ref(&view2(block::<T>(&inputs[0])?)?), true);
            match inputs.get(1) {
                Some(e) => blk(matmul_nd(&q.view(), &view2(block::<T>(e)?)?)),
                None => blk(q),
            }
        }
        LinalgLayer::Dense { op, .. } => dense::<T>(*op, inputs),
        LinalgLayer::Cholesky { .. } => cholesky_block::<T>(g, layer, bidx, inputs),
        _ => Err(Error::Execution(format!("internal: {} is not a float kernel", l.name()))),
    }
}

/// Singular (numerically) when a pivot is zero, not finite, or below
/// 10 · n · eps times the largest: the system cannot be solved to any accuracy.
fn check_pivots<T: LaFloat>(what: &str, diag: impl Iterator<Item = T>, n: usize) -> Result<()> {
    let d: Vec<f64> = diag.map(|x| x.la_f64().abs()).collect();
    let max = d.iter().cloned().fold(0.0, f64::max);
    let tol = max * 10.0 * (n.max(1) as f64) * T::la_eps().la_f64();
    if let Some((i, _)) = d.iter().enumerate().find(|(_, &x)| !(x > tol) || !x.is_finite()) {
        return Err(Error::Value(format!(
            "{what}: the matrix is singular (pivot {i} of {n} is {:e}, the largest is {max:e})",
            d[i]
        )));
    }
    Ok(())
}

fn dense<T: LaFloat>(op: DenseOp, inputs: &[Arc<Value>]) -> Result<Output> {
    let a = view2(block::<T>(&inputs[0])?)?;
    let (m, n) = a.dim();
    let k = m.min(n);
    match op {
        DenseOp::SvdU | DenseOp::SvdS | DenseOp::SvdVt => {
            let (u, s, vt) = if k == 0 {
                (Array2::from_elem((m, 0), T::la_zero()), Array1::from_elem(0, T::la_zero()), Array2::from_elem((0, n), T::la_zero()))
            } else {
                let svd = mat_ref(&a).thin_svd().map_err(|e| Error::Execution(format!("svd did not converge: {e:?}")))?;
                let s: Vec<T> = (0..k).map(|i| svd.S().column_vector()[i]).collect();
                // singular values in decreasing order (as NumPy), factors permuted alike
                let mut order: Vec<usize> = (0..k).collect();
                order.sort_by(|&i, &j| s[j].partial_cmp(&s[i]).unwrap_or(std::cmp::Ordering::Equal));
                let (uf, vf) = (svd.U(), svd.V());
                let u = Array2::from_shape_fn((m, k), |(r, c)| uf[(r, order[c])]);
                let vt = Array2::from_shape_fn((k, n), |(r, c)| vf[(c, order[r])]);
                (u, Array1::from_iter(order.iter().map(|&i| s[i])), vt)
            };
            match op {
                DenseOp::SvdU => blk(u),
                DenseOp::SvdVt => blk(vt),
                _ => Ok(Output::New(Value::Block(T::wrap(s.into_dyn())))),
            }
        }
        DenseOp::SolveUpper => {
            // r is k × n with k ≥ n: its top n × n is upper triangular
            let b = block::<T>(&inputs[1])?;
            let top = a.slice(ndarray::s![..n, ..]);
            check_pivots::<T>("lstsq (rank-deficient matrix)", (0..n).map(|i| top[(i, i)]), n)?;
            let b2 = rhs_matrix(b)?;
            let mut x = b2.slice(ndarray::s![..n, ..]).to_owned();
            if n > 0 {
                let mut xv = x.view_mut();
                solve_upper_triangular_in_place(mat_ref(&top), mat_mut(&mut xv), Par::Seq);
            }
            let mut shape = b.shape().to_vec();
            shape[0] = n;
            Ok(Output::New(Value::Block(T::wrap(x.into_shape_with_order(IxDyn(&shape)).expect("same size")))))
        }
    }
}

/// A right-hand side (vector or matrix) as an n × k matrix.
fn rhs_matrix<T: LaFloat>(b: &ArrayD<T>) -> Result<Array2<T>> {
    let k = if b.ndim() == 1 { 1 } else { b.shape()[1] };
    let s = b.as_standard_layout();
    s.view().into_shape_with_order((b.shape()[0], k)).map(|v| v.to_owned()).map_err(|e| Error::Execution(format!("internal: rhs shape: {e}")))
}

/// Block (i, j) of the lower Cholesky factor; inputs in `LinalgLayer::deps` order.
fn cholesky_block<T: LaFloat>(g: &TaskGraph, layer: LayerId, bidx: &[usize], inputs: &[Arc<Value>]) -> Result<Output> {
    let (i, j) = (bidx[0], bidx[1]);
    let chunks = g.layers[layer].chunks.as_ref().expect("cholesky layers have chunks");
    if i < j {
        let s = chunks.block_shape(bidx);
        return blk(Array2::from_elem((s[0], s[1]), T::la_zero()));
    }
    let mut c = view2(block::<T>(&inputs[0])?)?.to_owned();
    let (lkk, rest) = if i == j { (None, &inputs[1..]) } else { (Some(view2(block::<T>(&inputs[1])?)?), &inputs[2..]) };
    // C -= L(i, k) · L(j, k)ᵀ for k < j
    let step = if i == j { 1 } else { 2 };
    for pair in rest.chunks(step) {
        let li = view2(block::<T>(&pair[0])?)?;
        let lj = if i == j { li } else { view2(block::<T>(&pair[1])?)? };
        let ljt = lj.t();
        let mut cv = c.view_mut();
        faer::linalg::matmul::matmul(mat_mut(&mut cv), Accum::Add, mat_ref(&li), mat_ref(&ljt), <T as Arith>::neg(T::la_one()), Par::Seq);
    }
    match lkk {
        None => {
            if c.is_empty() {
                return blk(c);
            }
            let llt = mat_ref(&c.view()).llt(Side::Lower).map_err(|_| {
                Error::Value(format!("cholesky: the matrix is not positive definite (diagonal block {i} of its blocked factorization)"))
            })?;
            blk(to_nd(llt.L()))
        }
        Some(ljj) => {
            // X L(j, j)ᵀ = C  ⇔  L(j, j) Xᵀ = Cᵀ
            if !c.is_empty() {
                let mut ct = c.view_mut().reversed_axes();
                solve_lower_triangular_in_place(mat_ref(&ljj), mat_mut(&mut ct), Par::Seq);
            }
            blk(c)
        }
    }
}
