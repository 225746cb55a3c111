//! Shared strategies, oracles and comparison helpers for the floe oracle tests.
//!
//! Everything here works on plain `ndarray` values: the oracle for every floe
//! operation is the same computation done on the unchunked `ndarray::ArrayD`.
//! Code that calls floe lives in the test files (mostly inside per-dtype
//! macros, so it only ever names concrete element types).
#![allow(dead_code, unused_imports, unused_macros)]

use std::fmt::Debug;

use floe::{ChunkSpec, DType};
use ndarray::{ArrayD, Axis, Dimension, IxDyn, Zip};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

// ---------------------------------------------------------------------------
// configuration
// ---------------------------------------------------------------------------

/// Proptest configuration: `cases` cases, no regression files written into
/// the source tree.
pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 1024,
        ..ProptestConfig::default()
    }
}

/// Largest number of elements of a generated array.
pub const MAX_ELEMS: usize = 1500;

// ---------------------------------------------------------------------------
// shapes and chunkings
// ---------------------------------------------------------------------------

/// Length of one axis: 0 and 1 are deliberately common.
pub fn axis_len() -> BoxedStrategy<usize> {
    prop_oneof![1 => Just(0usize), 2 => Just(1usize), 10 => 2usize..=7].boxed()
}

/// A shape with `min_ndim..=max_ndim` axes and at most `MAX_ELEMS` elements.
pub fn shape_in(min_ndim: usize, max_ndim: usize) -> BoxedStrategy<Vec<usize>> {
    (min_ndim..=max_ndim)
        .prop_flat_map(|nd| prop::collection::vec(axis_len(), nd))
        .prop_filter("array too large", |s| {
            s.iter().product::<usize>() <= MAX_ELEMS
        })
        .boxed()
}

/// A shape with 0 to 4 axes.
pub fn shape() -> BoxedStrategy<Vec<usize>> {
    shape_in(0, 4)
}

/// Blocks of size `b` covering an axis of length `len` (the last one shorter);
/// an axis of length 0 has the single block `[0]`.
pub fn regular(len: usize, b: usize) -> Vec<usize> {
    if len == 0 {
        return vec![0];
    }
    let b = b.clamp(1, len);
    let mut out = vec![b; len / b];
    if len % b != 0 {
        out.push(len % b);
    }
    out
}

/// How an array is to be chunked.
#[derive(Clone, Debug, PartialEq)]
pub enum Chunking {
    /// `usize`: the same block size on every axis (clamped to the axis length).
    Uniform(usize),
    /// `Vec<usize>`: one block size per axis.
    PerAxis(Vec<usize>),
    /// `Vec<Vec<usize>>`: explicit block sizes (may contain zero-size blocks).
    Explicit(Vec<Vec<usize>>),
}

impl Chunking {
    /// The floe chunk specification.
    pub fn spec(&self) -> ChunkSpec {
        match self {
            Chunking::Uniform(n) => ChunkSpec::from(*n),
            Chunking::PerAxis(v) => ChunkSpec::from(v.clone()),
            Chunking::Explicit(v) => ChunkSpec::from(v.clone()),
        }
    }

    /// The chunks floe must report for an array of `shape` chunked this way.
    pub fn expected(&self, shape: &[usize]) -> Vec<Vec<usize>> {
        match self {
            Chunking::Uniform(n) => shape.iter().map(|&l| regular(l, *n)).collect(),
            Chunking::PerAxis(v) => shape.iter().zip(v).map(|(&l, &b)| regular(l, b)).collect(),
            Chunking::Explicit(v) => v.clone(),
        }
    }
}

/// Explicit block sizes for one axis of length `len`: regular, irregular, and
/// irregular with zero-size blocks.
pub fn explicit_axis(len: usize) -> BoxedStrategy<Vec<usize>> {
    if len == 0 {
        return Just(vec![0usize]).boxed();
    }
    let cuts = move |mut cuts: Vec<usize>| {
        cuts.sort_unstable();
        let mut out = Vec::new();
        let mut prev = 0;
        for c in cuts {
            out.push(c - prev);
            prev = c;
        }
        out.push(len - prev);
        out
    };
    prop_oneof![
        2 => (1..=len).prop_map(move |b| regular(len, b)),
        // irregular, no zero-size blocks
        2 => prop::collection::vec(0..=len, 0..5)
            .prop_map(move |c| cuts(c).into_iter().filter(|&b| b > 0).collect::<Vec<_>>()),
        // irregular; repeated cuts and cuts at the ends give zero-size blocks
        1 => prop::collection::vec(0..=len, 1..5).prop_map(cuts),
    ]
    .boxed()
}

/// A random chunking of an array of `shape`.
pub fn chunking(shape: Vec<usize>) -> BoxedStrategy<Chunking> {
    let uniform = (1usize..=8).prop_map(Chunking::Uniform);
    let per_axis = shape
        .iter()
        .map(|&l| 1usize..=(l + 1).max(1))
        .collect::<Vec<_>>()
        .prop_map(Chunking::PerAxis);
    let explicit = shape
        .iter()
        .map(|&l| explicit_axis(l))
        .collect::<Vec<_>>()
        .prop_map(Chunking::Explicit);
    prop_oneof![1 => uniform, 1 => per_axis, 3 => explicit].boxed()
}

/// An ndarray oracle and how its floe twin is chunked.
pub type Chunked<T> = (ArrayD<T>, Chunking);

/// Explicit chunks (`Vec<Vec<usize>>`) as a floe `ChunkSpec`.
pub fn explicit(v: &[Vec<usize>]) -> ChunkSpec {
    ChunkSpec::from(v.to_vec())
}

// ---------------------------------------------------------------------------
// data
// ---------------------------------------------------------------------------

/// An array of `shape` with elements from `elem`.
pub fn array_of<T: Clone + Debug + 'static>(
    shape: Vec<usize>,
    elem: BoxedStrategy<T>,
) -> BoxedStrategy<ArrayD<T>> {
    let n: usize = shape.iter().product();
    prop::collection::vec(elem, n)
        .prop_map(move |v| ArrayD::from_shape_vec(IxDyn(&shape), v).unwrap())
        .boxed()
}

/// An array of a shape from `shapes`, with a random chunking.
pub fn chunked_in<T: Clone + Debug + 'static>(
    shapes: BoxedStrategy<Vec<usize>>,
    elem: BoxedStrategy<T>,
) -> BoxedStrategy<(ArrayD<T>, Chunking)> {
    shapes
        .prop_flat_map(move |s| (array_of(s.clone(), elem.clone()), chunking(s)))
        .boxed()
}

/// An array of 0 to 4 axes with a random chunking.
pub fn chunked<T: Clone + Debug + 'static>(
    elem: BoxedStrategy<T>,
) -> BoxedStrategy<(ArrayD<T>, Chunking)> {
    chunked_in(shape(), elem)
}

/// Shapes that broadcast together to `full`: leading axes dropped, some axes
/// set to 1.
fn derive_shape(full: &[usize], drop: usize, ones: &[bool]) -> Vec<usize> {
    full.iter()
        .enumerate()
        .skip(drop)
        .map(|(i, &l)| if ones[i] { 1 } else { l })
        .collect()
}

/// `n` shapes that broadcast together (NumPy rules).
pub fn broadcast_shapes(n: usize) -> BoxedStrategy<Vec<Vec<usize>>> {
    shape()
        .prop_flat_map(move |s| {
            let nd = s.len();
            let one = (
                prop_oneof![3 => Just(0usize), 1 => 0..=nd],
                prop::collection::vec(prop::bool::weighted(0.2), nd),
            );
            (Just(s), prop::collection::vec(one, n))
        })
        .prop_map(|(s, parts)| {
            parts
                .into_iter()
                .map(|(drop, ones)| derive_shape(&s, drop, &ones))
                .collect()
        })
        .boxed()
}

/// Two chunked arrays whose shapes broadcast together.
pub fn pair<A, B>(
    ea: BoxedStrategy<A>,
    eb: BoxedStrategy<B>,
) -> BoxedStrategy<(Chunked<A>, Chunked<B>)>
where
    A: Clone + Debug + 'static,
    B: Clone + Debug + 'static,
{
    broadcast_shapes(2)
        .prop_flat_map(move |s| {
            (
                (array_of(s[0].clone(), ea.clone()), chunking(s[0].clone())),
                (array_of(s[1].clone(), eb.clone()), chunking(s[1].clone())),
            )
        })
        .boxed()
}

/// Three chunked arrays whose shapes broadcast together.
pub fn triple<A, B, C>(
    ea: BoxedStrategy<A>,
    eb: BoxedStrategy<B>,
    ec: BoxedStrategy<C>,
) -> BoxedStrategy<(Chunked<A>, Chunked<B>, Chunked<C>)>
where
    A: Clone + Debug + 'static,
    B: Clone + Debug + 'static,
    C: Clone + Debug + 'static,
{
    broadcast_shapes(3)
        .prop_flat_map(move |s| {
            (
                (array_of(s[0].clone(), ea.clone()), chunking(s[0].clone())),
                (array_of(s[1].clone(), eb.clone()), chunking(s[1].clone())),
                (array_of(s[2].clone(), ec.clone()), chunking(s[2].clone())),
            )
        })
        .boxed()
}

/// Floats on a grid of 1/8 in [-16, 16]: sums of up to 2^17 of them are exact
/// in f32 and f64, whatever the order of summation.
pub fn grid_f64() -> BoxedStrategy<f64> {
    (-128i32..=128).prop_map(|k| k as f64 / 8.0).boxed()
}
pub fn grid_f32() -> BoxedStrategy<f32> {
    (-128i32..=128).prop_map(|k| k as f32 / 8.0).boxed()
}

/// Grid floats with a NaN with probability about `p_nan`.
pub fn grid_nan_f64(p_nan: f64) -> BoxedStrategy<f64> {
    (prop::bool::weighted(p_nan), grid_f64())
        .prop_map(|(n, x)| if n { f64::NAN } else { x })
        .boxed()
}
pub fn grid_nan_f32(p_nan: f64) -> BoxedStrategy<f32> {
    (prop::bool::weighted(p_nan), grid_f32())
        .prop_map(|(n, x)| if n { f32::NAN } else { x })
        .boxed()
}

/// General floats: grid values, arbitrary finite values of moderate size,
/// tiny values, signed zeros, and (if `special`) NaN and infinities.
pub fn any_f64(special: bool) -> BoxedStrategy<f64> {
    let sp = if special {
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(0.0),
            Just(-0.0)
        ]
        .boxed()
    } else {
        prop_oneof![Just(0.0f64), Just(-0.0f64), Just(1.0f64)].boxed()
    };
    prop_oneof![
        6 => grid_f64(),
        3 => -1.0e3f64..1.0e3,
        1 => -1.0e-3f64..1.0e-3,
        1 => sp,
    ]
    .boxed()
}
pub fn any_f32(special: bool) -> BoxedStrategy<f32> {
    any_f64(special).prop_map(|x| x as f32).boxed()
}

/// Factors for products: mostly ±1, some ±2 and ±0.5, some 0 — products are
/// exact and stay far from overflow whatever the order of multiplication.
pub fn factor_f64(p_nan: f64) -> BoxedStrategy<f64> {
    let f = prop_oneof![
        8 => prop_oneof![Just(1.0f64), Just(-1.0)],
        2 => prop_oneof![Just(2.0f64), Just(-2.0)],
        2 => prop_oneof![Just(0.5f64), Just(-0.5)],
        1 => Just(0.0f64),
    ];
    (prop::bool::weighted(p_nan), f)
        .prop_map(|(n, x)| if n { f64::NAN } else { x })
        .boxed()
}
pub fn factor_f32(p_nan: f64) -> BoxedStrategy<f32> {
    factor_f64(p_nan).prop_map(|x| x as f32).boxed()
}

/// Full-range integers with the small values and the extremes over-weighted.
macro_rules! int_strategies {
    ($($t:ident),*) => {$(
        pub mod $t {
            use proptest::prelude::*;
            /// Any value, extremes and small values over-weighted.
            pub fn full() -> BoxedStrategy<$t> {
                prop_oneof![
                    4 => any::<$t>(),
                    4 => (-8i64..=8).prop_map(|x| x as $t),
                    1 => prop_oneof![Just($t::MIN), Just($t::MAX), Just(0 as $t), Just(1 as $t)],
                ]
                .boxed()
            }
            /// Small values (sums and variances of these are exact in f64).
            pub fn small() -> BoxedStrategy<$t> {
                (-20i64..=20).prop_map(|x| x as $t).boxed()
            }
        }
    )*};
}
/// Strategies per integer type: `ints::i32::full()`, `ints::u8::small()`, ...
pub mod ints {
    int_strategies!(i8, i16, i32, i64, u8, u16, u32, u64);
}

pub fn bools() -> BoxedStrategy<bool> {
    any::<bool>().boxed()
}

// ---------------------------------------------------------------------------
// element traits for the oracles
// ---------------------------------------------------------------------------

/// What the comparison helpers need of an element type.
pub trait Val: Copy + Debug + PartialEq + Send + Sync + 'static {
    const DT: DType;
    const FLOAT: bool;
    /// Default relative tolerance of an elementwise result.
    const RTOL: f64;
    fn to_f64(self) -> f64;
    fn is_nan_(self) -> bool {
        false
    }
    /// Truthiness as NumPy's `bool(x)`: nonzero, NaN is true.
    fn truthy(self) -> bool;
}

impl Val for bool {
    const DT: DType = DType::Bool;
    const FLOAT: bool = false;
    const RTOL: f64 = 0.0;
    fn to_f64(self) -> f64 {
        if self {
            1.0
        } else {
            0.0
        }
    }
    fn truthy(self) -> bool {
        self
    }
}

macro_rules! val_int {
    ($($t:ty => $d:ident),*) => {$(
        impl Val for $t {
            const DT: DType = DType::$d;
            const FLOAT: bool = false;
            const RTOL: f64 = 0.0;
            fn to_f64(self) -> f64 { self as f64 }
            fn truthy(self) -> bool { self != 0 }
        }
    )*};
}
val_int!(i8 => I8, i16 => I16, i32 => I32, i64 => I64, u8 => U8, u16 => U16, u32 => U32, u64 => U64);

impl Val for f32 {
    const DT: DType = DType::F32;
    const FLOAT: bool = true;
    const RTOL: f64 = 1e-6;
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn is_nan_(self) -> bool {
        self.is_nan()
    }
    fn truthy(self) -> bool {
        self != 0.0
    }
}
impl Val for f64 {
    const DT: DType = DType::F64;
    const FLOAT: bool = true;
    const RTOL: f64 = 1e-12;
    fn to_f64(self) -> f64 {
        self
    }
    fn is_nan_(self) -> bool {
        self.is_nan()
    }
    fn truthy(self) -> bool {
        self != 0.0
    }
}

/// Arithmetic with floe's semantics: integers wrap, integer division
/// truncates toward zero with x / 0 == 0, floats are IEEE.
pub trait Arith: Val {
    fn add_(self, o: Self) -> Self;
    fn sub_(self, o: Self) -> Self;
    fn mul_(self, o: Self) -> Self;
    fn div_(self, o: Self) -> Self;
    fn neg_(self) -> Self;
    fn max_(self, o: Self) -> Self;
    fn min_(self, o: Self) -> Self;
}

macro_rules! arith_int {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            fn add_(self, o: Self) -> Self { self.wrapping_add(o) }
            fn sub_(self, o: Self) -> Self { self.wrapping_sub(o) }
            fn mul_(self, o: Self) -> Self { self.wrapping_mul(o) }
            fn div_(self, o: Self) -> Self { if o == 0 { 0 } else { self.wrapping_div(o) } }
            fn neg_(self) -> Self { self.wrapping_neg() }
            fn max_(self, o: Self) -> Self { Ord::max(self, o) }
            fn min_(self, o: Self) -> Self { Ord::min(self, o) }
        }
    )*};
}
arith_int!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! arith_float {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            fn add_(self, o: Self) -> Self { self + o }
            fn sub_(self, o: Self) -> Self { self - o }
            fn mul_(self, o: Self) -> Self { self * o }
            fn div_(self, o: Self) -> Self { self / o }
            fn neg_(self) -> Self { -self }
            /// NumPy's maximum: NaN propagates.
            fn max_(self, o: Self) -> Self {
                if self.is_nan() || o.is_nan() { <$t>::NAN } else if self >= o { self } else { o }
            }
            fn min_(self, o: Self) -> Self {
                if self.is_nan() || o.is_nan() { <$t>::NAN } else if self <= o { self } else { o }
            }
        }
    )*};
}
arith_float!(f32, f64);

// ---------------------------------------------------------------------------
// oracles on ndarray
// ---------------------------------------------------------------------------

/// NumPy broadcasting of two shapes.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let x = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let y = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = if x == y {
            x
        } else if x == 1 {
            y
        } else if y == 1 {
            x
        } else {
            return None;
        };
    }
    Some(out)
}

/// Elementwise map.
pub fn map1<A: Copy, C>(a: &ArrayD<A>, f: impl Fn(A) -> C) -> ArrayD<C> {
    a.map(|&x| f(x))
}

/// Elementwise binary operation with NumPy broadcasting.
pub fn zip2<A: Copy, B: Copy, C>(a: &ArrayD<A>, b: &ArrayD<B>, f: impl Fn(A, B) -> C) -> ArrayD<C> {
    let s = broadcast_shape(a.shape(), b.shape()).expect("oracle: shapes do not broadcast");
    let av = a.broadcast(IxDyn(&s)).unwrap();
    let bv = b.broadcast(IxDyn(&s)).unwrap();
    Zip::from(&av).and(&bv).map_collect(|&x, &y| f(x, y))
}

/// Elementwise ternary operation with NumPy broadcasting.
pub fn zip3<A: Copy, B: Copy, C: Copy, D>(
    a: &ArrayD<A>,
    b: &ArrayD<B>,
    c: &ArrayD<C>,
    f: impl Fn(A, B, C) -> D,
) -> ArrayD<D> {
    let s = broadcast_shape(a.shape(), b.shape()).unwrap();
    let s = broadcast_shape(&s, c.shape()).unwrap();
    let av = a.broadcast(IxDyn(&s)).unwrap();
    let bv = b.broadcast(IxDyn(&s)).unwrap();
    let cv = c.broadcast(IxDyn(&s)).unwrap();
    Zip::from(&av)
        .and(&bv)
        .and(&cv)
        .map_collect(|&x, &y, &z| f(x, y, z))
}

/// Reduce `a` over `axes` (sorted, unique): `f` gets the values of each
/// output element's reduced sub-array, in C order.
pub fn reduce<T: Copy, U>(
    a: &ArrayD<T>,
    axes: &[usize],
    keepdims: bool,
    f: impl Fn(&[T]) -> U,
) -> ArrayD<U> {
    let nd = a.ndim();
    let kept: Vec<usize> = (0..nd).filter(|i| !axes.contains(i)).collect();
    let perm: Vec<usize> = kept.iter().chain(axes.iter()).copied().collect();
    let v = a.view().permuted_axes(perm);
    let flat: Vec<T> = v.iter().copied().collect();
    let outer: usize = kept.iter().map(|&i| a.shape()[i]).product();
    let n: usize = axes.iter().map(|&i| a.shape()[i]).product();
    let out: Vec<U> = (0..outer).map(|o| f(&flat[o * n..(o + 1) * n])).collect();
    let shape: Vec<usize> = if keepdims {
        (0..nd)
            .map(|i| if axes.contains(&i) { 1 } else { a.shape()[i] })
            .collect()
    } else {
        kept.iter().map(|&i| a.shape()[i]).collect()
    };
    ArrayD::from_shape_vec(IxDyn(&shape), out).unwrap()
}

/// Inclusive scan along `axis`.
pub fn scan<T: Copy, U: Copy>(
    a: &ArrayD<T>,
    axis: usize,
    init: U,
    f: impl Fn(U, T) -> U,
) -> ArrayD<U> {
    let mut out = ArrayD::from_elem(a.raw_dim(), init);
    for (lin, mut lout) in a
        .lanes(Axis(axis))
        .into_iter()
        .zip(out.lanes_mut(Axis(axis)))
    {
        let mut acc = init;
        for (x, y) in lin.iter().zip(lout.iter_mut()) {
            acc = f(acc, *x);
            *y = acc;
        }
    }
    out
}

/// Index of the first minimum (`less` = `<`) or maximum (`>`) of `v`; a NaN
/// counts as the extreme (the first NaN wins), as NumPy.
pub fn arg_extreme<T: Val + PartialOrd>(v: &[T], want_max: bool) -> i64 {
    let mut best = 0usize;
    for (i, &x) in v.iter().enumerate() {
        if x.is_nan_() {
            return i as i64;
        }
        let better = if want_max { x > v[best] } else { x < v[best] };
        if better {
            best = i;
        }
    }
    best as i64
}

/// min/max propagating NaN (the first element of a non-empty slice decides
/// the type of the result).
pub fn extreme<T: Val + PartialOrd>(v: &[T], want_max: bool) -> T {
    v[arg_extreme(v, want_max) as usize]
}

/// Mean, variance-M2, and count over f64 values.
pub fn moments(v: &[f64]) -> (f64, f64, usize) {
    let n = v.len();
    if n == 0 {
        return (f64::NAN, 0.0, 0);
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    let m2 = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>();
    (mean, m2, n)
}

/// Variance as floe defines it: M2 / max(n - ddof, 0) (so inf or NaN when the
/// divisor is 0).
pub fn var_of(v: &[f64], ddof: usize) -> f64 {
    let (_, m2, n) = moments(v);
    let d = n.saturating_sub(ddof) as f64;
    if n == 0 {
        return f64::NAN;
    }
    m2 / d
}

// ---------------------------------------------------------------------------
// comparisons
// ---------------------------------------------------------------------------

fn show<T: Debug>(a: &ArrayD<T>) -> String {
    let s = format!("{a:?}");
    if s.len() > 1500 {
        format!("{}...", &s[..1500])
    } else {
        s
    }
}

fn close_f64(g: f64, e: f64, tol: f64) -> bool {
    if e.is_nan() || g.is_nan() {
        return e.is_nan() && g.is_nan();
    }
    if g == e {
        return true;
    }
    if !e.is_finite() || !g.is_finite() {
        return false;
    }
    (g - e).abs() <= tol
}

/// `got` equals `exp`: same shape; exact for integers and bools; for floats
/// within `rtol * |exp| + atol`, NaN equal to NaN, infinities exact.
pub fn check_rtol<T: Val>(
    got: &ArrayD<T>,
    exp: &ArrayD<T>,
    rtol: f64,
    atol: f64,
    what: &str,
) -> Result<(), TestCaseError> {
    if got.shape() != exp.shape() {
        return Err(TestCaseError::fail(format!(
            "{what}: shape {:?}, expected {:?}\n got: {}\n exp: {}",
            got.shape(),
            exp.shape(),
            show(got),
            show(exp)
        )));
    }
    for ((idx, &g), &e) in got.indexed_iter().zip(exp.iter()) {
        let ok = if T::FLOAT {
            close_f64(g.to_f64(), e.to_f64(), rtol * e.to_f64().abs() + atol)
        } else {
            g == e
        };
        if !ok {
            return Err(TestCaseError::fail(format!(
                "{what}: at {:?}: got {g:?}, expected {e:?}\n got: {}\n exp: {}",
                idx.slice(),
                show(got),
                show(exp)
            )));
        }
    }
    Ok(())
}

/// `check_rtol` with the default tolerance of `T`.
pub fn check<T: Val>(got: &ArrayD<T>, exp: &ArrayD<T>, what: &str) -> Result<(), TestCaseError> {
    let atol = if T::FLOAT { T::RTOL * 1e-2 } else { 0.0 };
    check_rtol(got, exp, T::RTOL, atol, what)
}

/// `got` (any element type) against an f64 oracle `exp` with a per-element
/// absolute tolerance `tol`: NaN must match NaN, infinities exactly.
pub fn check_tol<T: Val>(
    got: &ArrayD<T>,
    exp: &ArrayD<f64>,
    tol: &ArrayD<f64>,
    what: &str,
) -> Result<(), TestCaseError> {
    if got.shape() != exp.shape() {
        return Err(TestCaseError::fail(format!(
            "{what}: shape {:?}, expected {:?}\n got: {}\n exp: {}",
            got.shape(),
            exp.shape(),
            show(got),
            show(exp)
        )));
    }
    for (((idx, &g), &e), &t) in got.indexed_iter().zip(exp.iter()).zip(tol.iter()) {
        if !close_f64(g.to_f64(), e, t) {
            return Err(TestCaseError::fail(format!(
                "{what}: at {:?}: got {g:?}, expected {e:?} (tolerance {t:e})\n got: {}\n exp: {}",
                idx.slice(),
                show(got),
                show(exp)
            )));
        }
    }
    Ok(())
}

/// Shapes equal.
pub fn check_shape(got: &[usize], exp: &[usize], what: &str) -> Result<(), TestCaseError> {
    if got != exp {
        return Err(TestCaseError::fail(format!(
            "{what}: shape {got:?}, expected {exp:?}"
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// reduction axes
// ---------------------------------------------------------------------------

/// Which axes a reduction runs over.
#[derive(Clone, Debug, PartialEq)]
pub enum AxesChoice {
    /// `..`
    All,
    /// a single `usize`
    One(usize),
    /// a `&[usize]` (any order)
    Many(Vec<usize>),
}

impl AxesChoice {
    /// Sorted, unique reduced axes for an array of `ndim` axes.
    pub fn reduced(&self, ndim: usize) -> Vec<usize> {
        let mut v = match self {
            AxesChoice::All => (0..ndim).collect(),
            AxesChoice::One(i) => vec![*i],
            AxesChoice::Many(v) => v.clone(),
        };
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The floe `Axes`.
    pub fn axes(&self, keepdims: bool) -> floe::Axes {
        let a = match self {
            AxesChoice::All => floe::Axes::from(..),
            AxesChoice::One(i) => floe::Axes::from(*i),
            AxesChoice::Many(v) => floe::Axes::from(v.as_slice()),
        };
        if keepdims {
            a.keepdims()
        } else {
            a
        }
    }
}

/// Axes to reduce an array of `ndim` axes over: all, one, or a non-empty set
/// in random order.
pub fn axes_choice(ndim: usize) -> BoxedStrategy<AxesChoice> {
    if ndim == 0 {
        return Just(AxesChoice::All).boxed();
    }
    prop_oneof![
        1 => Just(AxesChoice::All),
        2 => (0..ndim).prop_map(AxesChoice::One),
        2 => Just((0..ndim).collect::<Vec<_>>())
            .prop_shuffle()
            .prop_flat_map(move |p| (1..=ndim).prop_map(move |k| AxesChoice::Many(p[..k].to_vec()))),
    ]
    .boxed()
}

/// A chunked array, reduction axes, and a keepdims flag.
pub fn with_axes<T: Clone + Debug + 'static>(
    elem: BoxedStrategy<T>,
) -> BoxedStrategy<((ArrayD<T>, Chunking), AxesChoice, bool)> {
    chunked(elem)
        .prop_flat_map(|(a, c)| {
            let nd = a.ndim();
            (Just((a, c)), axes_choice(nd), prop::bool::weighted(0.3))
        })
        .boxed()
}

/// A chunked array of at least one axis and one of its axes.
pub fn with_axis<T: Clone + Debug + 'static>(
    elem: BoxedStrategy<T>,
) -> BoxedStrategy<((ArrayD<T>, Chunking), usize)> {
    chunked_in(shape_in(1, 4), elem)
        .prop_flat_map(|(a, c)| {
            let nd = a.ndim();
            (Just((a, c)), 0..nd)
        })
        .boxed()
}

/// `floe::from_ndarray(&a, chunking)`, unwrapped.
macro_rules! fl {
    ($a:expr, $c:expr) => {
        floe::from_ndarray(&$a, $c.spec()).expect("from_ndarray")
    };
}

/// `.compute()`, unwrapped.
macro_rules! run {
    ($x:expr) => {
        $x.compute().expect("compute")
    };
}

// ---------------------------------------------------------------------------
// casts (NumPy astype == Rust `as` for in-range values)
// ---------------------------------------------------------------------------

/// A value of any class, wide enough for every element type.
#[derive(Clone, Copy, Debug)]
pub enum P {
    B(bool),
    I(i128),
    F(f64),
}

/// `as`-style conversions through `P`.
pub trait CastVal: Val {
    fn to_p(self) -> P;
    fn from_p(p: P) -> Self;
    fn cast_to<U: CastVal>(self) -> U {
        U::from_p(self.to_p())
    }
}

impl CastVal for bool {
    fn to_p(self) -> P {
        P::B(self)
    }
    fn from_p(p: P) -> Self {
        match p {
            P::B(b) => b,
            P::I(v) => v != 0,
            P::F(f) => f != 0.0,
        }
    }
}
macro_rules! cast_int {
    ($($t:ty),*) => {$(
        impl CastVal for $t {
            fn to_p(self) -> P { P::I(self as i128) }
            fn from_p(p: P) -> Self {
                match p { P::B(b) => b as $t, P::I(v) => v as $t, P::F(f) => f as $t }
            }
        }
    )*};
}
cast_int!(i8, i16, i32, i64, u8, u16, u32, u64);
impl CastVal for f32 {
    fn to_p(self) -> P {
        P::F(self as f64)
    }
    fn from_p(p: P) -> Self {
        match p {
            P::B(b) => b as u8 as f32,
            P::I(v) => v as f32,
            P::F(f) => f as f32,
        }
    }
}
impl CastVal for f64 {
    fn to_p(self) -> P {
        P::F(self)
    }
    fn from_p(p: P) -> Self {
        match p {
            P::B(b) => b as u8 as f64,
            P::I(v) => v as f64,
            P::F(f) => f,
        }
    }
}

/// A 0-d ndarray holding `v` (the oracle of a scalar operand).
pub fn scalar<T: Clone>(v: T) -> ArrayD<T> {
    ndarray::arr0(v).into_dyn()
}

/// Checks every metadata accessor of a floe array against the expected
/// shape, element type and chunks; evaluates to `Result<(), TestCaseError>`.
macro_rules! meta_ok {
    ($x:expr, $shape:expr, $t:ty, $chunks:expr) => {{
        let x = &$x;
        let shape: Vec<usize> = $shape.to_vec();
        let exp_chunks: Vec<Vec<usize>> = $chunks;
        (|| -> Result<(), proptest::test_runner::TestCaseError> {
            proptest::prop_assert_eq!(x.shape(), shape.as_slice(), "shape()");
            proptest::prop_assert_eq!(x.ndim(), shape.len(), "ndim()");
            proptest::prop_assert_eq!(x.size(), shape.iter().product::<usize>(), "size()");
            proptest::prop_assert_eq!(x.dtype(), <$t as Val>::DT, "dtype()");
            proptest::prop_assert_eq!(
                x.nbytes(),
                (shape.iter().product::<usize>() * std::mem::size_of::<$t>()) as u64,
                "nbytes()"
            );
            proptest::prop_assert_eq!(
                x.numblocks(),
                exp_chunks.iter().map(|c| c.len()).collect::<Vec<usize>>(),
                "numblocks()"
            );
            proptest::prop_assert_eq!(x.chunks().to_vec(), exp_chunks.clone(), "chunks().to_vec()");
            for (i, c) in exp_chunks.iter().enumerate() {
                proptest::prop_assert_eq!(x.chunks().axis(i), c.as_slice(), "chunks().axis({})", i);
            }
            Ok(())
        })()
    }};
}
