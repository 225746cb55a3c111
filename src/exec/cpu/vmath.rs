//! Vectorizable `sin`, `cos`, `exp` and `ln` over slices, for the CPU
//! interpreter's tiles (glibc's scalar `sin` was half of W1's time).
//!
//! Each function is a branch-free lane function (`Kernel::lane`) that the
//! compiler turns into SIMD code, plus a flag saying the lane's input is
//! outside the fast path. A slice is evaluated in one vector pass; if any
//! lane was flagged, a second scalar pass recomputes exactly those lanes with
//! the standard library (libm). The pass is compiled three times, for the
//! [`simd`] levels: with AVX-512 (512-bit vectors) and with
//! AVX2 (256-bit), both with FMA and with identical results, and portable
//! (no FMA) for other CPUs.
//!
//! Accuracy (f64): within 2 ulp of the exact result; the tests below compare
//! against libm over wide ranges and report the largest difference seen.
//! - `sin`/`cos`: x = m·π/2 + r with m even for sin and odd for cos, so
//!   that |r| ≤ π/2 and the result is ±sin r: one polynomial (a minimax fit,
//!   `scripts/remez_sin.py`) instead of a sin and a cos polynomial and a
//!   choice per lane. π/2 in three parts (33 + 33 + 53 bits), the reduced
//!   argument kept as a double-double (r, e), and r − r³/6 summed in
//!   double-double. libm for |x| > 10⁵, non-finite x, and the rare x within
//!   2⁻³⁰·|x| of a nonzero multiple of π/2.
//! - `exp`: x = k·ln2 + r, ln2 in two parts, exp(r) by Taylor to r¹³,
//!   scaled by 2^k through the exponent bits. libm for |x| > 708 and NaN.
//! - `ln`: x = 2^e·m with m in [√½, √2), ln m = f − f²/2 + s(f²/2 + R(s²)),
//!   s = f/(2+f), R the odd atanh series. libm for x ≤ 0, subnormal,
//!   infinite or NaN x.
//!
//! f32 slices are widened to f64 in small stack tiles, evaluated, and
//! rounded back (at most one f32 rounding beyond the f64 result).

use crate::simd::{self, Level};

/// `a * b + c`: fused on the FMA path, two roundings on the plain path.
trait Mad {
    fn mad(a: f64, b: f64, c: f64) -> f64;
    /// `a·b − p` exactly, for `p` the rounded `a * b` (no overflow).
    fn prod_err(a: f64, b: f64, p: f64) -> f64;
}

struct Fused;
struct Plain;

impl Mad for Fused {
    #[inline(always)]
    fn mad(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
    #[inline(always)]
    fn prod_err(a: f64, b: f64, p: f64) -> f64 {
        a.mul_add(b, -p)
    }
}

impl Mad for Plain {
    #[inline(always)]
    fn mad(a: f64, b: f64, c: f64) -> f64 {
        a * b + c
    }
    /// Dekker's product: a and b split into 26-bit halves whose products
    /// are exact.
    #[inline(always)]
    fn prod_err(a: f64, b: f64, p: f64) -> f64 {
        let split = |v: f64| {
            let c = 134217729.0 * v; // 2²⁷ + 1
            let hi = c - (c - v);
            (hi, v - hi)
        };
        let ((ah, al), (bh, bl)) = (split(a), split(b));
        ((ah * bh - p) + ah * bl + al * bh) + al * bl
    }
}

/// One vectorizable function: `lane` gives the value and whether the input
/// needs `libm` instead.
trait Kernel {
    fn lane<M: Mad>(x: f64) -> (f64, bool);
    /// The flag of `lane`, alone (the same on both code paths).
    fn needs_libm(x: f64) -> bool;
    fn libm(x: f64) -> f64;
}

const fn fact(n: u32) -> f64 {
    let mut p = 1.0;
    let mut i = 2;
    while i <= n {
        p *= i as f64;
        i += 1;
    }
    p
}

/// 1.5 · 2⁵²: adding it rounds a double of magnitude < 2⁵¹ to an integer,
/// kept in the low mantissa bits.
const SHIFT: f64 = 6755399441055744.0;
const FRAC_1_PI: f64 = f64::from_bits(0x3fd4_5f30_6dc9_c883);
/// π/2 = P1 + P2 + P3 (+ 1e-37): P1, P2 have 33 significant bits, so n·P1
/// and n·P2 are exact for |n| < 2²⁰.
const PIO2_1: f64 = f64::from_bits(0x3ff9_21fb_5440_0000);
const PIO2_2: f64 = f64::from_bits(0x3dd0_b461_1a60_0000);
const PIO2_3: f64 = f64::from_bits(0x3ba3_198a_2e03_7073);
/// ln 2 = LN2_HI + LN2_LO; LN2_HI has 42 significant bits, so k·LN2_HI is
/// exact for |k| < 2¹¹.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fefa_3800);
const LN2_LO: f64 = f64::from_bits(0x3d2e_f357_93c7_6730);
const LOG2_E: f64 = f64::from_bits(0x3ff7_1547_652b_82fe);
const SQRT2: f64 = f64::from_bits(0x3ff6_a09e_667f_3bcd);

/// Sum and exact rounding error of `a + b` (Knuth's TwoSum; no ordering
/// needed).
#[inline(always)]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    let e = (a - (s - bb)) + (b - bb);
    (s, e)
}

/// sin r ≈ r + r³·S(r²) on |r| ≤ π/2: S minimax for relative error
/// (2⁻⁶¹ before rounding), fitted by Remez exchange for floe
/// (`scripts/remez_sin.py`).
const SIN_S: [f64; 8] = [
    -1.6666666666666666e-1,
    8.33333333333328e-3,
    -1.9841269841234385e-4,
    2.7557319214807003e-6,
    -2.5052107167140637e-8,
    1.605895293415094e-10,
    -7.643303960960086e-13,
    2.7241962537263973e-15,
];

/// sin(r + e) on |r| ≤ π/2, |e| ≤ ulp(r). Near |r| = π/2 the term −r³/6 is
/// a third of the result, so r + (−r³/6) is summed in double-double: r³ =
/// a + al and (−1/6)·a = t0 + t0l exactly (with FMA), r + t0 = s + sl; the
/// remaining terms, r⁵·S'(r²) and the correction e·cos r (cos r ≈ 1 − r²/2,
/// within e/4), in plain double. Within 1 ulp of libm in 10⁸ samples.
#[inline(always)]
fn sin_poly<M: Mad>(r: f64, e: f64) -> f64 {
    let z = r * r;
    let zl = M::prod_err(r, r, z);
    let a = z * r;
    let al = M::mad(zl, r, M::prod_err(z, r, a));
    let mut p = SIN_S[7];
    p = M::mad(p, z, SIN_S[6]);
    p = M::mad(p, z, SIN_S[5]);
    p = M::mad(p, z, SIN_S[4]);
    p = M::mad(p, z, SIN_S[3]);
    p = M::mad(p, z, SIN_S[2]);
    p = M::mad(p, z, SIN_S[1]);
    let c0 = SIN_S[0];
    let t0 = a * c0;
    let t0l = M::prod_err(a, c0, t0);
    let rest = M::mad(a * z, p, M::mad(al, c0, t0l + M::mad(-0.5 * e, z, e)));
    let s = r + t0; // |t0| < |r|: Fast2Sum
    let sl = t0 - (s - r);
    s + (sl + rest)
}

/// x = m·π/2 + (r + e) with m even for sin (m/2 the multiple of π nearest
/// x) and odd for cos (`odd`), so that |r| ≤ π/2 and the result is
/// ±sin(r + e): (sign bit of the result, r, e, needs libm). Every step
/// before r is exact or rounds the same with and without FMA, so the flag
/// is the same on both code paths.
#[inline(always)]
fn reduce_pi<M: Mad>(x: f64, odd: bool) -> (u64, f64, f64, bool) {
    let h = x * FRAC_1_PI;
    let t = if odd { (h - 0.5) + SHIFT } else { h + SHIFT };
    let q = t - SHIFT;
    // sin x = (−1)^q sin r; cos x = (−1)^(q+1) sin r
    let sign = ((t.to_bits() ^ odd as u64) & 1) << 63;
    let m = if odd { q + q + 1.0 } else { q + q }; // exact
    // exact: m·P1 is exact and close to x (but for cos of |x| < π/4, where
    // r is near ∓π/2 and its error barely moves the result)
    let y = M::mad(-m, PIO2_1, x);
    let y2 = M::mad(-m, PIO2_2, y); // m·P2 is exact: one rounding either way
    // the rounding error of y2, exactly: y − y2 is exact, and
    // |y| ≥ |m·P2| on every lane not flagged below (Fast2Sum)
    let e = M::mad(-m, PIO2_2, y - y2);
    let r = M::mad(-m, PIO2_3, y2);
    // Far x is reduced inaccurately; where x is within 2⁻³⁰·|x| of a
    // multiple of π/2 (m ≠ 0), r has lost bits to cancellation. NaN and
    // ±inf fail the first test.
    let far = !(x.abs() <= 1e5);
    let cancelled = y2.abs() < f64::from_bits(0x3e10_0000_0000_0000) * x.abs(); // 2⁻³⁰
    (sign, r, e, far | cancelled)
}

struct Sin;
struct Cos;
struct Exp;
struct Ln;

/// sin (`odd` false) or cos (`odd` true) of x.
#[inline(always)]
fn sincos_lane<M: Mad>(x: f64, odd: bool) -> (f64, bool) {
    let (sign, r, e, bad) = reduce_pi::<M>(x, odd);
    let v = sin_poly::<M>(r, e);
    (f64::from_bits(v.to_bits() ^ sign), bad)
}

impl Kernel for Sin {
    #[inline(always)]
    fn lane<M: Mad>(x: f64) -> (f64, bool) {
        let (v, bad) = sincos_lane::<M>(x, false);
        // sin x = x below 2⁻²⁷ (also keeps the sign of −0.0)
        let tiny = x.abs() < f64::from_bits(0x3e40_0000_0000_0000);
        (if tiny { x } else { v }, bad)
    }
    #[inline(always)]
    fn needs_libm(x: f64) -> bool {
        reduce_pi::<Plain>(x, false).3
    }
    fn libm(x: f64) -> f64 {
        x.sin()
    }
}

impl Kernel for Cos {
    #[inline(always)]
    fn lane<M: Mad>(x: f64) -> (f64, bool) {
        sincos_lane::<M>(x, true)
    }
    #[inline(always)]
    fn needs_libm(x: f64) -> bool {
        reduce_pi::<Plain>(x, true).3
    }
    fn libm(x: f64) -> f64 {
        x.cos()
    }
}

impl Kernel for Exp {
    #[inline(always)]
    fn lane<M: Mad>(x: f64) -> (f64, bool) {
        let t = x * LOG2_E + SHIFT;
        let k = t - SHIFT;
        let ki = (t.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64);
        let rh = x - k * LN2_HI; // exact
        let (r, e) = two_sum(rh, -(k * LN2_LO));
        let mut p = 1.0 / fact(13);
        p = M::mad(p, r, 1.0 / fact(12));
        p = M::mad(p, r, 1.0 / fact(11));
        p = M::mad(p, r, 1.0 / fact(10));
        p = M::mad(p, r, 1.0 / fact(9));
        p = M::mad(p, r, 1.0 / fact(8));
        p = M::mad(p, r, 1.0 / fact(7));
        p = M::mad(p, r, 1.0 / fact(6));
        p = M::mad(p, r, 1.0 / fact(5));
        p = M::mad(p, r, 1.0 / fact(4));
        p = M::mad(p, r, 1.0 / fact(3));
        p = M::mad(p, r, 0.5);
        // exp(r + e) ≈ 1 + (r + (r²·Q(r) + e))
        let v = 1.0 + (r + M::mad(r * r, p, e));
        let scale = f64::from_bits((ki.wrapping_add(1023) as u64) << 52);
        (v * scale, Self::needs_libm(x))
    }
    #[inline(always)]
    fn needs_libm(x: f64) -> bool {
        !(x.abs() <= 708.0) // also NaN
    }
    fn libm(x: f64) -> f64 {
        x.exp()
    }
}

impl Kernel for Ln {
    #[inline(always)]
    fn lane<M: Mad>(x: f64) -> (f64, bool) {
        let bits = x.to_bits();
        // exponent as a double without an int→double conversion
        let ebits = f64::from_bits((bits >> 52) | 0x4330_0000_0000_0000);
        let m1 = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
        let big = m1 > SQRT2;
        let m = if big { 0.5 * m1 } else { m1 };
        let e = (ebits - (4503599627370496.0 + 1023.0)) + if big { 1.0 } else { 0.0 };
        let f = m - 1.0; // exact
        let s = f / (2.0 + f);
        let z = s * s;
        let mut r = 2.0 / 21.0;
        r = M::mad(r, z, 2.0 / 19.0);
        r = M::mad(r, z, 2.0 / 17.0);
        r = M::mad(r, z, 2.0 / 15.0);
        r = M::mad(r, z, 2.0 / 13.0);
        r = M::mad(r, z, 2.0 / 11.0);
        r = M::mad(r, z, 2.0 / 9.0);
        r = M::mad(r, z, 2.0 / 7.0);
        r = M::mad(r, z, 2.0 / 5.0);
        r = M::mad(r, z, 2.0 / 3.0);
        let r = r * z;
        let hfsq = 0.5 * f * f;
        let v = M::mad(e, LN2_HI, f - (hfsq - M::mad(s, hfsq + r, e * LN2_LO)));
        (v, Self::needs_libm(x))
    }
    #[inline(always)]
    fn needs_libm(x: f64) -> bool {
        !((x >= f64::MIN_POSITIVE) & (x < f64::INFINITY)) // ≤ 0, subnormal, inf, NaN
    }
    fn libm(x: f64) -> f64 {
        x.ln()
    }
}

/// One vector pass; returns whether any lane needs libm.
#[inline(always)]
fn pass<M: Mad, K: Kernel>(a: &[f64], o: &mut [f64]) -> bool {
    let n = o.len();
    let a = &a[..n];
    let mut bad = 0u64;
    for i in 0..n {
        let (v, b) = K::lane::<M>(a[i]);
        o[i] = v;
        bad |= b as u64;
    }
    bad != 0
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn pass_avx2<K: Kernel>(a: &[f64], o: &mut [f64]) -> bool {
    pass::<Fused, K>(a, o)
}

/// The same loop in 512-bit vectors (the lane code is the same, so are the
/// results: FMA on both).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f,avx512dq,avx512vl,avx512bw")]
unsafe fn pass_avx512<K: Kernel>(a: &[f64], o: &mut [f64]) -> bool {
    pass::<Fused, K>(a, o)
}

fn apply<K: Kernel>(a: &[f64], o: &mut [f64], level: Level) {
    assert!(level <= simd::detected(), "{level:?} on a CPU without it");
    let bad = match level {
        // SAFETY: the CPU has AVX-512 (F, DQ, VL, BW) and FMA (checked above).
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => unsafe { pass_avx512::<K>(a, o) },
        // SAFETY: the CPU has AVX2 and FMA (checked above).
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => unsafe { pass_avx2::<K>(a, o) },
        _ => pass::<Plain, K>(a, o),
    };
    if bad {
        for (x, y) in a.iter().zip(o.iter_mut()) {
            if K::needs_libm(*x) {
                *y = K::libm(*x);
            }
        }
    }
}

/// Widen f32 tiles to f64, evaluate, round back.
fn apply_f32<K: Kernel>(a: &[f32], o: &mut [f32]) {
    const T: usize = 256;
    let level = simd::level();
    let (mut wa, mut wo) = ([0f64; T], [0f64; T]);
    let n = o.len();
    let mut i = 0;
    while i < n {
        let m = (n - i).min(T);
        for j in 0..m {
            wa[j] = a[i + j] as f64;
        }
        apply::<K>(&wa[..m], &mut wo[..m], level);
        for j in 0..m {
            o[i + j] = wo[j] as f32;
        }
        i += m;
    }
}

/// The element functions this module vectorizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VecFn {
    Sin,
    Cos,
    Exp,
    Ln,
}

/// `o[i] = f(a[i])` over `o.len()` elements of f64.
pub fn eval_f64(f: VecFn, a: &[f64], o: &mut [f64]) {
    eval_f64_on(f, a, o, simd::level())
}

/// [`eval_f64`] on `level`, which the CPU must support.
fn eval_f64_on(f: VecFn, a: &[f64], o: &mut [f64], level: Level) {
    match f {
        VecFn::Sin => apply::<Sin>(a, o, level),
        VecFn::Cos => apply::<Cos>(a, o, level),
        VecFn::Exp => apply::<Exp>(a, o, level),
        VecFn::Ln => apply::<Ln>(a, o, level),
    }
}

/// `o[i] = f(a[i])` over `o.len()` elements of f32 (computed in f64).
pub fn eval_f32(f: VecFn, a: &[f32], o: &mut [f32]) {
    match f {
        VecFn::Sin => apply_f32::<Sin>(a, o),
        VecFn::Cos => apply_f32::<Cos>(a, o),
        VecFn::Exp => apply_f32::<Exp>(a, o),
        VecFn::Ln => apply_f32::<Ln>(a, o),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place of `exp` (as libm rounds it).
    fn ulps(got: f64, exp: f64) -> f64 {
        if got == exp || (got.is_nan() && exp.is_nan()) {
            return 0.0;
        }
        if !got.is_finite() || !exp.is_finite() {
            return f64::INFINITY;
        }
        let ulp = if exp == 0.0 {
            f64::from_bits(1)
        } else {
            let e = f64::from_bits(exp.abs().to_bits() & 0x7ff0_0000_0000_0000);
            (e * f64::EPSILON).max(f64::from_bits(1))
        };
        (got - exp).abs() / ulp
    }

    /// Deterministic inputs: uniform in [lo, hi) from a 64-bit LCG.
    fn inputs(lo: f64, hi: f64, n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let u = (s >> 11) as f64 / (1u64 << 53) as f64;
                lo + (hi - lo) * u
            })
            .collect()
    }

    /// Largest ulp error of `f` against libm over `xs` on each code path
    /// (portable, AVX2+FMA, AVX-512; 0 where the CPU lacks it). The two FMA
    /// paths run the same lane code: their results must be identical.
    fn worst(f: VecFn, xs: &[f64], libm: fn(f64) -> f64) -> [f64; 3] {
        let mut w = [0f64; 3];
        let mut fma: Option<Vec<f64>> = None;
        for level in simd::supported() {
            let mut o = vec![0.0; xs.len()];
            eval_f64_on(f, xs, &mut o, level);
            for (x, y) in xs.iter().zip(&o) {
                let u = ulps(*y, libm(*x));
                assert!(u <= 2.0, "{f:?}({x:e}) = {y:e}, libm {:e}: {u} ulp ({level:?})", libm(*x));
                w[level as usize] = w[level as usize].max(u);
            }
            if level >= Level::Avx2 {
                if let Some(prev) = &fma {
                    let same = prev.iter().zip(&o).all(|(p, q)| p.to_bits() == q.to_bits());
                    assert!(same, "{f:?}: the AVX2 and AVX-512 paths differ");
                }
                fma = Some(o);
            }
        }
        w
    }

    /// Inputs per range; `FLOE_ULP_N` raises it for a longer search.
    fn n() -> usize {
        std::env::var("FLOE_ULP_N").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000)
    }

    #[test]
    fn sin_cos_within_2_ulp() {
        for (lo, hi) in [(0.0, 1.0), (-4.0, 4.0), (-100.0, 100.0), (-1e5, 1e5), (1e-12, 1e-6)] {
            let xs = inputs(lo, hi, n(), lo.to_bits() ^ hi.to_bits());
            let (s, c) = (worst(VecFn::Sin, &xs, f64::sin), worst(VecFn::Cos, &xs, f64::cos));
            eprintln!("[{lo:e}, {hi:e}): largest seen, portable / AVX2 / AVX-512: sin {s:?} ulp, cos {c:?} ulp");
            // r − r³/6 is summed in double-double: 1 ulp of libm
            assert!(s.iter().chain(&c).all(|u| *u <= 1.0), "sin {s:?}, cos {c:?}");
        }
        // near multiples of π/2, where reduction cancels: at them (libm),
        // and at relative distances 2⁻²⁹ … 2⁻¹⁰ (the polynomial on a small r)
        let near: Vec<f64> = (1..2000)
            .flat_map(|k| {
                let m = k as f64 * std::f64::consts::FRAC_PI_2;
                let off = (0..20).map(move |j| m + m * 2f64.powi(j - 29) * if j % 2 == 0 { 1.0 } else { -1.0 });
                [m, f64::from_bits(m.to_bits() + 1), f64::from_bits(m.to_bits() - 1), m + 1e-9].into_iter().chain(off)
            })
            .collect();
        let (s, c) = (worst(VecFn::Sin, &near, f64::sin), worst(VecFn::Cos, &near, f64::cos));
        eprintln!("near k·π/2: largest seen, portable / AVX2 / AVX-512: sin {s:?} ulp, cos {c:?} ulp");
        assert!(s.iter().chain(&c).all(|u| *u <= 1.0), "sin {s:?}, cos {c:?}");
    }

    #[test]
    fn exp_ln_within_2_ulp() {
        for (lo, hi) in [(-1.0, 1.0), (-30.0, 30.0), (-708.0, 709.5), (-745.0, -700.0)] {
            worst(VecFn::Exp, &inputs(lo, hi, n(), 7 ^ lo.to_bits()), f64::exp);
        }
        for (lo, hi) in [(0.5, 2.0), (1e-300, 1e-290), (0.0, 1e6), (1e300, 1.7e308), (0.99, 1.01)] {
            worst(VecFn::Ln, &inputs(lo, hi, n(), 11 ^ hi.to_bits()), f64::ln);
        }
    }

    #[test]
    fn special_values_match_libm() {
        let xs = [
            0.0,
            -0.0,
            1e-310,
            -1e-310,
            f64::MIN_POSITIVE,
            1.0,
            -1.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            710.0,
            -746.0,
            1e6,
            -3e300,
            f64::MAX,
        ];
        for (f, libm) in [
            (VecFn::Sin, f64::sin as fn(f64) -> f64),
            (VecFn::Cos, f64::cos),
            (VecFn::Exp, f64::exp),
            (VecFn::Ln, f64::ln),
        ] {
            for level in simd::supported() {
                let mut o = vec![0.0; xs.len()];
                eval_f64_on(f, &xs, &mut o, level);
                for (x, y) in xs.iter().zip(&o) {
                    let e = libm(*x);
                    let same = (y.is_nan() && e.is_nan()) || (y.to_bits() == e.to_bits()) || ulps(*y, e) <= 2.0;
                    assert!(same, "{f:?}({x:e}) = {y:e}, libm {e:e} ({level:?})");
                    if e == 0.0 {
                        assert_eq!(y.is_sign_negative(), e.is_sign_negative(), "{f:?}({x:e}): sign of zero ({level:?})");
                    }
                }
            }
        }
    }

    #[test]
    fn f32_rounds_the_f64_result() {
        let xs: Vec<f32> = inputs(-50.0, 50.0, 10_001, 3).into_iter().map(|v| v as f32).collect();
        let mut o = vec![0f32; xs.len()];
        eval_f32(VecFn::Sin, &xs, &mut o);
        for (x, y) in xs.iter().zip(&o) {
            let e = (*x as f64).sin();
            assert!(((*y as f64) - e).abs() <= e.abs() * 1.2e-7 + 1e-45, "sin({x}) = {y}, f64 {e}");
        }
        let pos: Vec<f32> = xs.iter().map(|v| v.abs() + 1e-3).collect();
        eval_f32(VecFn::Ln, &pos, &mut o);
        for (x, y) in pos.iter().zip(&o) {
            assert!(((*y as f64) - (*x as f64).ln()).abs() <= 1e-6 * (*x as f64).ln().abs().max(1e-3));
        }
    }
}
