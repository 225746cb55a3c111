//! Differential DAG fuzzer: random expression DAGs built with floe and, in
//! lock step, evaluated eagerly on plain `ndarray` values (the oracle).
//!
//! A DAG is a list of [`Step`]s of raw random numbers; [`Dag::step`] turns
//! each into a concrete [`Op`] on an existing node (the oracle decides which
//! ops are valid, so floe never sees an invalid one), optionally together
//! with a *sibling* that differs from it in one parameter (one index of a
//! long `take`, one bound of a slice, the last bit of a scalar, ...), so an
//! optimizer that merges nodes that are not equal in full is caught.
//!
//! Every node also carries a precision class: `Bit` values must match the
//! oracle exactly (NaN equal to NaN); `Approx` values (transcendental
//! functions, sums of non-dyadic values, matmul, variances) within a
//! relative 1e-6 of the value plus 1e-6 of the magnitude of the values that
//! flowed into them. Operations that are discontinuous in their input
//! (comparisons, floor, casts to integers, argmin, ln near 0, division,
//! ...) are only applied to `Bit` inputs, so no test depends on the order
//! of a summation.
//!
//! Each node also records the Rust code that builds it, so a failing DAG
//! prints as a self-contained regression test.
#![allow(dead_code)]

use std::fmt::Write as _;

use floe::{Array, Axes, Boundary, ChunkSpec, Executor, PadMode};
use ndarray::{ArrayD, Axis, Dimension, IxDyn, SliceInfoElem};

pub const MAX_ELEMS: usize = 1500;
pub const MAX_NDIM: usize = 4;

// ---------------------------------------------------------------------------
// values
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dt {
    F,
    I,
    B,
}

#[derive(Clone, Debug)]
pub enum Val {
    F(ArrayD<f64>),
    I(ArrayD<i64>),
    B(ArrayD<bool>),
}

#[derive(Clone)]
pub enum Lz {
    F(Array<f64>),
    I(Array<i64>),
    B(Array<bool>),
}

macro_rules! each {
    ($v:expr, $a:ident => $e:expr) => {
        match $v {
            Val::F($a) => Val::F($e),
            Val::I($a) => Val::I($e),
            Val::B($a) => Val::B($e),
        }
    };
}
macro_rules! each_lz {
    ($v:expr, $a:ident => $e:expr) => {
        match $v {
            Lz::F($a) => Lz::F($e?),
            Lz::I($a) => Lz::I($e?),
            Lz::B($a) => Lz::B($e?),
        }
    };
}

impl Val {
    pub fn dt(&self) -> Dt {
        match self {
            Val::F(_) => Dt::F,
            Val::I(_) => Dt::I,
            Val::B(_) => Dt::B,
        }
    }
    pub fn shape(&self) -> &[usize] {
        match self {
            Val::F(a) => a.shape(),
            Val::I(a) => a.shape(),
            Val::B(a) => a.shape(),
        }
    }
    pub fn to_f64(&self) -> ArrayD<f64> {
        match self {
            Val::F(a) => a.clone(),
            Val::I(a) => a.mapv(|x| x as f64),
            Val::B(a) => a.mapv(|x| if x { 1.0 } else { 0.0 }),
        }
    }
    /// Max |x| over finite elements.
    fn maxabs(&self) -> f64 {
        self.to_f64().iter().filter(|x| x.is_finite()).fold(0.0, |m, x| m.max(x.abs()))
    }
    /// Every element a multiple of 1/1024 of magnitude at most 2^20: sums in
    /// any order are exact, and equal values have a variance of exactly 0.
    fn dyadic(&self) -> bool {
        match self {
            Val::F(a) => a.iter().all(|&x| x.is_finite() && x.abs() <= 1048576.0 && (x * 1024.0).fract() == 0.0),
            Val::I(a) => a.iter().all(|&x| x.abs() <= 1048576),
            Val::B(_) => true,
        }
    }
}

impl Lz {
    fn shape(&self) -> Vec<usize> {
        match self {
            Lz::F(a) => a.shape().to_vec(),
            Lz::I(a) => a.shape().to_vec(),
            Lz::B(a) => a.shape().to_vec(),
        }
    }
    fn chunks(&self) -> Vec<Vec<usize>> {
        match self {
            Lz::F(a) => a.chunks().to_vec(),
            Lz::I(a) => a.chunks().to_vec(),
            Lz::B(a) => a.chunks().to_vec(),
        }
    }
    fn as_f64(&self) -> Array<f64> {
        match self {
            Lz::F(a) => a.clone(),
            Lz::I(a) => a.cast::<f64>(),
            Lz::B(a) => a.cast::<f64>(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prec {
    Bit,
    Approx,
}

pub struct Node {
    pub val: Val,
    pub lz: Lz,
    pub prec: Prec,
    /// Magnitude of the values that flowed into this node (absolute tolerance base).
    pub scale: f64,
    pub name: String,
}

// ---------------------------------------------------------------------------
// operations
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sc {
    F(f64),
    I(i64),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Opd {
    N(usize),
    S(Sc),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum U {
    Neg,
    Abs,
    Sqrt,
    Exp,
    Ln,
    Log10,
    Sin,
    Cos,
    Tan,
    Tanh,
    Floor,
    Ceil,
    Round,
    PowI(i32),
    PowF(f64),
    Clip(Sc, Sc),
    IsNan,
    IsFinite,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum B {
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum R {
    Sum,
    Prod,
    Mean,
    Var,
    Std,
    Min,
    Max,
    Any,
    All,
    NanSum,
    NanMean,
    NanMin,
    NanMax,
    NanVar,
    NanStd,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SE {
    Range { start: isize, end: Option<isize>, step: isize },
    Index(isize),
    NewAxis,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PM {
    Constant(Sc),
    Edge,
    Reflect,
    Symmetric,
    Wrap,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bnd {
    Reflect,
    Periodic,
    Nearest,
    Constant(f64),
    None,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Un(U),
    Bin { op: B, rhs: Opd, swap: bool },
    Where { cond: usize, other: Opd, swap: bool },
    Cast(Dt),
    Red { k: R, axes: Option<Vec<usize>>, keep: bool, ddof: usize },
    Arg { max: bool, axis: usize },
    Scan { prod: bool, axis: usize },
    Rechunk(Vec<Vec<usize>>),
    Concat { axis: usize, others: Vec<usize> },
    Stack { axis: usize, others: Vec<usize> },
    Slice(Vec<SE>),
    Flip(usize),
    Perm(Vec<usize>),
    T,
    Reshape(Vec<usize>),
    Squeeze,
    Insert(usize),
    Take(Vec<usize>, usize),
    Roll(isize, usize),
    Pad(Vec<(usize, usize)>, PM),
    Tile(Vec<usize>),
    Repeat(usize, usize),
    Bcast(Vec<usize>),
    Diagonal(isize),
    Diag(isize),
    Matmul(Option<usize>),
    MapBlocks(f64),
    MapOverlap { axis: usize, depth: usize, bnd: Bnd },
}

// ---------------------------------------------------------------------------
// random numbers for parameters
// ---------------------------------------------------------------------------

pub struct Rng(u64);
impl Rng {
    pub fn new(s: u64) -> Rng {
        Rng(s ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as usize) as i64
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn grid(&mut self) -> f64 {
        self.range(-16, 16) as f64 / 4.0
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len())]
    }
}

/// Random block sizes for an axis of length `len` (irregular, some zero-size).
pub fn rand_chunks(len: usize, rng: &mut Rng) -> Vec<usize> {
    if len == 0 {
        return if rng.chance(0.3) { vec![0, 0] } else { vec![0] };
    }
    match rng.below(4) {
        0 => {
            let b = 1 + rng.below(len);
            let mut v = vec![b; len / b];
            if len % b != 0 {
                v.push(len % b);
            }
            v
        }
        1 => vec![1; len],
        _ => {
            let ncut = rng.below(5);
            let mut cuts: Vec<usize> = (0..ncut).map(|_| rng.below(len + 1)).collect();
            cuts.sort_unstable();
            let mut out = Vec::new();
            let mut prev = 0;
            for c in cuts {
                out.push(c - prev);
                prev = c;
            }
            out.push(len - prev);
            if rng.chance(0.5) {
                out.retain(|&b| b > 0);
            }
            out
        }
    }
}

fn next_up(x: f64) -> f64 {
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x == 0.0 {
        return f64::from_bits(1);
    }
    let b = x.to_bits();
    f64::from_bits(if x > 0.0 { b + 1 } else { b - 1 })
}

// ---------------------------------------------------------------------------
// Rust code for the reproducers
// ---------------------------------------------------------------------------

fn fstr(x: f64) -> String {
    if x.is_nan() {
        "f64::NAN".into()
    } else if x == f64::INFINITY {
        "f64::INFINITY".into()
    } else if x == f64::NEG_INFINITY {
        "f64::NEG_INFINITY".into()
    } else {
        format!("{x:?}f64")
    }
}
fn scstr(s: Sc) -> String {
    match s {
        Sc::F(x) => fstr(x),
        Sc::I(x) => format!("{x}i64"),
    }
}
fn vals_str(v: &Val) -> String {
    match v {
        Val::F(a) => a.iter().map(|&x| fstr(x)).collect::<Vec<_>>().join(", "),
        Val::I(a) => a.iter().map(|x| format!("{x}i64")).collect::<Vec<_>>().join(", "),
        Val::B(a) => a.iter().map(|x| format!("{x}")).collect::<Vec<_>>().join(", "),
    }
}

// ---------------------------------------------------------------------------
// oracle helpers
// ---------------------------------------------------------------------------

fn bshape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let x = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
        let y = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
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

fn zip2<A: Copy, Bb: Copy, C>(a: &ArrayD<A>, b: &ArrayD<Bb>, f: impl Fn(A, Bb) -> C) -> ArrayD<C> {
    let s = bshape(a.shape(), b.shape()).unwrap();
    let av = a.broadcast(IxDyn(&s)).unwrap();
    let bv = b.broadcast(IxDyn(&s)).unwrap();
    let v: Vec<C> = av.iter().zip(bv.iter()).map(|(&x, &y)| f(x, y)).collect();
    ArrayD::from_shape_vec(IxDyn(&s), v).unwrap()
}

fn zip3<A: Copy, Bb: Copy, C: Copy, D>(a: &ArrayD<A>, b: &ArrayD<Bb>, c: &ArrayD<C>, f: impl Fn(A, Bb, C) -> D) -> ArrayD<D> {
    let s = bshape(&bshape(a.shape(), b.shape()).unwrap(), c.shape()).unwrap();
    let av = a.broadcast(IxDyn(&s)).unwrap();
    let bv = b.broadcast(IxDyn(&s)).unwrap();
    let cv = c.broadcast(IxDyn(&s)).unwrap();
    let v: Vec<D> = av.iter().zip(bv.iter()).zip(cv.iter()).map(|((&x, &y), &z)| f(x, y, z)).collect();
    ArrayD::from_shape_vec(IxDyn(&s), v).unwrap()
}

/// Reduce over `axes` (sorted), `f` gets each output element's values in C order.
fn reduce<T: Copy, V>(a: &ArrayD<T>, axes: &[usize], keep: bool, f: impl Fn(&[T]) -> V) -> ArrayD<V> {
    let nd = a.ndim();
    let kept: Vec<usize> = (0..nd).filter(|i| !axes.contains(i)).collect();
    let perm: Vec<usize> = kept.iter().chain(axes.iter()).copied().collect();
    let v = a.view().permuted_axes(perm);
    let flat: Vec<T> = v.iter().copied().collect();
    let outer: usize = kept.iter().map(|&i| a.shape()[i]).product();
    let n: usize = axes.iter().map(|&i| a.shape()[i]).product();
    let out: Vec<V> = (0..outer).map(|o| f(&flat[o * n..(o + 1) * n])).collect();
    let shape: Vec<usize> =
        if keep { (0..nd).map(|i| if axes.contains(&i) { 1 } else { a.shape()[i] }).collect() } else { kept.iter().map(|&i| a.shape()[i]).collect() };
    ArrayD::from_shape_vec(IxDyn(&shape), out).unwrap()
}

fn scan<T: Copy, V: Copy>(a: &ArrayD<T>, axis: usize, init: V, f: impl Fn(V, T) -> V) -> ArrayD<V> {
    let mut out = ArrayD::from_elem(a.raw_dim(), init);
    for (lin, mut lout) in a.lanes(Axis(axis)).into_iter().zip(out.lanes_mut(Axis(axis))) {
        let mut acc = init;
        for (x, y) in lin.iter().zip(lout.iter_mut()) {
            acc = f(acc, *x);
            *y = acc;
        }
    }
    out
}

/// out[.., i, ..] = a[.., map[i], ..] along `axis`, `fill` where map[i] < 0.
fn gather<T: Clone>(a: &ArrayD<T>, axis: usize, map: &[i64], fill: T) -> ArrayD<T> {
    let mut shape = a.shape().to_vec();
    shape[axis] = map.len();
    let mut out = ArrayD::from_elem(IxDyn(&shape), fill);
    for (i, &m) in map.iter().enumerate() {
        if m >= 0 {
            out.index_axis_mut(Axis(axis), i).assign(&a.index_axis(Axis(axis), m as usize));
        }
    }
    out
}

fn edge_index(i: i64, n: i64, mode: &PM) -> i64 {
    if (0..n).contains(&i) {
        return i;
    }
    match mode {
        PM::Constant(_) => -1,
        PM::Edge => i.clamp(0, n - 1),
        PM::Wrap => i.rem_euclid(n),
        PM::Symmetric => {
            let j = i.rem_euclid(2 * n);
            if j < n {
                j
            } else {
                2 * n - 1 - j
            }
        }
        PM::Reflect => {
            if n == 1 {
                return 0;
            }
            let p = 2 * (n - 1);
            let j = i.rem_euclid(p);
            if j < n {
                j
            } else {
                p - j
            }
        }
    }
}

fn to_info(s: &[SE]) -> Vec<SliceInfoElem> {
    s.iter()
        .map(|e| match *e {
            SE::Range { start, end, step } => SliceInfoElem::Slice { start, end, step },
            SE::Index(i) => SliceInfoElem::Index(i),
            SE::NewAxis => SliceInfoElem::NewAxis,
        })
        .collect()
}

/// Whether `s` is in range for `shape` (ndarray would not panic).
fn slice_ok(s: &[SE], shape: &[usize]) -> bool {
    let mut ax = 0;
    for e in s {
        match *e {
            SE::NewAxis => {}
            SE::Index(i) => {
                let Some(&n) = shape.get(ax) else { return false };
                let n = n as isize;
                if i < -n || i >= n {
                    return false;
                }
                ax += 1;
            }
            SE::Range { start, end, step } => {
                let Some(&n) = shape.get(ax) else { return false };
                let n = n as isize;
                if step == 0 {
                    return false;
                }
                let st = if start < 0 { start + n } else { start };
                let en = match end {
                    None => n,
                    Some(e) if e < 0 => e + n,
                    Some(e) => e,
                };
                if st < 0 || st > n || en < 0 || en > n {
                    return false;
                }
                ax += 1;
            }
        }
    }
    ax <= shape.len()
}

fn matmul_f(a: &ArrayD<f64>, b: &ArrayD<f64>) -> ArrayD<f64> {
    mm(a, b, 0.0, |acc, x, y| acc + x * y)
}
fn matmul_i(a: &ArrayD<i64>, b: &ArrayD<i64>) -> ArrayD<i64> {
    mm(a, b, 0, |acc: i64, x: i64, y: i64| acc.wrapping_add(x.wrapping_mul(y)))
}
/// NumPy matmul for 1-d, 2-d and 3-d (same batch) operands.
fn mm<T: Copy>(a: &ArrayD<T>, b: &ArrayD<T>, zero: T, f: impl Fn(T, T, T) -> T) -> ArrayD<T> {
    let (a3, b3, ra, rb) = {
        let a3 = match a.ndim() {
            1 => a.clone().into_shape_with_order(IxDyn(&[1, 1, a.len()])).unwrap(),
            2 => a.clone().insert_axis(Axis(0)),
            _ => a.clone(),
        };
        let b3 = match b.ndim() {
            1 => b.clone().into_shape_with_order(IxDyn(&[1, b.len(), 1])).unwrap(),
            2 => b.clone().insert_axis(Axis(0)),
            _ => b.clone(),
        };
        (a3, b3, a.ndim(), b.ndim())
    };
    let (nb, m, k) = (a3.shape()[0].max(b3.shape()[0]), a3.shape()[1], a3.shape()[2]);
    let n = b3.shape()[2];
    let mut out = ArrayD::from_elem(IxDyn(&[nb, m, n]), zero);
    for q in 0..nb {
        let qa = if a3.shape()[0] == 1 { 0 } else { q };
        let qb = if b3.shape()[0] == 1 { 0 } else { q };
        for i in 0..m {
            for j in 0..n {
                let mut acc = zero;
                for l in 0..k {
                    acc = f(acc, a3[[qa, i, l]], b3[[qb, l, j]]);
                }
                out[[q, i, j]] = acc;
            }
        }
    }
    let mut shape = vec![];
    if ra.max(rb) == 3 {
        shape.push(nb);
    }
    if ra >= 2 {
        shape.push(m);
    }
    if rb >= 2 {
        shape.push(n);
    }
    out.into_shape_with_order(IxDyn(&shape)).unwrap()
}

/// The map_overlap kernel: out[p] = g[p] + g[p + d] along `axis` where it exists.
pub fn overlap_kernel(g: ndarray::ArrayViewD<f64>, axis: usize, d: usize) -> ArrayD<f64> {
    let mut out = g.to_owned();
    if d == 0 {
        return out.mapv(|x| x + x);
    }
    for (lin, mut lout) in g.lanes(Axis(axis)).into_iter().zip(out.lanes_mut(Axis(axis))) {
        let n = lin.len();
        for p in 0..n.saturating_sub(d) {
            lout[p] = lin[p] + lin[p + d];
        }
    }
    out
}

fn overlap_oracle(x: &ArrayD<f64>, axis: usize, d: usize, bnd: Bnd) -> ArrayD<f64> {
    if d == 0 {
        return x.mapv(|v| v + v);
    }
    let n = x.shape()[axis] as i64;
    let mut out = x.clone();
    for (lin, mut lout) in x.lanes(Axis(axis)).into_iter().zip(out.lanes_mut(Axis(axis))) {
        for i in 0..n {
            let j = i + d as i64;
            let other = if j < n {
                Some(lin[j as usize])
            } else {
                match bnd {
                    Bnd::None => None,
                    Bnd::Constant(c) => Some(c),
                    Bnd::Nearest => Some(lin[(n - 1) as usize]),
                    Bnd::Periodic => Some(lin[j.rem_euclid(n) as usize]),
                    Bnd::Reflect => Some(lin[edge_index(j, n, &PM::Symmetric) as usize]),
                }
            };
            if let Some(o) = other {
                lout[i as usize] = lin[i as usize] + o;
            }
        }
    }
    out
}

fn fmax(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a >= b {
        a
    } else {
        b
    }
}
fn fmin(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a <= b {
        a
    } else {
        b
    }
}

/// Index of the first min/max, a NaN winning.
fn arg_ext(v: &[f64], max: bool) -> i64 {
    let mut best = 0usize;
    for (i, &x) in v.iter().enumerate() {
        if x.is_nan() {
            return i as i64;
        }
        if (max && x > v[best]) || (!max && x < v[best]) {
            best = i;
        }
    }
    best as i64
}

fn var_m2(v: &[f64], ddof: usize) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let mean = v.iter().fold(0.0, |s, &x| s + x) / n as f64;
    let m2: f64 = v.iter().map(|x| (x - mean) * (x - mean)).fold(0.0, |s, x| s + x);
    m2 / n.saturating_sub(ddof) as f64
}

fn nn(v: &[f64]) -> Vec<f64> {
    v.iter().copied().filter(|x| !x.is_nan()).collect()
}

/// log2 bound of |x| over finite non-zero x (for products: may they overflow or underflow?).
fn log_bound(a: &ArrayD<f64>) -> f64 {
    a.iter().filter(|x| x.is_finite() && **x != 0.0).fold(0.0, |m, x| m.max(x.abs().log2().abs()))
}

// ---------------------------------------------------------------------------
// the DAG
// ---------------------------------------------------------------------------

/// One raw random step: an op kind, operand choices, a parameter seed,
/// whether to build a sibling too, whether the node is a root.
pub type Step = (u8, u16, u16, u64, bool, bool);

pub struct Dag {
    pub nodes: Vec<Node>,
    pub roots: Vec<usize>,
    pub code: String,
    pub log: Vec<String>,
    pub used: Vec<bool>,
    /// Do not build siblings of gathers that differ in one parameter (the
    /// known CSE bug), so long runs can find other bugs.
    pub avoid_cse_gather: bool,
    /// Do not build argmin/argmax (the known multi-block argmax-of-expression bug).
    pub avoid_arg: bool,
}

type Res<T> = Result<T, String>;

fn ferr(what: &str) -> impl Fn(floe::Error) -> String + '_ {
    move |e| format!("floe refused a valid op `{what}`: {e}")
}

impl Dag {
    pub fn new() -> Dag {
        Dag { nodes: vec![], roots: vec![], code: String::new(), log: vec![], used: vec![], avoid_cse_gather: false, avoid_arg: false }
    }

    pub fn input(&mut self, val: Val, chunks: Vec<Vec<usize>>) -> Res<()> {
        let name = format!("n{}", self.nodes.len());
        let shape = val.shape().to_vec();
        let spec = ChunkSpec::from(chunks.clone());
        let what = format!("from_ndarray {shape:?} {chunks:?}");
        let lz = match &val {
            Val::F(a) => Lz::F(floe::from_ndarray(a, spec).map_err(ferr(&what))?),
            Val::I(a) => Lz::I(floe::from_ndarray(a, spec).map_err(ferr(&what))?),
            Val::B(a) => Lz::B(floe::from_ndarray(a, spec).map_err(ferr(&what))?),
        };
        let ty = match val.dt() {
            Dt::F => "f64",
            Dt::I => "i64",
            Dt::B => "bool",
        };
        writeln!(
            self.code,
            "    let {name} = floe::from_ndarray(&ArrayD::<{ty}>::from_shape_vec(IxDyn(&{shape:?}), vec![{}]).unwrap(), ChunkSpec::from({})).unwrap();",
            vals_str(&val),
            chunks_code(&chunks)
        )
        .unwrap();
        let scale = val.maxabs();
        self.nodes.push(Node { val, lz, prec: Prec::Bit, scale, name });
        Ok(())
    }

    /// Nodes of dtype `dt` whose shape broadcasts with `shape` to `shape` or more.
    fn compatible(&self, dt: Dt, shape: &[usize], rng: &mut Rng) -> Option<usize> {
        let c: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].val.dt() == dt && bshape(self.nodes[i].val.shape(), shape).is_some_and(|s| s.iter().product::<usize>() <= MAX_ELEMS))
            .collect();
        if c.is_empty() {
            None
        } else {
            Some(c[rng.below(c.len())])
        }
    }

    fn scalar(dt: Dt, rng: &mut Rng) -> Option<Sc> {
        match dt {
            Dt::F => Some(Sc::F(if rng.chance(0.1) { rng.pick(&[0.1, 1.0 / 3.0, 1e-3, 1e10]) } else { rng.grid() })),
            Dt::I => Some(Sc::I(rng.range(-5, 5))),
            Dt::B => None,
        }
    }

    /// Random parameters for an op of kind `kind` on node `xi`.
    fn gen(&self, xi: usize, kind: usize, b: usize, rng: &mut Rng) -> Option<Op> {
        let x = &self.nodes[xi];
        let dt = x.val.dt();
        let shape = x.val.shape().to_vec();
        let nd = shape.len();
        let rand_axis = |rng: &mut Rng| if nd == 0 { None } else { Some(rng.below(nd)) };
        let rand_axes = |rng: &mut Rng| -> Option<Vec<usize>> {
            if rng.chance(0.25) {
                return None;
            }
            let v: Vec<usize> = (0..nd).filter(|_| rng.chance(0.5)).collect();
            Some(v)
        };
        Some(match kind {
            0 => {
                let u = match dt {
                    Dt::F => match rng.below(18) {
                        0 => U::Neg,
                        1 => U::Abs,
                        2 => U::Sqrt,
                        3 => U::Exp,
                        4 => U::Ln,
                        5 => U::Log10,
                        6 => U::Sin,
                        7 => U::Cos,
                        8 => U::Tan,
                        9 => U::Tanh,
                        10 => U::Floor,
                        11 => U::Ceil,
                        12 => U::Round,
                        13 => U::PowI(rng.range(-2, 3) as i32),
                        14 => U::PowF(rng.pick(&[0.5, 2.0, 3.0, 1.5])),
                        15 => {
                            let lo = rng.grid();
                            U::Clip(Sc::F(lo), Sc::F(lo + rng.below(8) as f64 / 4.0))
                        }
                        16 => U::IsNan,
                        _ => U::IsFinite,
                    },
                    Dt::I => match rng.below(3) {
                        0 => U::Neg,
                        1 => U::Abs,
                        _ => {
                            let lo = rng.range(-4, 2);
                            U::Clip(Sc::I(lo), Sc::I(lo + rng.range(0, 5)))
                        }
                    },
                    Dt::B => return None,
                };
                Op::Un(u)
            }
            1 | 2 => {
                let op = if dt == Dt::B {
                    rng.pick(&[B::Eq, B::Ne])
                } else {
                    rng.pick(&[B::Add, B::Sub, B::Mul, B::Div, B::Max, B::Min, B::Gt, B::Ge, B::Lt, B::Le, B::Eq, B::Ne, B::Add, B::Mul, B::Sub])
                };
                let rhs = if kind == 1 || dt == Dt::B {
                    let other = if b % 3 == 0 { self.compatible(dt, &shape, rng) } else { Some(b % self.nodes.len()) };
                    match other {
                        Some(o) if self.nodes[o].val.dt() == dt => Opd::N(o),
                        _ => Opd::S(Self::scalar(dt, rng)?),
                    }
                } else {
                    Opd::S(Self::scalar(dt, rng)?)
                };
                let swap = matches!(rhs, Opd::S(_)) && matches!(op, B::Add | B::Sub | B::Mul | B::Div) && rng.chance(0.3);
                Op::Bin { op, rhs, swap }
            }
            3 => {
                let conds: Vec<usize> = (0..self.nodes.len()).filter(|&i| self.nodes[i].val.dt() == Dt::B).collect();
                if conds.is_empty() {
                    return None;
                }
                let cond = conds[b % conds.len()];
                let other = match self.compatible(dt, &shape, rng) {
                    Some(o) if rng.chance(0.6) => Opd::N(o),
                    _ => match Self::scalar(dt, rng) {
                        Some(s) => Opd::S(s),
                        None => Opd::N(xi),
                    },
                };
                Op::Where { cond, other, swap: rng.chance(0.5) }
            }
            4 => Op::Cast(rng.pick(&[Dt::F, Dt::I, Dt::B])),
            5 | 6 => {
                let k = match dt {
                    Dt::B => rng.pick(&[R::Sum, R::Any, R::All, R::Min, R::Max, R::Mean]),
                    _ => rng.pick(&[
                        R::Sum,
                        R::Prod,
                        R::Mean,
                        R::Var,
                        R::Std,
                        R::Min,
                        R::Max,
                        R::Any,
                        R::All,
                        R::NanSum,
                        R::NanMean,
                        R::NanMin,
                        R::NanMax,
                        R::NanVar,
                        R::NanStd,
                    ]),
                };
                Op::Red { k, axes: rand_axes(rng), keep: rng.chance(0.3), ddof: rng.below(3) }
            }
            7 => Op::Arg { max: rng.chance(0.5), axis: rand_axis(rng)? },
            8 => Op::Scan { prod: rng.chance(0.3), axis: rand_axis(rng)? },
            9 | 10 => Op::Rechunk(shape.iter().map(|&l| rand_chunks(l, rng)).collect()),
            11 => {
                let axis = rand_axis(rng)?;
                let mut others = vec![];
                for _ in 0..1 + rng.below(2) {
                    let c: Vec<usize> = (0..self.nodes.len())
                        .filter(|&i| {
                            let s = self.nodes[i].val.shape();
                            self.nodes[i].val.dt() == dt && s.len() == nd && (0..nd).all(|k| k == axis || s[k] == shape[k])
                        })
                        .collect();
                    others.push(c[rng.below(c.len())]);
                }
                Op::Concat { axis, others }
            }
            12 => {
                let c: Vec<usize> = (0..self.nodes.len()).filter(|&i| self.nodes[i].val.dt() == dt && self.nodes[i].val.shape() == shape.as_slice()).collect();
                let others = (0..rng.below(3)).map(|_| c[rng.below(c.len())]).collect();
                Op::Stack { axis: rng.below(nd + 1), others }
            }
            13 | 14 => {
                let mut v = vec![];
                for &n in &shape {
                    let n = n as isize;
                    let (r8, c3) = (rng.below(8), rng.chance(0.3));
                    let e = match r8 {
                        0 if n > 0 => SE::Index(rng.range(-(n as i64), n as i64 - 1) as isize),
                        1 if c3 => {
                            v.push(SE::NewAxis);
                            SE::Range { start: 0, end: None, step: 1 }
                        }
                        _ => {
                            let a = rng.range(0, n as i64) as isize;
                            let bnd = rng.range(0, n as i64) as isize;
                            let (s, e) = if a <= bnd { (a, bnd) } else { (bnd, a) };
                            let start = if rng.chance(0.3) && s > 0 { s - n } else { s };
                            let end = if rng.chance(0.2) { None } else if rng.chance(0.3) && e > 0 && e < n { Some(e - n) } else { Some(e) };
                            let step = rng.pick(&[1isize, 1, 2, 3, -1, -2]);
                            SE::Range { start, end, step }
                        }
                    };
                    v.push(e);
                }
                // sometimes leave trailing axes unnamed
                if !v.is_empty() && rng.chance(0.2) {
                    v.pop();
                }
                Op::Slice(v)
            }
            15 => Op::Flip(rand_axis(rng)?),
            16 => {
                if rng.chance(0.3) {
                    Op::T
                } else {
                    let mut p: Vec<usize> = (0..nd).collect();
                    for i in (1..nd).rev() {
                        let j = rng.below(i + 1);
                        p.swap(i, j);
                    }
                    Op::Perm(p)
                }
            }
            17 => {
                let size: usize = shape.iter().product();
                Op::Reshape(rand_shape(size, rng))
            }
            18 => {
                if rng.chance(0.5) {
                    Op::Squeeze
                } else {
                    Op::Insert(rng.below(nd + 1))
                }
            }
            19 | 20 | 21 => {
                let axis = rand_axis(rng)?;
                let n = shape[axis];
                let len = if n == 0 {
                    0
                } else if rng.chance(0.7) && !self.avoid_cse_gather {
                    7 + rng.below(14)
                } else {
                    rng.below(7)
                };
                Op::Take((0..len).map(|_| rng.below(n)).collect(), axis)
            }
            22 => Op::Roll(rng.range(-9, 9) as isize, rand_axis(rng)?),
            23 => {
                let mode = match rng.below(5) {
                    0 => PM::Constant(Self::scalar(dt, rng).unwrap_or(Sc::I(0))),
                    1 => PM::Edge,
                    2 => PM::Reflect,
                    3 => PM::Symmetric,
                    _ => PM::Wrap,
                };
                if dt == Dt::B && matches!(mode, PM::Constant(_)) {
                    return None;
                }
                Op::Pad(shape.iter().map(|_| if rng.chance(0.4) { (0, 0) } else { (rng.below(4), rng.below(4)) }).collect(), mode)
            }
            24 => Op::Tile((0..1 + rng.below(nd + 1)).map(|_| rng.pick(&[1, 1, 2, 3, 0])).collect()),
            25 => Op::Repeat(rng.pick(&[0, 1, 2, 3]), rand_axis(rng)?),
            26 => {
                let mut s: Vec<usize> = shape.iter().map(|&l| if l == 1 && rng.chance(0.6) { rng.below(5) } else { l }).collect();
                while s.len() < MAX_NDIM && rng.chance(0.4) {
                    s.insert(0, rng.below(4));
                }
                Op::Bcast(s)
            }
            27 => {
                if nd == 2 {
                    Op::Diagonal(rng.range(-(shape[0] as i64) - 1, shape[1] as i64 + 1) as isize)
                } else if nd == 1 {
                    Op::Diag(rng.range(-3, 3) as isize)
                } else {
                    return None;
                }
            }
            28 => {
                if nd == 0 || nd > 3 || dt == Dt::B {
                    return None;
                }
                // another node of matching inner length, else self with swapped last axes
                let k = shape[nd - 1];
                let c: Vec<usize> =
                    (0..self.nodes.len()).filter(|&i| self.nodes[i].val.dt() == dt && self.nodes[i].val.shape().len() == 2 && self.nodes[i].val.shape()[0] == k).collect();
                if nd <= 2 && !c.is_empty() && rng.chance(0.6) {
                    Op::Matmul(Some(c[rng.below(c.len())]))
                } else {
                    Op::Matmul(None)
                }
            }
            29 => {
                if dt != Dt::F {
                    return None;
                }
                Op::MapBlocks(rng.grid())
            }
            30 => {
                if dt != Dt::F {
                    return None;
                }
                let axis = rand_axis(rng)?;
                let bnd = match rng.below(5) {
                    0 => Bnd::Reflect,
                    1 => Bnd::Periodic,
                    2 => Bnd::Nearest,
                    3 => Bnd::Constant(rng.grid()),
                    _ => Bnd::None,
                };
                Op::MapOverlap { axis, depth: rng.below(shape[axis] + 1).min(4), bnd }
            }
            _ => return None,
        })
    }

    /// A sibling of `op` that differs from it in one parameter (or an identical twin).
    fn mutate(&self, op: &Op, rng: &mut Rng) -> Op {
        let mut o = op.clone();
        if self.avoid_cse_gather && matches!(op, Op::Take(..) | Op::Roll(..) | Op::Tile(..) | Op::Repeat(..) | Op::Pad(..)) {
            return o;
        }
        match &mut o {
            Op::Take(idx, axis) => {
                let n = self_len_hint(idx, *axis);
                if !idx.is_empty() && n > 1 {
                    let i = rng.below(idx.len());
                    idx[i] = (idx[i] + 1) % n;
                }
            }
            Op::Un(U::Clip(_, Sc::F(hi))) => *hi = next_up(*hi),
            Op::Un(U::Clip(_, Sc::I(hi))) => *hi += 1,
            Op::Un(U::PowF(p)) => *p = next_up(*p),
            Op::Bin { rhs: Opd::S(Sc::F(s)), .. } => *s = next_up(*s),
            Op::Bin { rhs: Opd::S(Sc::I(s)), .. } => *s += 1,
            Op::Where { other: Opd::S(Sc::F(s)), .. } => *s = next_up(*s),
            Op::Where { other: Opd::S(Sc::I(s)), .. } => *s += 1,
            Op::Where { swap, .. } => *swap = !*swap,
            Op::Rechunk(c) => {
                let cand: Vec<usize> = (0..c.len()).filter(|&k| c[k].len() >= 2).collect();
                if !cand.is_empty() {
                    let k = cand[rng.below(cand.len())];
                    let i = rng.below(c[k].len() - 1);
                    if c[k][i] > 0 {
                        c[k][i] -= 1;
                        c[k][i + 1] += 1;
                    } else if c[k][i + 1] > 0 {
                        c[k][i] += 1;
                        c[k][i + 1] -= 1;
                    }
                }
            }
            Op::Slice(v) => {
                let cand: Vec<usize> = (0..v.len()).filter(|&i| matches!(v[i], SE::Range { .. })).collect();
                if !cand.is_empty() {
                    if let SE::Range { start, end, step } = &mut v[cand[rng.below(cand.len())]] {
                        match rng.below(3) {
                            0 => *step = if *step == 1 { 2 } else { 1 },
                            1 if *start != 0 => *start -= start.signum(),
                            _ => *end = if end.is_some() { None } else { Some(0) },
                        }
                    }
                }
            }
            Op::Roll(s, _) => *s += 1,
            Op::Pad(w, mode) => match mode {
                PM::Constant(Sc::F(c)) if rng.chance(0.5) => *c = next_up(*c),
                _ => {
                    if !w.is_empty() {
                        let k = rng.below(w.len());
                        w[k].1 += 1;
                    }
                }
            },
            Op::Tile(r) => {
                let k = rng.below(r.len());
                r[k] = if r[k] == 2 { 3 } else { 2 };
            }
            Op::Repeat(r, _) => *r = if *r == 2 { 3 } else { 2 },
            Op::MapBlocks(k) => *k = next_up(*k),
            Op::MapOverlap { bnd: Bnd::Constant(c), .. } => *c = next_up(*c),
            Op::MapOverlap { depth, .. } => *depth = depth.saturating_sub(1),
            Op::Red { k: R::Var | R::Std | R::NanVar | R::NanStd, ddof, .. } => *ddof ^= 1,
            Op::Red { keep, .. } => *keep = !*keep,
            Op::Diagonal(o) | Op::Diag(o) => *o += 1,
            _ => {}
        }
        o
    }

    /// Evaluate `op` on node `xi` in the oracle: None if the op is invalid or
    /// would make the test depend on rounding (see the module docs).
    fn oracle(&self, xi: usize, op: &Op) -> Option<(Val, Prec, f64)> {
        let x = &self.nodes[xi];
        let shape = x.val.shape().to_vec();
        let nd = shape.len();
        let bit = x.prec == Prec::Bit;
        let mut prec = x.prec;
        let mut scale = x.scale;
        let same_shape = |v: &Val| v.shape().iter().product::<usize>() <= MAX_ELEMS && v.shape().len() <= MAX_NDIM;
        let val = match op {
            Op::Un(u) => match (&x.val, u) {
                (Val::F(a), u) => {
                    let sensitive = matches!(u, U::Sqrt | U::Ln | U::Log10 | U::Tan | U::Floor | U::Ceil | U::Round | U::PowF(_) | U::IsNan | U::IsFinite)
                        || matches!(u, U::PowI(n) if *n <= 0);
                    if sensitive && !bit {
                        return None;
                    }
                    if matches!(u, U::Exp | U::Ln | U::Log10 | U::Sin | U::Cos | U::Tan | U::Tanh | U::PowI(_) | U::PowF(_)) {
                        prec = Prec::Approx;
                    }
                    match *u {
                        U::Neg => Val::F(a.mapv(|v| -v)),
                        U::Abs => Val::F(a.mapv(f64::abs)),
                        U::Sqrt => Val::F(a.mapv(f64::sqrt)),
                        U::Exp => Val::F(a.mapv(f64::exp)),
                        U::Ln => Val::F(a.mapv(f64::ln)),
                        U::Log10 => Val::F(a.mapv(f64::log10)),
                        U::Sin => Val::F(a.mapv(f64::sin)),
                        U::Cos => Val::F(a.mapv(f64::cos)),
                        U::Tan => Val::F(a.mapv(f64::tan)),
                        U::Tanh => Val::F(a.mapv(f64::tanh)),
                        U::Floor => Val::F(a.mapv(f64::floor)),
                        U::Ceil => Val::F(a.mapv(f64::ceil)),
                        U::Round => Val::F(a.mapv(f64::round_ties_even)),
                        U::PowI(n) => Val::F(a.mapv(|v| v.powi(n))),
                        U::PowF(p) => Val::F(a.mapv(|v| v.powf(p))),
                        U::Clip(Sc::F(lo), Sc::F(hi)) => Val::F(a.mapv(|v| fmin(fmax(v, lo), hi))),
                        U::IsNan => Val::B(a.mapv(f64::is_nan)),
                        U::IsFinite => Val::B(a.mapv(f64::is_finite)),
                        _ => return None,
                    }
                }
                (Val::I(a), U::Neg) => Val::I(a.mapv(|v| v.wrapping_neg())),
                (Val::I(a), U::Abs) => Val::I(a.mapv(|v| v.wrapping_abs())),
                (Val::I(a), U::Clip(Sc::I(lo), Sc::I(hi))) => Val::I(a.mapv(|v| v.max(*lo).min(*hi))),
                _ => return None,
            },
            Op::Bin { op, rhs, swap } => {
                let (rv, rprec, rscale) = match rhs {
                    Opd::N(i) => (self.nodes[*i].val.clone(), self.nodes[*i].prec, self.nodes[*i].scale),
                    Opd::S(Sc::F(s)) => (Val::F(ArrayD::from_elem(IxDyn(&[]), *s)), Prec::Bit, s.abs()),
                    Opd::S(Sc::I(s)) => (Val::I(ArrayD::from_elem(IxDyn(&[]), *s)), Prec::Bit, s.abs() as f64),
                };
                let s = bshape(&shape, rv.shape())?;
                if s.iter().product::<usize>() > MAX_ELEMS || s.len() > MAX_NDIM {
                    return None;
                }
                let (l, r) = if *swap { (rv, x.val.clone()) } else { (x.val.clone(), rv) };
                let (lp, rp) = if *swap { (rprec, x.prec) } else { (x.prec, rprec) };
                let cmp = matches!(op, B::Gt | B::Ge | B::Lt | B::Le | B::Eq | B::Ne);
                if cmp && (lp != Prec::Bit || rp != Prec::Bit) {
                    return None;
                }
                if *op == B::Div && rp != Prec::Bit {
                    return None;
                }
                if lp == Prec::Approx || rp == Prec::Approx {
                    prec = Prec::Approx;
                } else {
                    prec = Prec::Bit;
                }
                scale = scale.max(rscale);
                match (&l, &r) {
                    (Val::F(a), Val::F(b)) => {
                        if *op == B::Div && b.iter().any(|&v| v == 0.0) {
                            return None;
                        }
                        match op {
                            B::Add => Val::F(zip2(a, b, |x, y| x + y)),
                            B::Sub => Val::F(zip2(a, b, |x, y| x - y)),
                            B::Mul => Val::F(zip2(a, b, |x, y| x * y)),
                            B::Div => Val::F(zip2(a, b, |x, y| x / y)),
                            B::Max => Val::F(zip2(a, b, fmax)),
                            B::Min => Val::F(zip2(a, b, fmin)),
                            B::Gt => Val::B(zip2(a, b, |x, y| x > y)),
                            B::Ge => Val::B(zip2(a, b, |x, y| x >= y)),
                            B::Lt => Val::B(zip2(a, b, |x, y| x < y)),
                            B::Le => Val::B(zip2(a, b, |x, y| x <= y)),
                            B::Eq => Val::B(zip2(a, b, |x, y| x == y)),
                            B::Ne => Val::B(zip2(a, b, |x, y| x != y)),
                        }
                    }
                    (Val::I(a), Val::I(b)) => match op {
                        B::Add => Val::I(zip2(a, b, |x, y| x.wrapping_add(y))),
                        B::Sub => Val::I(zip2(a, b, |x, y| x.wrapping_sub(y))),
                        B::Mul => Val::I(zip2(a, b, |x, y| x.wrapping_mul(y))),
                        B::Div => Val::I(zip2(a, b, |x, y| if y == 0 { 0 } else { x.wrapping_div(y) })),
                        B::Max => Val::I(zip2(a, b, |x, y| x.max(y))),
                        B::Min => Val::I(zip2(a, b, |x, y| x.min(y))),
                        B::Gt => Val::B(zip2(a, b, |x, y| x > y)),
                        B::Ge => Val::B(zip2(a, b, |x, y| x >= y)),
                        B::Lt => Val::B(zip2(a, b, |x, y| x < y)),
                        B::Le => Val::B(zip2(a, b, |x, y| x <= y)),
                        B::Eq => Val::B(zip2(a, b, |x, y| x == y)),
                        B::Ne => Val::B(zip2(a, b, |x, y| x != y)),
                    },
                    (Val::B(a), Val::B(b)) => match op {
                        B::Eq => Val::B(zip2(a, b, |x, y| x == y)),
                        B::Ne => Val::B(zip2(a, b, |x, y| x != y)),
                        _ => return None,
                    },
                    _ => return None,
                }
            }
            Op::Where { cond, other, swap } => {
                let c = &self.nodes[*cond];
                let Val::B(cv) = &c.val else { return None };
                let (ov, op_, osc) = match other {
                    Opd::N(i) => (self.nodes[*i].val.clone(), self.nodes[*i].prec, self.nodes[*i].scale),
                    Opd::S(Sc::F(s)) => (Val::F(ArrayD::from_elem(IxDyn(&[]), *s)), Prec::Bit, s.abs()),
                    Opd::S(Sc::I(s)) => (Val::I(ArrayD::from_elem(IxDyn(&[]), *s)), Prec::Bit, s.abs() as f64),
                };
                if c.prec != Prec::Bit {
                    return None;
                }
                let s = bshape(&bshape(cv.shape(), &shape)?, ov.shape())?;
                if s.iter().product::<usize>() > MAX_ELEMS || s.len() > MAX_NDIM {
                    return None;
                }
                if op_ == Prec::Approx {
                    prec = Prec::Approx;
                }
                scale = scale.max(osc);
                let (a, b) = if *swap { (ov, x.val.clone()) } else { (x.val.clone(), ov) };
                match (&a, &b) {
                    (Val::F(a), Val::F(b)) => Val::F(zip3(cv, a, b, |c, x, y| if c { x } else { y })),
                    (Val::I(a), Val::I(b)) => Val::I(zip3(cv, a, b, |c, x, y| if c { x } else { y })),
                    (Val::B(a), Val::B(b)) => Val::B(zip3(cv, a, b, |c, x, y| if c { x } else { y })),
                    _ => return None,
                }
            }
            Op::Cast(to) => {
                match (&x.val, to) {
                    (Val::F(a), Dt::I) => {
                        if !bit || a.iter().any(|v| !v.is_finite() || v.abs() > 1e18) {
                            return None;
                        }
                        Val::I(a.mapv(|v| v as i64))
                    }
                    (Val::F(a), Dt::B) => {
                        if !bit || a.iter().any(|v| v.is_nan()) {
                            return None;
                        }
                        Val::B(a.mapv(|v| v != 0.0))
                    }
                    (Val::I(a), Dt::F) => Val::F(a.mapv(|v| v as f64)),
                    (Val::I(a), Dt::B) => Val::B(a.mapv(|v| v != 0)),
                    (Val::B(a), Dt::F) => Val::F(a.mapv(|v| if v { 1.0 } else { 0.0 })),
                    (Val::B(a), Dt::I) => Val::I(a.mapv(|v| v as i64)),
                    _ => return None, // same dtype: cast is the identity (no node)
                }
            }
            Op::Red { k, axes, keep, ddof } => {
                let ax: Vec<usize> = match axes {
                    None => (0..nd).collect(),
                    Some(v) => v.clone(),
                };
                if ax.iter().any(|&a| a >= nd) {
                    return None;
                }
                let empty = ax.iter().any(|&a| shape[a] == 0);
                if empty && matches!(k, R::Min | R::Max | R::NanMin | R::NanMax) {
                    return None;
                }
                if matches!(k, R::Any | R::All) && !bit {
                    return None;
                }
                let dy = bit && x.val.dyadic();
                let af = x.val.to_f64();
                let n_red: usize = ax.iter().map(|&a| shape[a]).product();
                match k {
                    R::Var | R::Std | R::NanVar | R::NanStd => {
                        let nan = matches!(k, R::NanVar | R::NanStd);
                        // ddof >= count divides 0 (NaN) or M2 (inf): only where M2 is exact
                        let min_count = reduce(&af, &ax, false, |v| if nan { nn(v).len() } else { v.len() }).iter().copied().min().unwrap_or(usize::MAX);
                        if *ddof >= min_count && min_count > 0 && !dy {
                            return None;
                        }
                        if *ddof >= min_count && min_count > 0 && dy {
                            // an M2 of 0 vs > 0 is exact, but NaN in the input makes inf vs NaN order-free anyway
                        }
                        prec = Prec::Approx;
                        scale = 4.0 * x.scale * x.scale + 1.0;
                    }
                    R::Sum | R::NanSum if x.val.dt() == Dt::F => {
                        if !dy {
                            prec = Prec::Approx;
                        }
                    }
                    R::Mean | R::NanMean => prec = Prec::Approx,
                    R::Prod => {
                        if x.val.dt() == Dt::F {
                            if log_bound(&af) * n_red as f64 > 900.0 {
                                return None;
                            }
                            prec = Prec::Approx;
                        }
                    }
                    _ => {}
                }
                let ddof = *ddof;
                let keep = *keep;
                match (&x.val, k) {
                    (Val::F(a), k) => match k {
                        R::Sum => Val::F(reduce(a, &ax, keep, |v| v.iter().fold(0.0, |s, &x| s + x))),
                        R::NanSum => Val::F(reduce(a, &ax, keep, |v| nn(v).iter().fold(0.0, |s, &x| s + x))),
                        R::Prod => Val::F(reduce(a, &ax, keep, |v| v.iter().product())),
                        R::Mean => Val::F(reduce(a, &ax, keep, |v| v.iter().fold(0.0, |s, &x| s + x) / v.len() as f64)),
                        R::NanMean => Val::F(reduce(a, &ax, keep, |v| {
                            let w = nn(v);
                            w.iter().fold(0.0, |s, &x| s + x) / w.len() as f64
                        })),
                        R::Var => Val::F(reduce(a, &ax, keep, |v| var_m2(v, ddof))),
                        R::Std => Val::F(reduce(a, &ax, keep, |v| var_m2(v, ddof).sqrt())),
                        R::NanVar => Val::F(reduce(a, &ax, keep, |v| var_m2(&nn(v), ddof))),
                        R::NanStd => Val::F(reduce(a, &ax, keep, |v| var_m2(&nn(v), ddof).sqrt())),
                        R::Min => Val::F(reduce(a, &ax, keep, |v| v.iter().copied().fold(f64::INFINITY, fmin))),
                        R::Max => Val::F(reduce(a, &ax, keep, |v| v.iter().copied().fold(f64::NEG_INFINITY, fmax))),
                        R::NanMin => Val::F(reduce(a, &ax, keep, |v| nn(v).into_iter().reduce(f64::min).unwrap_or(f64::NAN))),
                        R::NanMax => Val::F(reduce(a, &ax, keep, |v| nn(v).into_iter().reduce(f64::max).unwrap_or(f64::NAN))),
                        R::Any => Val::B(reduce(a, &ax, keep, |v| v.iter().any(|&x| x != 0.0))),
                        R::All => Val::B(reduce(a, &ax, keep, |v| v.iter().all(|&x| x != 0.0))),
                    },
                    (Val::I(a), k) => match k {
                        R::Sum | R::NanSum => Val::I(reduce(a, &ax, keep, |v| v.iter().fold(0i64, |s, &x| s.wrapping_add(x)))),
                        R::Prod => Val::I(reduce(a, &ax, keep, |v| v.iter().fold(1i64, |s, &x| s.wrapping_mul(x)))),
                        R::Mean | R::NanMean => Val::F(reduce(a, &ax, keep, |v| v.iter().map(|&x| x as f64).fold(0.0, |s, x| s + x) / v.len() as f64)),
                        R::Var | R::NanVar => Val::F(reduce(a, &ax, keep, |v| var_m2(&v.iter().map(|&x| x as f64).collect::<Vec<_>>(), ddof))),
                        R::Std | R::NanStd => Val::F(reduce(a, &ax, keep, |v| var_m2(&v.iter().map(|&x| x as f64).collect::<Vec<_>>(), ddof).sqrt())),
                        R::Min | R::NanMin => Val::I(reduce(a, &ax, keep, |v| *v.iter().min().unwrap())),
                        R::Max | R::NanMax => Val::I(reduce(a, &ax, keep, |v| *v.iter().max().unwrap())),
                        R::Any => Val::B(reduce(a, &ax, keep, |v| v.iter().any(|&x| x != 0))),
                        R::All => Val::B(reduce(a, &ax, keep, |v| v.iter().all(|&x| x != 0))),
                    },
                    (Val::B(a), k) => match k {
                        R::Sum => Val::I(reduce(a, &ax, keep, |v| v.iter().filter(|&&x| x).count() as i64)),
                        R::Mean => Val::F(reduce(a, &ax, keep, |v| v.iter().filter(|&&x| x).count() as f64 / v.len() as f64)),
                        R::Min | R::All => Val::B(reduce(a, &ax, keep, |v| v.iter().all(|&x| x))),
                        R::Max | R::Any => Val::B(reduce(a, &ax, keep, |v| v.iter().any(|&x| x))),
                        _ => return None,
                    },
                }
            }
            Op::Arg { max, axis } => {
                if *axis >= nd || shape[*axis] == 0 || !bit {
                    return None;
                }
                Val::I(reduce(&x.val.to_f64(), &[*axis], false, |v| arg_ext(v, *max)))
            }
            Op::Scan { prod, axis } => {
                if *axis >= nd {
                    return None;
                }
                match &x.val {
                    Val::F(a) => {
                        if *prod {
                            if log_bound(a) * shape[*axis] as f64 > 900.0 {
                                return None;
                            }
                            prec = Prec::Approx;
                            Val::F(scan(a, *axis, 1.0, |s, v| s * v))
                        } else {
                            if !(bit && x.val.dyadic()) {
                                prec = Prec::Approx;
                            }
                            Val::F(scan(a, *axis, 0.0, |s, v| s + v))
                        }
                    }
                    Val::I(a) => Val::I(if *prod { scan(a, *axis, 1i64, |s, v| s.wrapping_mul(v)) } else { scan(a, *axis, 0i64, |s, v| s.wrapping_add(v)) }),
                    Val::B(a) => Val::I(if *prod { scan(a, *axis, 1i64, |s, v| s * v as i64) } else { scan(a, *axis, 0i64, |s, v| s + v as i64) }),
                }
            }
            Op::Rechunk(c) => {
                if c.len() != nd || c.iter().zip(&shape).any(|(c, &n)| c.iter().sum::<usize>() != n) {
                    return None;
                }
                x.val.clone()
            }
            Op::Concat { axis, others } | Op::Stack { axis, others } => {
                let stack = matches!(op, Op::Stack { .. });
                let mut all = vec![xi];
                all.extend(others.iter().copied());
                for &o in &all {
                    let n = &self.nodes[o];
                    if n.val.dt() != x.val.dt() || n.val.shape().len() != nd {
                        return None;
                    }
                    if stack && n.val.shape() != shape.as_slice() {
                        return None;
                    }
                    if !stack && (0..nd).any(|k| k != *axis && n.val.shape()[k] != shape[k]) {
                        return None;
                    }
                    if n.prec == Prec::Approx {
                        prec = Prec::Approx;
                    }
                    scale = scale.max(n.scale);
                }
                if (!stack && *axis >= nd) || (stack && *axis > nd) {
                    return None;
                }
                macro_rules! cat {
                    ($V:ident) => {{
                        let views: Vec<_> = all
                            .iter()
                            .map(|&o| match &self.nodes[o].val {
                                Val::$V(a) => a.view(),
                                _ => unreachable!(),
                            })
                            .collect();
                        Val::$V(if stack { ndarray::stack(Axis(*axis), &views).ok()? } else { ndarray::concatenate(Axis(*axis), &views).ok()? })
                    }};
                }
                match x.val.dt() {
                    Dt::F => cat!(F),
                    Dt::I => cat!(I),
                    Dt::B => cat!(B),
                }
            }
            Op::Slice(s) => {
                if !slice_ok(s, &shape) {
                    return None;
                }
                let mut info = to_info(s);
                let named = s.iter().filter(|e| !matches!(e, SE::NewAxis)).count();
                for _ in named..nd {
                    info.push(SliceInfoElem::Slice { start: 0, end: None, step: 1 });
                }
                each!(&x.val, a => a.slice(info.as_slice()).to_owned())
            }
            Op::Flip(axis) => {
                if *axis >= nd {
                    return None;
                }
                each!(&x.val, a => { let mut v = a.clone(); v.invert_axis(Axis(*axis)); v.as_standard_layout().to_owned() })
            }
            Op::Perm(p) => {
                let mut q = p.clone();
                q.sort_unstable();
                if q != (0..nd).collect::<Vec<_>>() {
                    return None;
                }
                each!(&x.val, a => a.clone().permuted_axes(p.clone()).as_standard_layout().to_owned())
            }
            Op::T => each!(&x.val, a => a.t().as_standard_layout().to_owned()),
            Op::Reshape(s) => {
                if s.iter().product::<usize>() != shape.iter().product::<usize>() || s.len() > MAX_NDIM {
                    return None;
                }
                each!(&x.val, a => a.as_standard_layout().to_owned().into_shape_with_order(IxDyn(s)).unwrap())
            }
            Op::Squeeze => {
                let s: Vec<usize> = shape.iter().copied().filter(|&l| l != 1).collect();
                each!(&x.val, a => a.clone().into_shape_with_order(IxDyn(&s)).unwrap())
            }
            Op::Insert(k) => {
                if *k > nd || nd >= MAX_NDIM {
                    return None;
                }
                each!(&x.val, a => a.clone().insert_axis(Axis(*k)))
            }
            Op::Take(idx, axis) => {
                if *axis >= nd || idx.iter().any(|&i| i >= shape[*axis]) {
                    return None;
                }
                each!(&x.val, a => a.select(Axis(*axis), idx))
            }
            Op::Roll(sh, axis) => {
                if *axis >= nd {
                    return None;
                }
                let n = shape[*axis] as i64;
                let map: Vec<i64> = (0..n).map(|i| (i - *sh as i64).rem_euclid(n)).collect();
                each!(&x.val, a => gather(a, *axis, &map, a.first().cloned().unwrap_or_default()))
            }
            Op::Pad(w, mode) => {
                if w.len() != nd {
                    return None;
                }
                match (mode, x.val.dt()) {
                    (PM::Constant(Sc::F(_)), Dt::F) | (PM::Constant(Sc::I(_)), Dt::I) => {}
                    (PM::Constant(_), _) => return None,
                    _ => {}
                }
                if let PM::Constant(Sc::F(c)) = mode {
                    scale = scale.max(c.abs());
                }
                let mut v = x.val.clone();
                for (k, &(b, e)) in w.iter().enumerate() {
                    if b == 0 && e == 0 {
                        continue;
                    }
                    let n = v.shape()[k] as i64;
                    if n == 0 && !matches!(mode, PM::Constant(_)) {
                        return None;
                    }
                    let map: Vec<i64> = (-(b as i64)..n + e as i64).map(|i| edge_index(i, n, mode)).collect();
                    v = match (&v, mode) {
                        (Val::F(a), PM::Constant(Sc::F(c))) => Val::F(gather(a, k, &map, *c)),
                        (Val::I(a), PM::Constant(Sc::I(c))) => Val::I(gather(a, k, &map, *c)),
                        (v, _) => each!(v, a => gather(a, k, &map, Default::default())),
                    };
                }
                v
            }
            Op::Tile(reps) => {
                let mut v = x.val.clone();
                while v.shape().len() < reps.len() {
                    v = each!(&v, a => a.clone().insert_axis(Axis(0)));
                }
                let off = v.shape().len() - reps.len();
                for (j, &r) in reps.iter().enumerate() {
                    let k = j + off;
                    let n = v.shape()[k] as i64;
                    let map: Vec<i64> = (0..n * r as i64).map(|i| i % n.max(1)).collect();
                    v = each!(&v, a => gather(a, k, &map, Default::default()));
                }
                v
            }
            Op::Repeat(r, axis) => {
                if *axis >= nd {
                    return None;
                }
                let n = shape[*axis] as i64;
                let map: Vec<i64> = (0..n * *r as i64).map(|i| i / *r as i64).collect();
                each!(&x.val, a => gather(a, *axis, &map, Default::default()))
            }
            Op::Bcast(s) => {
                if s.len() > MAX_NDIM || s.len() < nd || s.iter().product::<usize>() > MAX_ELEMS {
                    return None;
                }
                if bshape(&shape, s)? != *s {
                    return None;
                }
                each!(&x.val, a => a.broadcast(IxDyn(s))?.to_owned())
            }
            Op::Diagonal(off) => {
                if nd != 2 {
                    return None;
                }
                let (m, n) = (shape[0] as i64, shape[1] as i64);
                let o = *off as i64;
                let (r0, c0) = if o >= 0 { (0, o) } else { (-o, 0) };
                let len = (m - r0).min(n - c0).max(0) as usize;
                each!(&x.val, a => ArrayD::from_shape_fn(IxDyn(&[len]), |i| a[[r0 as usize + i[0], c0 as usize + i[0]]].clone()))
            }
            Op::Diag(off) => {
                if nd != 1 {
                    return None;
                }
                let n = shape[0] + off.unsigned_abs();
                if n * n > MAX_ELEMS {
                    return None;
                }
                let o = *off as i64;
                each!(&x.val, a => ArrayD::from_shape_fn(IxDyn(&[n, n]), |i| {
                    let (r, c) = (i[0] as i64, i[1] as i64);
                    if c - r == o { a[[(if o >= 0 { r } else { c }) as usize]].clone() } else { Default::default() }
                }))
            }
            Op::Matmul(other) => {
                let y = match other {
                    Some(o) => {
                        let y = &self.nodes[*o];
                        if y.val.dt() != x.val.dt() || y.val.shape().len() != 2 || nd == 0 || nd > 2 || y.val.shape()[0] != shape[nd - 1] {
                            return None;
                        }
                        if y.prec == Prec::Approx {
                            prec = Prec::Approx;
                        }
                        scale = scale.max(y.scale);
                        y.val.clone()
                    }
                    None => match nd {
                        1 => x.val.clone(),
                        2 => each!(&x.val, a => a.t().to_owned()),
                        3 => each!(&x.val, a => a.clone().permuted_axes(vec![0, 2, 1]).as_standard_layout().to_owned()),
                        _ => return None,
                    },
                };
                let k = shape[nd - 1].max(1);
                let v = match (&x.val, &y) {
                    (Val::F(a), Val::F(b)) => {
                        prec = Prec::Approx;
                        scale = scale * scale * k as f64 + 1.0;
                        Val::F(matmul_f(a, b))
                    }
                    (Val::I(a), Val::I(b)) => Val::I(matmul_i(a, b)),
                    _ => return None,
                };
                if !same_shape(&v) {
                    return None;
                }
                v
            }
            Op::MapBlocks(k) => {
                let Val::F(a) = &x.val else { return None };
                scale = scale.max(k.abs());
                let k = *k;
                Val::F(a.mapv(|v| v * k + 1.0))
            }
            Op::MapOverlap { axis, depth, bnd } => {
                let Val::F(a) = &x.val else { return None };
                if *axis >= nd || *depth > shape[*axis] {
                    return None;
                }
                if let Bnd::Constant(c) = bnd {
                    scale = scale.max(c.abs());
                }
                Val::F(overlap_oracle(a, *axis, *depth, *bnd))
            }
        };
        if !same_shape(&val) {
            return None;
        }
        if self.avoid_arg && matches!(op, Op::Arg { .. }) {
            return None;
        }
        if self.avoid_cse_gather && matches!(op, Op::Take(..) | Op::Roll(..) | Op::Tile(..) | Op::Repeat(..) | Op::Pad(..)) && val.shape().iter().any(|&l| l > 6) {
            // a gather with a map longer than 6 displays as "[N positions]"
            return None;
        }
        scale = scale.max(val.maxabs());
        Some((val, prec, scale))
    }

    fn opd_code(&self, o: &Opd) -> String {
        match o {
            Opd::N(i) => format!("&{}", self.nodes[*i].name),
            Opd::S(s) => scstr(*s),
        }
    }

    /// The Rust expression (returning `Result<Array<_>>`) that builds `op` on `x`.
    fn code_of(&self, xi: usize, op: &Op) -> String {
        let x = &self.nodes[xi].name;
        let axes_code = |axes: &Option<Vec<usize>>, keep: bool| {
            let a = match axes {
                None => "Axes::all()".to_string(),
                Some(v) => format!("Axes::from(vec!{v:?})"),
            };
            if keep {
                format!("{a}.keepdims()")
            } else {
                a
            }
        };
        match op {
            Op::Un(u) => match u {
                U::Clip(lo, hi) => format!("Ok::<_, floe::Error>({x}.clip({}, {}))", scstr(*lo), scstr(*hi)),
                U::PowI(n) => format!("Ok::<_, floe::Error>({x}.powi({n}))"),
                U::PowF(p) => format!("Ok::<_, floe::Error>({x}.powf({}))", fstr(*p)),
                U::Neg => format!("Ok::<_, floe::Error>(-&{x})"),
                _ => format!("Ok::<_, floe::Error>({x}.{}())", format!("{u:?}").to_lowercase().replace("isnan", "isnan").replace("isfinite", "isfinite")),
            },
            Op::Bin { op, rhs, swap } => {
                let r = self.opd_code(rhs);
                let m = match op {
                    B::Add => "try_add",
                    B::Sub => "try_sub",
                    B::Mul => "try_mul",
                    B::Div => "try_div",
                    B::Max => "maximum",
                    B::Min => "minimum",
                    B::Gt => "greater",
                    B::Ge => "greater_equal",
                    B::Lt => "less",
                    B::Le => "less_equal",
                    B::Eq => "equal",
                    B::Ne => "not_equal",
                };
                if *swap {
                    let sym = match op {
                        B::Add => "+",
                        B::Sub => "-",
                        B::Mul => "*",
                        _ => "/",
                    };
                    format!("Ok::<_, floe::Error>({r} {sym} &{x})")
                } else {
                    format!("{x}.{m}({r})")
                }
            }
            Op::Where { cond, other, swap } => {
                let c = &self.nodes[*cond].name;
                let o = self.opd_code(other);
                if *swap {
                    format!("floe::where_(&{c}, {o}, &{x})")
                } else {
                    format!("floe::where_(&{c}, &{x}, {o})")
                }
            }
            Op::Cast(to) => format!(
                "Ok::<_, floe::Error>({x}.cast::<{}>())",
                match to {
                    Dt::F => "f64",
                    Dt::I => "i64",
                    Dt::B => "bool",
                }
            ),
            Op::Red { k, axes, keep, ddof } => {
                let name = format!("{k:?}").to_lowercase();
                if matches!(k, R::Var | R::Std | R::NanVar | R::NanStd) {
                    format!("{x}.{name}({}, {ddof})", axes_code(axes, *keep))
                } else {
                    format!("{x}.{name}({})", axes_code(axes, *keep))
                }
            }
            Op::Arg { max, axis } => format!("{x}.{}({axis})", if *max { "argmax" } else { "argmin" }),
            Op::Scan { prod, axis } => format!("{x}.{}({axis})", if *prod { "cumprod" } else { "cumsum" }),
            Op::Rechunk(c) => format!("{x}.rechunk({})", chunks_code(c)),
            Op::Concat { axis, others } | Op::Stack { axis, others } => {
                let f = if matches!(op, Op::Stack { .. }) { "stack" } else { "concatenate" };
                let mut v = vec![format!("&{x}")];
                v.extend(others.iter().map(|&o| format!("&{}", self.nodes[o].name)));
                format!("floe::{f}({axis}, &[{}])", v.join(", "))
            }
            Op::Slice(s) => {
                let parts: Vec<String> = s
                    .iter()
                    .map(|e| match e {
                        SE::Range { start, end, step } => format!("SliceInfoElem::Slice {{ start: {start}, end: {end:?}, step: {step} }}"),
                        SE::Index(i) => format!("SliceInfoElem::Index({i})"),
                        SE::NewAxis => "SliceInfoElem::NewAxis".into(),
                    })
                    .collect();
                format!("{x}.slice([{}])", parts.join(", "))
            }
            Op::Flip(a) => format!("{x}.flip({a})"),
            Op::Perm(p) => format!("{x}.permuted_axes(&{p:?})"),
            Op::T => format!("Ok::<_, floe::Error>({x}.t())"),
            Op::Reshape(s) => format!("{x}.reshape(&{s:?})"),
            Op::Squeeze => format!("Ok::<_, floe::Error>({x}.squeeze())"),
            Op::Insert(k) => format!("{x}.insert_axis({k})"),
            Op::Take(idx, axis) => format!("{x}.take(&{idx:?}, {axis})"),
            Op::Roll(s, a) => format!("{x}.roll({s}, {a})"),
            Op::Pad(w, mode) => {
                let m = match mode {
                    PM::Constant(c) => format!("PadMode::Constant({})", scstr(*c)),
                    m => format!("PadMode::{m:?}"),
                };
                format!("{x}.pad(&{w:?}, {m})")
            }
            Op::Tile(r) => format!("{x}.tile(&{r:?})"),
            Op::Repeat(r, a) => format!("{x}.repeat({r}, {a})"),
            Op::Bcast(s) => format!("{x}.broadcast_to(&{s:?})"),
            Op::Diagonal(o) => format!("{x}.diagonal({o})"),
            Op::Diag(o) => format!("floe::diag(&{x}, {o})"),
            Op::Matmul(Some(o)) => format!("{x}.matmul(&{})", self.nodes[*o].name),
            Op::Matmul(None) => match self.nodes[xi].val.shape().len() {
                1 => format!("{x}.matmul(&{x})"),
                2 => format!("{x}.matmul(&{x}.t())"),
                _ => format!("{x}.matmul(&{x}.permuted_axes(&[0, 2, 1]).unwrap())"),
            },
            Op::MapBlocks(k) => format!("{x}.map_blocks(move |b: ArrayViewD<f64>| b.mapv(|v| v * {} + 1.0))", fstr(*k)),
            Op::MapOverlap { axis, depth, bnd } => {
                let mut dv = vec![0usize; self.nodes[xi].val.shape().len()];
                dv[*axis] = *depth;
                let b = match bnd {
                    Bnd::Constant(c) => format!("Boundary::Constant({})", fstr(*c)),
                    b => format!("Boundary::{b:?}"),
                };
                format!("{x}.map_overlap(&{dv:?}, {b}, move |g: ArrayViewD<f64>| overlap_kernel(g, {axis}, {depth}))")
            }
        }
    }

    /// Build `op` on `x` with floe.
    fn floe_of(&self, xi: usize, op: &Op) -> Result<Lz, floe::Error> {
        let x = &self.nodes[xi].lz;
        let node = |i: usize| &self.nodes[i].lz;
        macro_rules! axes_of {
            ($axes:expr, $keep:expr) => {{
                let a = match $axes {
                    None => Axes::all(),
                    Some(v) => Axes::from(v.clone()),
                };
                if $keep {
                    a.keepdims()
                } else {
                    a
                }
            }};
        }
        Ok(match op {
            Op::Un(u) => match (x, u) {
                (Lz::F(a), u) => match *u {
                    U::Neg => Lz::F(-a),
                    U::Abs => Lz::F(a.abs()),
                    U::Sqrt => Lz::F(a.sqrt()),
                    U::Exp => Lz::F(a.exp()),
                    U::Ln => Lz::F(a.ln()),
                    U::Log10 => Lz::F(a.log10()),
                    U::Sin => Lz::F(a.sin()),
                    U::Cos => Lz::F(a.cos()),
                    U::Tan => Lz::F(a.tan()),
                    U::Tanh => Lz::F(a.tanh()),
                    U::Floor => Lz::F(a.floor()),
                    U::Ceil => Lz::F(a.ceil()),
                    U::Round => Lz::F(a.round()),
                    U::PowI(n) => Lz::F(a.powi(n)),
                    U::PowF(p) => Lz::F(a.powf(p)),
                    U::Clip(Sc::F(lo), Sc::F(hi)) => Lz::F(a.clip(lo, hi)),
                    U::IsNan => Lz::B(a.isnan()),
                    U::IsFinite => Lz::B(a.isfinite()),
                    _ => unreachable!(),
                },
                (Lz::I(a), U::Neg) => Lz::I(-a),
                (Lz::I(a), U::Abs) => Lz::I(a.abs()),
                (Lz::I(a), U::Clip(Sc::I(lo), Sc::I(hi))) => Lz::I(a.clip(*lo, *hi)),
                _ => unreachable!(),
            },
            Op::Bin { op, rhs, swap } => {
                if *swap {
                    return Ok(match (x, rhs) {
                        (Lz::F(a), Opd::S(Sc::F(s))) => Lz::F(match op {
                            B::Add => *s + a,
                            B::Sub => *s - a,
                            B::Mul => *s * a,
                            _ => *s / a,
                        }),
                        (Lz::I(a), Opd::S(Sc::I(s))) => Lz::I(match op {
                            B::Add => *s + a,
                            B::Sub => *s - a,
                            B::Mul => *s * a,
                            _ => *s / a,
                        }),
                        _ => unreachable!(),
                    });
                }
                macro_rules! bin {
                    ($V:ident, $T:ty, $a:expr, $r:expr) => {{
                        let a = $a;
                        let r: floe::Operand<$T> = $r;
                        match op {
                            B::Add => Lz::$V(a.try_add(r)?),
                            B::Sub => Lz::$V(a.try_sub(r)?),
                            B::Mul => Lz::$V(a.try_mul(r)?),
                            B::Div => Lz::$V(a.try_div(r)?),
                            B::Max => Lz::$V(a.maximum(r)?),
                            B::Min => Lz::$V(a.minimum(r)?),
                            B::Gt => Lz::B(a.greater(r)?),
                            B::Ge => Lz::B(a.greater_equal(r)?),
                            B::Lt => Lz::B(a.less(r)?),
                            B::Le => Lz::B(a.less_equal(r)?),
                            B::Eq => Lz::B(a.equal(r)?),
                            B::Ne => Lz::B(a.not_equal(r)?),
                        }
                    }};
                }
                match (x, rhs) {
                    (Lz::F(a), Opd::S(Sc::F(s))) => bin!(F, f64, a, (*s).into()),
                    (Lz::F(a), Opd::N(i)) => match node(*i) {
                        Lz::F(b) => bin!(F, f64, a, b.into()),
                        _ => unreachable!(),
                    },
                    (Lz::I(a), Opd::S(Sc::I(s))) => bin!(I, i64, a, (*s).into()),
                    (Lz::I(a), Opd::N(i)) => match node(*i) {
                        Lz::I(b) => bin!(I, i64, a, b.into()),
                        _ => unreachable!(),
                    },
                    (Lz::B(a), Opd::N(i)) => match (node(*i), op) {
                        (Lz::B(b), B::Eq) => Lz::B(a.equal(b)?),
                        (Lz::B(b), B::Ne) => Lz::B(a.not_equal(b)?),
                        _ => unreachable!(),
                    },
                    _ => unreachable!(),
                }
            }
            Op::Where { cond, other, swap } => {
                let Lz::B(c) = node(*cond) else { unreachable!() };
                macro_rules! wh {
                    ($V:ident, $T:ty, $a:expr, $o:expr) => {{
                        let o: floe::Operand<$T> = $o;
                        if *swap {
                            Lz::$V(floe::where_(c, o, $a)?)
                        } else {
                            Lz::$V(floe::where_(c, $a, o)?)
                        }
                    }};
                }
                match (x, other) {
                    (Lz::F(a), Opd::S(Sc::F(s))) => wh!(F, f64, a, (*s).into()),
                    (Lz::I(a), Opd::S(Sc::I(s))) => wh!(I, i64, a, (*s).into()),
                    (Lz::F(a), Opd::N(i)) => match node(*i) {
                        Lz::F(b) => wh!(F, f64, a, b.into()),
                        _ => unreachable!(),
                    },
                    (Lz::I(a), Opd::N(i)) => match node(*i) {
                        Lz::I(b) => wh!(I, i64, a, b.into()),
                        _ => unreachable!(),
                    },
                    (Lz::B(a), Opd::N(i)) => match node(*i) {
                        Lz::B(b) => wh!(B, bool, a, b.into()),
                        _ => unreachable!(),
                    },
                    _ => unreachable!(),
                }
            }
            Op::Cast(to) => match (x, to) {
                (Lz::F(a), Dt::I) => Lz::I(a.cast()),
                (Lz::F(a), Dt::B) => Lz::B(a.cast()),
                (Lz::I(a), Dt::F) => Lz::F(a.cast()),
                (Lz::I(a), Dt::B) => Lz::B(a.cast()),
                (Lz::B(a), Dt::F) => Lz::F(a.cast()),
                (Lz::B(a), Dt::I) => Lz::I(a.cast()),
                _ => unreachable!(),
            },
            Op::Red { k, axes, keep, ddof } => {
                let ax = axes_of!(axes, *keep);
                let ddof = *ddof;
                match x {
                    Lz::F(a) => match k {
                        R::Sum => Lz::F(a.sum(ax)?),
                        R::Prod => Lz::F(a.prod(ax)?),
                        R::Mean => Lz::F(a.mean(ax)?),
                        R::Var => Lz::F(a.var(ax, ddof)?),
                        R::Std => Lz::F(a.std(ax, ddof)?),
                        R::Min => Lz::F(a.min(ax)?),
                        R::Max => Lz::F(a.max(ax)?),
                        R::Any => Lz::B(a.any(ax)?),
                        R::All => Lz::B(a.all(ax)?),
                        R::NanSum => Lz::F(a.nansum(ax)?),
                        R::NanMean => Lz::F(a.nanmean(ax)?),
                        R::NanMin => Lz::F(a.nanmin(ax)?),
                        R::NanMax => Lz::F(a.nanmax(ax)?),
                        R::NanVar => Lz::F(a.nanvar(ax, ddof)?),
                        R::NanStd => Lz::F(a.nanstd(ax, ddof)?),
                    },
                    Lz::I(a) => match k {
                        R::Sum => Lz::I(a.sum(ax)?),
                        R::Prod => Lz::I(a.prod(ax)?),
                        R::Mean => Lz::F(a.mean(ax)?),
                        R::Var => Lz::F(a.var(ax, ddof)?),
                        R::Std => Lz::F(a.std(ax, ddof)?),
                        R::Min => Lz::I(a.min(ax)?),
                        R::Max => Lz::I(a.max(ax)?),
                        R::Any => Lz::B(a.any(ax)?),
                        R::All => Lz::B(a.all(ax)?),
                        R::NanSum => Lz::I(a.nansum(ax)?),
                        R::NanMean => Lz::F(a.nanmean(ax)?),
                        R::NanMin => Lz::I(a.nanmin(ax)?),
                        R::NanMax => Lz::I(a.nanmax(ax)?),
                        R::NanVar => Lz::F(a.nanvar(ax, ddof)?),
                        R::NanStd => Lz::F(a.nanstd(ax, ddof)?),
                    },
                    Lz::B(a) => match k {
                        R::Sum => Lz::I(a.sum(ax)?),
                        R::Mean => Lz::F(a.mean(ax)?),
                        R::Min => Lz::B(a.min(ax)?),
                        R::Max => Lz::B(a.max(ax)?),
                        R::Any => Lz::B(a.any(ax)?),
                        R::All => Lz::B(a.all(ax)?),
                        _ => unreachable!(),
                    },
                }
            }
            Op::Arg { max, axis } => match x {
                Lz::F(a) => Lz::I(if *max { a.argmax(*axis)? } else { a.argmin(*axis)? }),
                Lz::I(a) => Lz::I(if *max { a.argmax(*axis)? } else { a.argmin(*axis)? }),
                Lz::B(a) => Lz::I(if *max { a.argmax(*axis)? } else { a.argmin(*axis)? }),
            },
            Op::Scan { prod, axis } => match x {
                Lz::F(a) => Lz::F(if *prod { a.cumprod(*axis)? } else { a.cumsum(*axis)? }),
                Lz::I(a) => Lz::I(if *prod { a.cumprod(*axis)? } else { a.cumsum(*axis)? }),
                Lz::B(a) => Lz::I(if *prod { a.cumprod(*axis)? } else { a.cumsum(*axis)? }),
            },
            Op::Rechunk(c) => each_lz!(x, a => a.rechunk(c.clone())),
            Op::Concat { axis, others } | Op::Stack { axis, others } => {
                let stack = matches!(op, Op::Stack { .. });
                macro_rules! cat {
                    ($V:ident, $a:expr) => {{
                        let mut v = vec![$a];
                        for &o in others {
                            match node(o) {
                                Lz::$V(b) => v.push(b),
                                _ => unreachable!(),
                            }
                        }
                        Lz::$V(if stack { floe::stack(*axis, &v)? } else { floe::concatenate(*axis, &v)? })
                    }};
                }
                match x {
                    Lz::F(a) => cat!(F, a),
                    Lz::I(a) => cat!(I, a),
                    Lz::B(a) => cat!(B, a),
                }
            }
            Op::Slice(s) => {
                let info = to_info(s);
                each_lz!(x, a => a.slice(info.as_slice()))
            }
            Op::Flip(k) => each_lz!(x, a => a.flip(*k)),
            Op::Perm(p) => each_lz!(x, a => a.permuted_axes(p)),
            Op::T => each_lz!(x, a => Ok::<_, floe::Error>(a.t())),
            Op::Reshape(s) => each_lz!(x, a => a.reshape(s)),
            Op::Squeeze => each_lz!(x, a => Ok::<_, floe::Error>(a.squeeze())),
            Op::Insert(k) => each_lz!(x, a => a.insert_axis(*k)),
            Op::Take(idx, k) => each_lz!(x, a => a.take(idx, *k)),
            Op::Roll(s, k) => each_lz!(x, a => a.roll(*s, *k)),
            Op::Pad(w, mode) => match (x, mode) {
                (Lz::F(a), PM::Constant(Sc::F(c))) => Lz::F(a.pad(w, PadMode::Constant(*c))?),
                (Lz::I(a), PM::Constant(Sc::I(c))) => Lz::I(a.pad(w, PadMode::Constant(*c))?),
                (x, m) => {
                    macro_rules! pm {
                        () => {
                            match m {
                                PM::Edge => PadMode::Edge,
                                PM::Reflect => PadMode::Reflect,
                                PM::Symmetric => PadMode::Symmetric,
                                PM::Wrap => PadMode::Wrap,
                                PM::Constant(_) => unreachable!(),
                            }
                        };
                    }
                    each_lz!(x, a => a.pad(w, pm!()))
                }
            },
            Op::Tile(r) => each_lz!(x, a => a.tile(r)),
            Op::Repeat(r, k) => each_lz!(x, a => a.repeat(*r, *k)),
            Op::Bcast(s) => each_lz!(x, a => a.broadcast_to(s)),
            Op::Diagonal(o) => each_lz!(x, a => a.diagonal(*o)),
            Op::Diag(o) => each_lz!(x, a => floe::diag(a, *o)),
            Op::Matmul(other) => {
                macro_rules! mmul {
                    ($V:ident, $a:expr) => {{
                        let a = $a;
                        let b = match other {
                            Some(o) => match node(*o) {
                                Lz::$V(b) => b.clone(),
                                _ => unreachable!(),
                            },
                            None => match a.ndim() {
                                1 => a.clone(),
                                2 => a.t(),
                                _ => a.permuted_axes(&[0, 2, 1])?,
                            },
                        };
                        Lz::$V(a.matmul(&b)?)
                    }};
                }
                match x {
                    Lz::F(a) => mmul!(F, a),
                    Lz::I(a) => mmul!(I, a),
                    Lz::B(_) => unreachable!(),
                }
            }
            Op::MapBlocks(k) => {
                let Lz::F(a) = x else { unreachable!() };
                let k = *k;
                Lz::F(a.map_blocks(move |b: ndarray::ArrayViewD<f64>| b.mapv(|v| v * k + 1.0))?)
            }
            Op::MapOverlap { axis, depth, bnd } => {
                let Lz::F(a) = x else { unreachable!() };
                let mut dv = vec![0usize; a.ndim()];
                dv[*axis] = *depth;
                let b = match *bnd {
                    Bnd::Reflect => Boundary::Reflect,
                    Bnd::Periodic => Boundary::Periodic,
                    Bnd::Nearest => Boundary::Nearest,
                    Bnd::Constant(c) => Boundary::Constant(c),
                    Bnd::None => Boundary::None,
                };
                let (axis, depth) = (*axis, *depth);
                Lz::F(a.map_overlap(&dv, b, move |g: ndarray::ArrayViewD<f64>| overlap_kernel(g, axis, depth))?)
            }
        })
    }

    /// Add the node `op(x)`: Ok(false) if the oracle rejects it, Err if floe fails.
    fn push(&mut self, xi: usize, op: &Op, root: bool) -> Res<bool> {
        let Some((val, prec, scale)) = self.oracle(xi, op) else { return Ok(false) };
        let val = each!(&val, a => a.as_standard_layout().to_owned());
        let code = self.code_of(xi, op);
        let name = format!("n{}", self.nodes.len());
        writeln!(self.code, "    let {name} = {code}.unwrap();").unwrap();
        let lz = self.floe_of(xi, op).map_err(|e| format!("floe refused a valid op: {code}: {e}\n{}", self.code))?;
        if lz.shape() != val.shape() {
            return Err(format!("{name} = {code}: floe shape {:?}, oracle {:?}", lz.shape(), val.shape()));
        }
        let ch = lz.chunks();
        if ch.len() != val.shape().len() || ch.iter().zip(val.shape()).any(|(c, &n)| c.iter().sum::<usize>() != n) {
            return Err(format!("{name} = {code}: chunks {ch:?} do not cover shape {:?}", val.shape()));
        }
        self.log.push(format!("{name} = {code}"));
        let n = self.nodes.len();
        self.used.resize(n, false);
        for i in op_inputs(xi, op) {
            self.used[i] = true;
        }
        self.nodes.push(Node { val, lz, prec, scale, name });
        if root {
            self.roots.push(self.nodes.len() - 1);
        }
        Ok(true)
    }

    /// Turn one raw step into a node (and maybe a sibling).
    pub fn step(&mut self, s: &Step) -> Res<()> {
        let (kind, a, b, seed, twin, root) = *s;
        let mut rng = Rng::new(seed);
        let xi = a as usize % self.nodes.len();
        let kind = KINDS[kind as usize % KINDS.len()];
        let Some(op) = self.gen(xi, kind, b as usize, &mut rng) else { return Ok(()) };
        let op = fix_take(op, self.nodes[xi].val.shape());
        if !self.push(xi, &op, root)? {
            return Ok(());
        }
        if twin {
            let sib = fix_take(self.mutate(&op, &mut rng), self.nodes[xi].val.shape());
            self.push(xi, &sib, true)?;
        }
        Ok(())
    }

    /// Compute all roots (and sinks) together and compare with the oracle.
    pub fn check(&mut self, threads: usize) -> Res<()> {
        let n = self.nodes.len();
        let mut used = self.used.clone();
        used.resize(n, false);
        let mut roots = self.roots.clone();
        roots.extend((0..n).filter(|&i| !used[i]));
        roots.sort_unstable();
        roots.dedup();
        let arrays: Vec<Array<f64>> = roots.iter().map(|&i| self.nodes[i].lz.as_f64()).collect();
        let refs: Vec<&Array<f64>> = arrays.iter().collect();
        let got = Executor::cpu().threads(threads).compute_many(&refs).map_err(|e| format!("compute_many failed: {e}\n{}", self.repro(&roots)))?;
        for (k, &i) in roots.iter().enumerate() {
            let node = &self.nodes[i];
            let exp = node.val.to_f64();
            let g = &got[k];
            if g.shape() != exp.shape() {
                return Err(format!("{}: shape {:?}, expected {:?}\n{}", node.name, g.shape(), exp.shape(), self.repro(&roots)));
            }
            for ((idx, &gv), &ev) in g.indexed_iter().zip(exp.iter()) {
                let ok = if gv.is_nan() || ev.is_nan() {
                    gv.is_nan() && ev.is_nan()
                } else if node.prec == Prec::Bit || !ev.is_finite() || !gv.is_finite() {
                    gv == ev
                } else {
                    (gv - ev).abs() <= 1e-6 * ev.abs() + 1e-6 * node.scale
                };
                if !ok {
                    return Err(format!(
                        "{} ({:?}) at {:?}: floe {gv:?}, oracle {ev:?}\n floe: {:?}\n oracle: {:?}\n{}",
                        node.name,
                        node.prec,
                        idx.slice(),
                        short(g),
                        short(&exp),
                        self.repro(&roots)
                    ));
                }
            }
        }
        Ok(())
    }

    fn repro(&self, roots: &[usize]) -> String {
        let names: Vec<String> = roots.iter().map(|&i| format!("&{}.cast::<f64>()", self.nodes[i].name)).collect();
        format!(
            "---- reproducer ----\n{}    let got = Executor::cpu().compute_many(&[{}]).unwrap();\n---- roots: {:?}",
            self.code,
            names.join(", "),
            roots.iter().map(|&i| &self.nodes[i].name).collect::<Vec<_>>()
        )
    }
}

fn chunks_code(c: &[Vec<usize>]) -> String {
    format!("vec![{}]", c.iter().map(|v| format!("vec!{v:?}")).collect::<Vec<_>>().join(", "))
}

fn short(a: &ArrayD<f64>) -> String {
    let s = format!("{a:?}");
    if s.len() > 600 {
        format!("{}...", &s[..600])
    } else {
        s
    }
}

fn op_inputs(xi: usize, op: &Op) -> Vec<usize> {
    let mut v = vec![xi];
    match op {
        Op::Bin { rhs: Opd::N(i), .. } => v.push(*i),
        Op::Where { cond, other, .. } => {
            v.push(*cond);
            if let Opd::N(i) = other {
                v.push(*i);
            }
        }
        Op::Concat { others, .. } | Op::Stack { others, .. } => v.extend(others.iter().copied()),
        Op::Matmul(Some(o)) => v.push(*o),
        _ => {}
    }
    v
}

/// `mutate` of a take does not know the axis length: wrap indices into range.
fn fix_take(op: Op, shape: &[usize]) -> Op {
    match op {
        Op::Take(idx, axis) if axis < shape.len() && shape[axis] > 0 => Op::Take(idx.into_iter().map(|i| i % shape[axis]).collect(), axis),
        o => o,
    }
}
fn self_len_hint(idx: &[usize], _axis: usize) -> usize {
    // the real length is applied by fix_take; any modulus > max index works
    idx.iter().copied().max().unwrap_or(0) + 2
}

/// Op kinds by weight (indices into `Dag::gen`).
const KINDS: &[usize] = &[
    0, 0, 0, 1, 1, 1, 2, 2, 3, 4, 5, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
];

/// A random shape of `size` elements with 0 to 3 axes.
fn rand_shape(size: usize, rng: &mut Rng) -> Vec<usize> {
    if size == 0 {
        let nd = 1 + rng.below(3);
        let mut s: Vec<usize> = (0..nd).map(|_| 1 + rng.below(3)).collect();
        let z = rng.below(nd);
        s[z] = 0;
        return s;
    }
    let nd = rng.below(4);
    if nd == 0 {
        return if size == 1 { vec![] } else { vec![size] };
    }
    let mut s = vec![];
    let mut rest = size;
    for _ in 0..nd - 1 {
        let divs: Vec<usize> = (1..=rest).filter(|d| rest % d == 0).collect();
        let d = divs[rng.below(divs.len())];
        s.push(d);
        rest /= d;
    }
    s.push(rest);
    s
}

/// Input values of one dtype.
pub fn input_val(dt: Dt, shape: &[usize], raw: &[i16]) -> Val {
    let n: usize = shape.iter().product();
    let it = raw.iter().cycle().take(n);
    match dt {
        Dt::F => Val::F(ArrayD::from_shape_vec(IxDyn(shape), it.map(|&r| if r.rem_euclid(41) == 40 { f64::NAN } else { (r % 64) as f64 / 8.0 }).collect()).unwrap()),
        Dt::I => Val::I(ArrayD::from_shape_vec(IxDyn(shape), it.map(|&r| (r % 12) as i64).collect()).unwrap()),
        Dt::B => Val::B(ArrayD::from_shape_vec(IxDyn(shape), it.map(|&r| r % 2 == 0).collect()).unwrap()),
    }
}
