//! Block kernels of tree reductions: a block becomes a *partial* (one or more
//! arrays with the reduced axes of length 1), groups of partials are merged,
//! and the last merge is finalized into the result block. Float sums are
//! pairwise; mean/var carry (count, mean, M2) merged with Chan's formula.

use std::borrow::Cow;

use ndarray::{ArrayD, Axis, IxDyn};

use super::chunk::{typed, Chunk, HostElement};
use super::scalar_ops::Arith;
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::expr::{ReduceKind, ReduceSpec};

/// The partial state of a reduction over some blocks.
pub type Partial = Vec<Chunk>;

/// Min/max/NaN handling for every element type (bool: and/or).
pub trait Ordered: Element {
    fn minn(a: Self, b: Self) -> Self;
    fn maxn(a: Self, b: Self) -> Self;
    fn isnan(a: Self) -> bool;
}
impl Ordered for bool {
    fn minn(a: Self, b: Self) -> Self {
        a & b
    }
    fn maxn(a: Self, b: Self) -> Self {
        a | b
    }
    fn isnan(_: Self) -> bool {
        false
    }
}
macro_rules! ordered {
    ($($t:ty),*) => {$(
        impl Ordered for $t {
            #[inline(always)] fn minn(a: Self, b: Self) -> Self { <$t as Arith>::minn(a, b) }
            #[inline(always)] fn maxn(a: Self, b: Self) -> Self { <$t as Arith>::maxn(a, b) }
            #[inline(always)] fn isnan(a: Self) -> bool { <$t as Arith>::is_nan(a) }
        }
    )*};
}
ordered!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

/// Pairwise sum of `f(x)` over a slice (NumPy's scheme: blocks of 128 summed
/// with 8 accumulators, halves summed recursively). Compiled for the
/// [`simd`](crate::simd) level: accumulator k takes elements k, k + 8, …
/// whatever the vector width, so every level gives the same bits.
pub fn psum<T: Copy, A: Arith + Default>(x: &[T], f: &impl Fn(T) -> A) -> A {
    // SAFETY: `level` is one the CPU has.
    unsafe { psum_on(crate::simd::level(), x, f) }
}

/// [`psum`] compiled for `level`.
///
/// # Safety
/// The CPU must have `level` (no check here: `psum` runs once a row).
unsafe fn psum_on<T: Copy, A: Arith + Default>(level: crate::simd::Level, x: &[T], f: &impl Fn(T) -> A) -> A {
    use crate::simd::Level;
    match level {
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => psum_avx512(x, f),
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => psum_avx2(x, f),
        _ => psum_any(x, f),
    }
}

/// The sum of at most 128 elements: eight accumulators, then a fixed tree.
#[inline(always)]
fn psum_leaf<T: Copy, A: Arith + Default>(x: &[T], f: &impl Fn(T) -> A) -> A {
    let mut acc = [A::default(); 8];
    let chunks = x.chunks_exact(8);
    let rem = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            acc[k] = A::add(acc[k], f(c[k]));
        }
    }
    let mut s = A::add(A::add(A::add(acc[0], acc[1]), A::add(acc[2], acc[3])), A::add(A::add(acc[4], acc[5]), A::add(acc[6], acc[7])));
    for &v in rem {
        s = A::add(s, f(v));
    }
    s
}

/// [`psum`]'s recursion, one copy per instruction set (a `target_feature`
/// function calls itself with its features).
macro_rules! psum_compiled_for {
    ($(#[$attr:meta])* $name:ident $(, $unsafe:ident)?) => {
        $(#[$attr])*
        $($unsafe)? fn $name<T: Copy, A: Arith + Default>(x: &[T], f: &impl Fn(T) -> A) -> A {
            if x.len() <= 128 {
                psum_leaf(x, f)
            } else {
                let half = (x.len() / 2) & !7;
                A::add($name(&x[..half], f), $name(&x[half..], f))
            }
        }
    };
}
psum_compiled_for!(psum_any);
psum_compiled_for!(#[cfg(target_arch = "x86_64")] #[target_feature(enable = "avx2,fma")] psum_avx2, unsafe);
psum_compiled_for!(#[cfg(target_arch = "x86_64")] #[target_feature(enable = "avx2,fma,avx512f,avx512dq,avx512vl,avx512bw")] psum_avx512, unsafe);

/// The block as `outer` rows of `inner` contiguous elements, the reduced axes last.
fn rows<'a, T: Element>(a: &'a ArrayD<T>, axes: &[usize]) -> (Cow<'a, [T]>, usize, usize) {
    let nd = a.ndim();
    let mut perm: Vec<usize> = (0..nd).filter(|k| !axes.contains(k)).collect();
    perm.extend_from_slice(axes);
    let inner: usize = axes.iter().map(|&k| a.shape()[k]).product();
    let outer: usize = (0..nd).filter(|k| !axes.contains(k)).map(|k| a.shape()[k]).product();
    let v = a.view().permuted_axes(IxDyn(&perm));
    let data: Cow<'a, [T]> = match v.to_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(v.iter().copied().collect()),
    };
    (data, outer, inner)
}

fn keep_shape(shape: &[usize], axes: &[usize]) -> Vec<usize> {
    shape.iter().enumerate().map(|(k, &n)| if axes.contains(&k) { 1 } else { n }).collect()
}

fn arr<T: Element>(shape: &[usize], v: Vec<T>) -> Result<Chunk> {
    ArrayD::from_shape_vec(IxDyn(shape), v).map(T::wrap).map_err(|e| Error::Execution(format!("internal: {e}")))
}

fn per_row<T: Copy, O>(data: &[T], outer: usize, inner: usize, f: impl Fn(&[T]) -> O) -> Vec<O> {
    if inner == 0 {
        return (0..outer).map(|_| f(&[])).collect();
    }
    data.chunks_exact(inner).map(f).collect()
}

/// (count, sum) of a row, optionally skipping NaN.
fn count_sum<T: Element>(row: &[T], skip_nan: bool) -> (f64, f64) {
    let f = |x: T| x.cast::<f64>();
    if skip_nan {
        let n = row.iter().filter(|x| !f(**x).is_nan()).count() as f64;
        (n, psum(row, &|x: T| {
            let v = f(x);
            if v.is_nan() { 0.0 } else { v }
        }))
    } else {
        (row.len() as f64, psum(row, &f))
    }
}

/// (count, mean, M2) of a row by two passes, optionally skipping NaN.
fn moments<T: Element>(row: &[T], skip_nan: bool) -> (f64, f64, f64) {
    let (n, s) = count_sum(row, skip_nan);
    if n == 0.0 {
        return (0.0, 0.0, 0.0);
    }
    let mean = s / n;
    let m2 = psum(row, &|x: T| {
        let v = x.cast::<f64>();
        if skip_nan && v.is_nan() { 0.0 } else { (v - mean) * (v - mean) }
    });
    (n, mean, m2)
}

/// Reduce one block to a partial. `axis_offset` is the global index of the
/// block's first element along the reduced axis (argmin/argmax).
pub fn partial(spec: &ReduceSpec, block: &Chunk, axis_offset: usize) -> Result<Partial> {
    crate::dispatch_dtype!(block.dtype(), T => partial_typed::<T>(spec, typed::<T>(block)?, axis_offset))
}

/// Reduce `axes` of `a` keeping them as length-1 axes, folding whole lanes at
/// a time (`f` folds an element in, `g` merges two accumulators), so memory
/// is read in order and the inner loops run over contiguous rows.
fn fold_axes<T: Copy, A: Clone>(a: &ArrayD<T>, axes: &[usize], init: A, f: impl Fn(&A, &T) -> A, g: impl Fn(&A, &A) -> A) -> ArrayD<A> {
    let mut it = axes.iter().rev();
    let first = *it.next().expect("at least one axis");
    let mut acc = a.fold_axis(Axis(first), init.clone(), f).insert_axis(Axis(first));
    for &k in it {
        acc = acc.fold_axis(Axis(k), init.clone(), &g).insert_axis(Axis(k));
    }
    acc
}

/// Partials by lane folds, for reductions that do not touch the last
/// (contiguous) axis; `None` where the general path is needed.
fn partial_by_lanes<T: Element + Ordered>(spec: &ReduceSpec, a: &ArrayD<T>) -> Result<Option<Partial>> {
    use ReduceKind::*;
    let nd = a.ndim();
    if nd < 2 || spec.axes.is_empty() || spec.axes.contains(&(nd - 1)) || !a.is_standard_layout() {
        return Ok(None);
    }
    let axes = &spec.axes;
    let sum_dtype = T::DTYPE.sum_dtype();
    let count = || -> f64 { axes.iter().map(|&k| a.shape()[k]).product::<usize>() as f64 };
    Ok(Some(match spec.kind {
        Sum | NanSum => {
            let nan = spec.kind == NanSum;
            crate::dispatch_numeric!(sum_dtype, S => {
                let r = fold_axes(a, axes, S::default(), |acc: &S, x: &T| if nan && T::isnan(*x) { *acc } else { S::add(*acc, x.cast::<S>()) }, |p: &S, q: &S| S::add(*p, *q));
                vec![S::wrap(r)]
            }, _ => return Ok(None))
        }
        Mean => {
            let r = fold_axes(a, axes, 0.0f64, |acc: &f64, x: &T| acc + x.cast::<f64>(), |p: &f64, q: &f64| p + q);
            let n = ArrayD::from_elem(r.raw_dim(), count());
            vec![Chunk::F64(r), Chunk::F64(n)]
        }
        NanMean => {
            let r = fold_axes(a, axes, (0.0f64, 0.0f64), |acc: &(f64, f64), x: &T| {
                let v = x.cast::<f64>();
                if v.is_nan() { *acc } else { (acc.0 + v, acc.1 + 1.0) }
            }, |p: &(f64, f64), q: &(f64, f64)| (p.0 + q.0, p.1 + q.1));
            vec![Chunk::F64(r.mapv(|t| t.0)), Chunk::F64(r.mapv(|t| t.1))]
        }
        Var | Std => {
            // two passes over lanes: the mean, then squared deviations from it
            let n = count();
            let sum = fold_axes(a, axes, 0.0f64, |acc: &f64, x: &T| acc + x.cast::<f64>(), |p: &f64, q: &f64| p + q);
            let mean = sum.mapv(|s| if n > 0.0 { s / n } else { 0.0 });
            let dev = ndarray::Zip::from(a).and_broadcast(&mean).map_collect(|x, m| {
                let d = x.cast::<f64>() - m;
                d * d
            });
            let m2 = fold_axes(&dev, axes, 0.0f64, |acc: &f64, x: &f64| acc + x, |p: &f64, q: &f64| p + q);
            vec![Chunk::F64(ArrayD::from_elem(mean.raw_dim(), n)), Chunk::F64(mean), Chunk::F64(m2)]
        }
        Min => vec![T::wrap(fold_axes(a, axes, T::highest(), |acc: &T, x: &T| T::minn(*acc, *x), |p: &T, q: &T| T::minn(*p, *q)))],
        Max => vec![T::wrap(fold_axes(a, axes, T::lowest(), |acc: &T, x: &T| T::maxn(*acc, *x), |p: &T, q: &T| T::maxn(*p, *q)))],
        Any => vec![Chunk::Bool(fold_axes(a, axes, false, |acc: &bool, x: &T| *acc | x.cast::<bool>(), |p: &bool, q: &bool| *p | *q))],
        All => vec![Chunk::Bool(fold_axes(a, axes, true, |acc: &bool, x: &T| *acc & x.cast::<bool>(), |p: &bool, q: &bool| *p & *q))],
        _ => return Ok(None),
    }))
}

fn partial_typed<T: Element + Ordered>(spec: &ReduceSpec, a: &ArrayD<T>, axis_offset: usize) -> Result<Partial> {
    use ReduceKind::*;
    if let Some(p) = partial_by_lanes(spec, a)? {
        return Ok(p);
    }
    let kshape = keep_shape(a.shape(), &spec.axes);
    let (data, outer, inner) = rows(a, &spec.axes);
    let sum_dtype = T::DTYPE.sum_dtype();
    Ok(match spec.kind {
        Sum | NanSum => {
            let nan = spec.kind == NanSum;
            crate::dispatch_numeric!(sum_dtype, S => {
                let v: Vec<S> = per_row(&data, outer, inner, |r| psum(r, &|x: T| if nan && T::isnan(x) { S::default() } else { x.cast::<S>() }));
                vec![arr(&kshape, v)?]
            }, _ => return Err(Error::Execution("internal: bool sum type".into())))
        }
        Prod => crate::dispatch_numeric!(sum_dtype, S => {
            let v: Vec<S> = per_row(&data, outer, inner, |r| r.iter().fold(S::from_prim(crate::dtype::Prim::I(1)), |acc, &x| S::mul(acc, x.cast::<S>())));
            vec![arr(&kshape, v)?]
        }, _ => return Err(Error::Execution("internal: bool prod type".into()))),
        Min | Max => {
            let v: Vec<T> = per_row(&data, outer, inner, |r| {
                if spec.kind == Min {
                    r.iter().fold(T::highest(), |acc, &x| T::minn(acc, x))
                } else {
                    r.iter().fold(T::lowest(), |acc, &x| T::maxn(acc, x))
                }
            });
            vec![arr(&kshape, v)?]
        }
        NanMin | NanMax => {
            let v: Vec<(T, i64)> = per_row(&data, outer, inner, |r| {
                let mut cnt = 0i64;
                let mut acc = if spec.kind == NanMin { T::highest() } else { T::lowest() };
                for &x in r {
                    if !T::isnan(x) {
                        cnt += 1;
                        acc = if spec.kind == NanMin { T::minn(acc, x) } else { T::maxn(acc, x) };
                    }
                }
                (acc, cnt)
            });
            let (vals, cnts): (Vec<T>, Vec<i64>) = v.into_iter().unzip();
            vec![arr(&kshape, vals)?, arr(&kshape, cnts)?]
        }
        Any | All => {
            let any = spec.kind == Any;
            let v: Vec<bool> = per_row(&data, outer, inner, |r| {
                if any { r.iter().any(|x| x.cast::<bool>()) } else { r.iter().all(|x| x.cast::<bool>()) }
            });
            vec![arr(&kshape, v)?]
        }
        Mean | NanMean => {
            let nan = spec.kind == NanMean;
            let v: Vec<(f64, f64)> = per_row(&data, outer, inner, |r| count_sum(r, nan));
            let (n, s): (Vec<f64>, Vec<f64>) = v.into_iter().unzip();
            vec![arr(&kshape, s)?, arr(&kshape, n)?]
        }
        Var | Std | NanVar | NanStd => {
            let nan = matches!(spec.kind, NanVar | NanStd);
            let v: Vec<(f64, f64, f64)> = per_row(&data, outer, inner, |r| moments(r, nan));
            let n: Vec<f64> = v.iter().map(|t| t.0).collect();
            let m: Vec<f64> = v.iter().map(|t| t.1).collect();
            let m2: Vec<f64> = v.iter().map(|t| t.2).collect();
            vec![arr(&kshape, n)?, arr(&kshape, m)?, arr(&kshape, m2)?]
        }
        ArgMin | ArgMax => {
            let min = spec.kind == ArgMin;
            let v: Vec<(T, i64)> = per_row(&data, outer, inner, |r| {
                let mut best = (if min { T::highest() } else { T::lowest() }, -1i64);
                for (i, &x) in r.iter().enumerate() {
                    if better(min, x, (axis_offset + i) as i64, best.0, best.1) {
                        best = (x, (axis_offset + i) as i64);
                    }
                }
                best
            });
            let (vals, idx): (Vec<T>, Vec<i64>) = v.into_iter().unzip();
            vec![arr(&kshape, vals)?, arr(&kshape, idx)?]
        }
    })
}

/// Whether candidate (x, i) beats the current best (b, j) of an arg-reduction:
/// an empty best (j < 0) always loses, NaN wins (first one), ties go to the
/// smaller index.
#[inline]
fn better<T: Ordered>(min: bool, x: T, i: i64, b: T, j: i64) -> bool {
    if j < 0 {
        return i >= 0;
    }
    if i < 0 {
        return false;
    }
    match (T::isnan(x), T::isnan(b)) {
        (true, true) => i < j,
        (true, false) => true,
        (false, true) => false,
        _ => {
            if x == b {
                i < j
            } else if min {
                x < b
            } else {
                x > b
            }
        }
    }
}

fn flat<T: Element>(c: &Chunk) -> Result<Cow<'_, [T]>> {
    let a = typed::<T>(c)?;
    Ok(match a.as_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(a.iter().copied().collect()),
    })
}

/// Merge partials of the same shape into one.
pub fn combine(spec: &ReduceSpec, in_dtype: DType, parts: &[&Partial]) -> Result<Partial> {
    let first = parts.first().ok_or_else(|| Error::Execution("internal: empty combine".into()))?;
    if parts.len() == 1 {
        return Ok((*first).clone());
    }
    crate::dispatch_dtype!(in_dtype, T => combine_typed::<T>(spec, parts))
}

fn fold_field<U: Element>(parts: &[&Partial], field: usize, f: impl Fn(U, U) -> U) -> Result<Chunk> {
    let shape = parts[0][field].shape().to_vec();
    let mut acc: Vec<U> = flat::<U>(&parts[0][field])?.into_owned();
    for p in &parts[1..] {
        let v = flat::<U>(&p[field])?;
        for (a, &b) in acc.iter_mut().zip(v.iter()) {
            *a = f(*a, b);
        }
    }
    arr(&shape, acc)
}

fn combine_typed<T: Element + Ordered>(spec: &ReduceSpec, parts: &[&Partial]) -> Result<Partial> {
    use ReduceKind::*;
    let sum_dtype = T::DTYPE.sum_dtype();
    Ok(match spec.kind {
        Sum | NanSum => crate::dispatch_numeric!(sum_dtype, S => vec![fold_field::<S>(parts, 0, S::add)?], _ => return Err(Error::Execution("internal: bool accumulator".into()))),
        Prod => crate::dispatch_numeric!(sum_dtype, S => vec![fold_field::<S>(parts, 0, S::mul)?], _ => return Err(Error::Execution("internal: bool accumulator".into()))),
        Min => vec![fold_field::<T>(parts, 0, T::minn)?],
        Max => vec![fold_field::<T>(parts, 0, T::maxn)?],
        NanMin | NanMax => {
            // values skip NaN partials (a NaN value only comes from an all-NaN group, count 0)
            let min = spec.kind == NanMin;
            let shape = parts[0][0].shape().to_vec();
            let mut vals: Vec<T> = flat::<T>(&parts[0][0])?.into_owned();
            let mut cnts: Vec<i64> = flat::<i64>(&parts[0][1])?.into_owned();
            for p in &parts[1..] {
                let (v, c) = (flat::<T>(&p[0])?, flat::<i64>(&p[1])?);
                for i in 0..vals.len() {
                    if c[i] > 0 {
                        vals[i] = if cnts[i] == 0 { v[i] } else if min { T::minn(vals[i], v[i]) } else { T::maxn(vals[i], v[i]) };
                        cnts[i] += c[i];
                    }
                }
            }
            vec![arr(&shape, vals)?, arr(&shape, cnts)?]
        }
        Any => vec![fold_field::<bool>(parts, 0, |a, b| a | b)?],
        All => vec![fold_field::<bool>(parts, 0, |a, b| a & b)?],
        Mean | NanMean => vec![fold_field::<f64>(parts, 0, |a, b| a + b)?, fold_field::<f64>(parts, 1, |a, b| a + b)?],
        Var | Std | NanVar | NanStd => {
            let shape = parts[0][0].shape().to_vec();
            let mut n: Vec<f64> = flat::<f64>(&parts[0][0])?.into_owned();
            let mut m: Vec<f64> = flat::<f64>(&parts[0][1])?.into_owned();
            let mut m2: Vec<f64> = flat::<f64>(&parts[0][2])?.into_owned();
            for p in &parts[1..] {
                let (nb, mb, m2b) = (flat::<f64>(&p[0])?, flat::<f64>(&p[1])?, flat::<f64>(&p[2])?);
                for i in 0..n.len() {
                    if nb[i] == 0.0 {
                        continue;
                    }
                    if n[i] == 0.0 {
                        (n[i], m[i], m2[i]) = (nb[i], mb[i], m2b[i]);
                        continue;
                    }
                    let nt = n[i] + nb[i];
                    let d = mb[i] - m[i];
                    m[i] += d * nb[i] / nt;
                    m2[i] += m2b[i] + d * d * n[i] * nb[i] / nt;
                    n[i] = nt;
                }
            }
            vec![arr(&shape, n)?, arr(&shape, m)?, arr(&shape, m2)?]
        }
        ArgMin | ArgMax => {
            let min = spec.kind == ArgMin;
            let shape = parts[0][0].shape().to_vec();
            let mut vals: Vec<T> = flat::<T>(&parts[0][0])?.into_owned();
            let mut idx: Vec<i64> = flat::<i64>(&parts[0][1])?.into_owned();
            for p in &parts[1..] {
                let (v, j) = (flat::<T>(&p[0])?, flat::<i64>(&p[1])?);
                for i in 0..vals.len() {
                    if better(min, v[i], j[i], vals[i], idx[i]) {
                        vals[i] = v[i];
                        idx[i] = j[i];
                    }
                }
            }
            vec![arr(&shape, vals)?, arr(&shape, idx)?]
        }
    })
}


/// Turn a fully merged partial into the result block (keepdims shape, or
/// with the reduced axes removed).
pub fn finalize(spec: &ReduceSpec, in_dtype: DType, p: &Partial) -> Result<Chunk> {
    use ReduceKind::*;
    let kshape = p[0].shape().to_vec();
    let out_shape: Vec<usize> = if spec.keepdims {
        kshape.clone()
    } else {
        kshape.iter().enumerate().filter(|(k, _)| !spec.axes.contains(k)).map(|(_, &n)| n).collect()
    };
    let out_dtype = spec.kind.out_dtype(in_dtype);
    let res = match spec.kind {
        Sum | NanSum | Prod | Min | Max | Any | All => p[0].clone(),
        ArgMin | ArgMax => p[1].clone(),
        NanMin | NanMax => crate::dispatch_dtype!(in_dtype, T => {
            let (v, c) = (flat::<T>(&p[0])?, flat::<i64>(&p[1])?);
            let nan = T::from_prim(crate::dtype::Prim::F(f64::NAN));
            let out: Vec<T> = v.iter().zip(c.iter()).map(|(&x, &n)| if n == 0 { nan } else { x }).collect();
            arr(&kshape, out)?
        }),
        Mean | NanMean => {
            let (s, n) = (flat::<f64>(&p[0])?, flat::<f64>(&p[1])?);
            float_out(out_dtype, &kshape, s.iter().zip(n.iter()).map(|(&s, &n)| s / n))?
        }
        Var | Std | NanVar | NanStd => {
            let (n, m2) = (flat::<f64>(&p[0])?, flat::<f64>(&p[2])?);
            let ddof = spec.ddof as f64;
            let sqrt = matches!(spec.kind, Std | NanStd);
            float_out(out_dtype, &kshape, n.iter().zip(m2.iter()).map(|(&n, &m2)| {
                let v = m2 / (n - ddof).max(0.0);
                if sqrt { v.sqrt() } else { v }
            }))?
        }
    };
    res.reshaped(&out_shape)
}

fn float_out(d: DType, shape: &[usize], it: impl Iterator<Item = f64>) -> Result<Chunk> {
    match d {
        DType::F32 => arr(shape, it.map(|v| v as f32).collect()),
        _ => arr(shape, it.collect()),
    }
}

/// Elements of a fused program's output reduced at once (32 tiles, 256 KiB
/// of f64: the buffer stays in L2).
pub const REDUCE_BATCH: usize = 32 * super::interp::TILE;

/// Reduce a fused program's output over *all* axes of its block without
/// materializing the block: tiles of the program's output are collected in
/// one reused buffer of [`REDUCE_BATCH`] elements, and each full buffer is
/// reduced to a partial and merged into the running one.
pub fn partial_of_program_all_axes(
    spec: &ReduceSpec,
    program: &crate::expr::Program,
    inputs: &[super::interp::TileInput],
    shape: &[usize],
    axis_offset: usize,
) -> Result<Partial> {
    let d = program.output_dtype();
    let n: usize = shape.iter().product();
    let tile_spec = ReduceSpec { kind: spec.kind, axes: vec![0], keepdims: true, ddof: spec.ddof };
    let mut acc: Option<Partial> = None;
    crate::dispatch_dtype!(d, T => {
        let mut buf: Vec<T> = Vec::with_capacity(REDUCE_BATCH.min(n));
        // positions (argmin/argmax) count from where the block starts in the
        // array (arg reductions are over one axis: here the block's only one)
        let mut start = axis_offset;
        // reduce the buffer's contents (elements start.. of the block) and empty it
        let mut flush = |buf: &mut Vec<T>, start: &mut usize| -> Result<()> {
            let len = buf.len();
            let a = ArrayD::from_shape_vec(IxDyn(&[len]), std::mem::take(buf)).map_err(|e| Error::Execution(e.to_string()))?;
            let tile = T::wrap(a);
            let p = partial(&tile_spec, &tile, *start)?;
            *buf = T::peel_owned(tile).map_err(|_| Error::Execution("internal: tile type".into()))?.into_raw_vec_and_offset().0;
            buf.clear();
            *start += len;
            acc = Some(match acc.take() {
                None => p,
                Some(a) => combine(&tile_spec, d, &[&a, &p])?,
            });
            Ok(())
        };
        super::interp::eval_tiles(program, inputs, shape, |b, len| {
            buf.extend_from_slice(&<T as super::chunk::BufElem>::buf(b)?[..len]);
            if buf.len() >= REDUCE_BATCH {
                flush(&mut buf, &mut start)?;
            }
            Ok(())
        })?;
        if !buf.is_empty() {
            flush(&mut buf, &mut start)?;
        }
    });
    let p = match acc {
        Some(p) => p,
        // an empty block: the partial of an empty tile
        None => partial(&tile_spec, &Chunk::zeros(d, &[0]), 0)?,
    };
    let kshape = vec![1usize; shape.len()];
    p.into_iter().map(|c| c.reshaped(&kshape)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn spec(kind: ReduceKind, axes: &[usize]) -> ReduceSpec {
        ReduceSpec { kind, axes: axes.to_vec(), keepdims: false, ddof: 0 }
    }

    #[test]
    fn partials_merge_to_whole_array_results() {
        let a = Chunk::F64(array![[1.0, 2.0, 3.0], [4.0, 5.0, 9.0]].into_dyn());
        let b = Chunk::F64(array![[0.5, -1.0, 3.0]].into_dyn());
        for (kind, want) in [(ReduceKind::Sum, vec![5.5, 6.0, 15.0]), (ReduceKind::Min, vec![0.5, -1.0, 3.0]), (ReduceKind::ArgMax, vec![1.0, 1.0, 1.0])] {
            let s = spec(kind, &[0]);
            let pa = partial(&s, &a, 0).unwrap();
            let pb = partial(&s, &b, 2).unwrap();
            let f = finalize(&s, DType::F64, &combine(&s, DType::F64, &[&pa, &pb]).unwrap()).unwrap();
            let got: Vec<f64> = crate::with_chunk!(&f, x, T => x.iter().map(|v| v.cast::<f64>()).collect());
            assert_eq!(got, want, "{kind:?}");
        }
    }

    #[test]
    fn chan_merge_matches_two_pass_variance() {
        let xs: Vec<f64> = (0..1000).map(|i| 1e6 + (i as f64 * 0.37).sin()).collect();
        let whole = Chunk::F64(ArrayD::from_shape_vec(IxDyn(&[1000]), xs.clone()).unwrap());
        let s = ReduceSpec { kind: ReduceKind::Var, axes: vec![0], keepdims: false, ddof: 1 };
        let parts: Vec<Partial> = xs.chunks(77).enumerate().map(|(i, c)| {
            partial(&s, &Chunk::F64(ArrayD::from_shape_vec(IxDyn(&[c.len()]), c.to_vec()).unwrap()), i * 77).unwrap()
        }).collect();
        let refs: Vec<&Partial> = parts.iter().collect();
        let merged = finalize(&s, DType::F64, &combine(&s, DType::F64, &refs).unwrap()).unwrap();
        let direct = finalize(&s, DType::F64, &partial(&s, &whole, 0).unwrap()).unwrap();
        let (Chunk::F64(m), Chunk::F64(d)) = (merged, direct) else { panic!() };
        let (m, d) = (m.first().copied().unwrap(), d.first().copied().unwrap());
        // a naive sum-of-squares formula loses everything here (mean²/var ≈ 2e12)
        assert!(((m - d) / d).abs() < 1e-9, "{m} {d}");
    }

    #[test]
    fn pairwise_sum_is_accurate() {
        let n = 1 << 20;
        let xs = vec![0.1f32; n];
        let s = psum(&xs, &|x: f32| x);
        assert!((s as f64 - 0.1 * n as f64).abs() / (0.1 * n as f64) < 1e-5, "{s}");
    }

    #[test]
    fn every_simd_level_sums_to_the_same_bits() {
        for n in [0usize, 7, 8, 127, 128, 129, 1000, 4099] {
            let xs: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1013) as f64 * 1.1e-3 - 0.5).collect();
            let sq = |x: f64| x * x;
            let want = (psum_any(&xs, &|x: f64| x), psum_any(&xs, &sq));
            for level in crate::simd::supported() {
                // SAFETY: the CPU has the level (`supported`).
                let got = unsafe { (psum_on(level, &xs, &|x: f64| x), psum_on(level, &xs, &sq)) };
                assert_eq!((got.0.to_bits(), got.1.to_bits()), (want.0.to_bits(), want.1.to_bits()), "{level:?}, n {n}");
            }
            let used = (psum(&xs, &|x: f64| x), psum(&xs, &sq));
            assert_eq!((used.0.to_bits(), used.1.to_bits()), (want.0.to_bits(), want.1.to_bits()), "psum, n {n}");
            let plain: f64 = xs.iter().sum();
            assert!((want.0 - plain).abs() <= 1e-12 * (1.0 + plain.abs()), "n {n}: {} vs {plain}", want.0);
        }
    }
}
