//! Vectorizable `sin`, `cos`, `exp` and `ln` over slices, for the CPU
//! interpreter's tiles (glibc's scalar `sin` was half of W1's time).
//!
//! Each function is a branch-free lane function (`Kernel::lane`) that the
//! compiler turns into SIMD code, plus a flag saying the lane's input is
//! outside the fast path. A slice is evaluated in one vector pass; if any
//! lane was flagged, a second scalar pass recomputes exactly those lanes with
//! the standard library (libm). On x86-64 with AVX2 and FMA (detected at run
//! time; the crate is built for baseline x86-64) the pass is compiled with
//! those features; elsewhere the same code runs without FMA.
//!
//! Accuracy (f64): within 2 ulp of the exact result; the tests below compare
//! against libm over wide ranges and report the largest difference seen.
//! - `sin`/`cos`: x = n·π/2 + r with π/2 in three parts (33 + 33 + 53 bits),
//!   the reduced argument kept as a double-double (r, e); Taylor polynomials
//!   on |r| ≤ π/4 (to r¹⁷ and r¹⁸: truncation below 2⁻⁶⁰). libm for
//!   |x| > 10⁵, non-finite x, and the rare x within 2⁻³⁰ of a nonzero
//!   multiple of π/2.
//! - `exp`: x = k·ln2 + r, ln2 in two parts, exp(r) by Taylor to r¹³,
//!   scaled by 2^k through the exponent bits. libm for |x| > 708 and NaN.
//! - `ln`: x = 2^e·m with m in [√½, √2), ln m = f − f²/2 + s(f²/2 + R(s²)),
//!   s = f/(2+f), R the odd atanh series. libm for x ≤ 0, subnormal,
//!   infinite or NaN x.
//!
//! f32 slices are widened to f64 in small stack tiles, evaluated, and
//! rounded back (at most one f32 rounding beyond the f64 result).

/// `a * b + c`: fused on the FMA path, two roundings on the plain path.
trait Mad {
    fn mad(a: f64, b: f64, c: f64) -> f64;
}

struct Fused;
struct Plain;

impl Mad for Fused {
    #[inline(always)]
    fn mad(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
}

impl Mad for Plain {
    #[inline(always)]
    fn mad(a: f64, b: f64, c: f64) -> f64 {
        a * b + c
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
const FRAC_2_PI: f64 = f64::from_bits(0x3fe4_5f30_6dc9_c883);
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

/// sin(r + e) on |r| ≤ π/4, |e| ≤ ulp(r).
#[inline(always)]
fn sin_poly<M: Mad>(r: f64, e: f64) -> f64 {
    let z = r * r;
    let mut p = 1.0 / fact(17);
    p = M::mad(p, z, -1.0 / fact(15));
    p = M::mad(p, z, 1.0 / fact(13));
    p = M::mad(p, z, -1.0 / fact(11));
    p = M::mad(p, z, 1.0 / fact(9));
    p = M::mad(p, z, -1.0 / fact(7));
    p = M::mad(p, z, 1.0 / fact(5));
    p = M::mad(p, z, -1.0 / fact(3));
    // p now holds S(z) with sin r = r + r·z·S(z); sin(r+e) ≈ sin r + e·cos r.
    r + M::mad(z * r, p, e * M::mad(-0.5, z, 1.0))
}

/// cos(r + e) on |r| ≤ π/4, |e| ≤ ulp(r).
#[inline(always)]
fn cos_poly<M: Mad>(r: f64, e: f64) -> f64 {
    let z = r * r;
    let mut p = -1.0 / fact(18);
    p = M::mad(p, z, 1.0 / fact(16));
    p = M::mad(p, z, -1.0 / fact(14));
    p = M::mad(p, z, 1.0 / fact(12));
    p = M::mad(p, z, -1.0 / fact(10));
    p = M::mad(p, z, 1.0 / fact(8));
    p = M::mad(p, z, -1.0 / fact(6));
    p = M::mad(p, z, 1.0 / fact(4));
    // cos r = 1 − z/2 + z²·C(z); 1 − z/2 is split so its rounding error is
    // added back; cos(r+e) ≈ cos r − e·r.
    let hz = 0.5 * z;
    let w = 1.0 - hz;
    w + (((1.0 - w) - hz) + M::mad(z * z, p, -(r * e)))
}

/// x = n·π/2 + (r + e): (n mod 4, r, e, needs libm). Rounded without FMA
/// so that n, and so the flag, are the same on both code paths.
#[inline(always)]
fn reduce_pio2(x: f64) -> (u64, f64, f64, bool) {
    let t = x * FRAC_2_PI + SHIFT;
    let n = t - SHIFT;
    let q = t.to_bits() & 3;
    let y = x - n * PIO2_1; // exact: n·P1 is exact and close to x
    let (r0, e0) = two_sum(y, -(n * PIO2_2));
    let (r, e1) = two_sum(r0, -(n * PIO2_3));
    let e = e0 + e1;
    let far = !(x.abs() <= 1e5); // also NaN and ±inf
    let cancelled = (n != 0.0) & (r.abs() < f64::from_bits(0x3e10_0000_0000_0000)); // 2⁻³⁰
    (q, r, e, far | cancelled)
}

struct Sin;
struct Cos;
struct Exp;
struct Ln;

/// sin or cos of x from its quadrant: quadrant q + `shift` picks the
/// polynomial (odd: cos) and the sign (q & 2: negative).
#[inline(always)]
fn sincos_lane<M: Mad>(x: f64, shift: u64) -> (f64, bool) {
    let (q, r, e, bad) = reduce_pio2(x);
    let q = q.wrapping_add(shift);
    let s = sin_poly::<M>(r, e);
    let c = cos_poly::<M>(r, e);
    let v = if q & 1 == 1 { c } else { s };
    let v = f64::from_bits(v.to_bits() ^ ((q & 2) << 62));
    (v, bad)
}

impl Kernel for Sin {
    #[inline(always)]
    fn lane<M: Mad>(x: f64) -> (f64, bool) {
        let (v, bad) = sincos_lane::<M>(x, 0);
        // sin x = x below 2⁻²⁷ (also keeps the sign of −0.0)
        let tiny = x.abs() < f64::from_bits(0x3e40_0000_0000_0000);
        (if tiny { x } else { v }, bad)
    }
    #[inline(always)]
    fn needs_libm(x: f64) -> bool {
        reduce_pio2(x).3
    }
    fn libm(x: f64) -> f64 {
        x.sin()
    }
}

impl Kernel for Cos {
    #[inline(always)]
    fn lane<M: Mad>(x: f64) -> (f64, bool) {
        sincos_lane::<M>(x, 1)
    }
    #[inline(always)]
    fn needs_libm(x: f64) -> bool {
        reduce_pio2(x).3
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

/// The CPU has AVX2 (checked at run time; cached by the standard library).
pub fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn apply<K: Kernel>(a: &[f64], o: &mut [f64], simd: bool) {
    #[cfg(target_arch = "x86_64")]
    let bad = if simd {
        // SAFETY: only called when the CPU has AVX2 and FMA.
        unsafe { pass_avx2::<K>(a, o) }
    } else {
        pass::<Plain, K>(a, o)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let bad = {
        let _ = simd;
        pass::<Plain, K>(a, o)
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
    let simd = has_avx2_fma();
    let (mut wa, mut wo) = ([0f64; T], [0f64; T]);
    let n = o.len();
    let mut i = 0;
    while i < n {
        let m = (n - i).min(T);
        for j in 0..m {
            wa[j] = a[i + j] as f64;
        }
        apply::<K>(&wa[..m], &mut wo[..m], simd);
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
    eval_f64_on(f, a, o, has_avx2_fma())
}

/// [`eval_f64`] on the AVX2+FMA path (`simd`, which the CPU must have) or the plain one.
fn eval_f64_on(f: VecFn, a: &[f64], o: &mut [f64], simd: bool) {
    match f {
        VecFn::Sin => apply::<Sin>(a, o, simd),
        VecFn::Cos => apply::<Cos>(a, o, simd),
        VecFn::Exp => apply::<Exp>(a, o, simd),
        VecFn::Ln => apply::<Ln>(a, o, simd),
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

    /// Largest ulp error of `f` against libm over `xs`, on both code paths.
    fn worst(f: VecFn, xs: &[f64], libm: fn(f64) -> f64) -> f64 {
        let mut w = 0f64;
        for simd in [false, true] {
            if simd && !has_avx2_fma() {
                continue;
            }
            let mut o = vec![0.0; xs.len()];
            eval_f64_on(f, xs, &mut o, simd);
            for (x, y) in xs.iter().zip(&o) {
                let u = ulps(*y, libm(*x));
                assert!(u <= 2.0, "{f:?}({x:e}) = {y:e}, libm {:e}: {u} ulp (simd {simd})", libm(*x));
                w = w.max(u);
            }
        }
        w
    }

    const N: usize = 200_000;

    #[test]
    fn sin_cos_within_2_ulp() {
        for (lo, hi) in [(0.0, 1.0), (-4.0, 4.0), (-100.0, 100.0), (-1e5, 1e5), (1e-12, 1e-6)] {
            let xs = inputs(lo, hi, N, lo.to_bits() ^ hi.to_bits());
            let (s, c) = (worst(VecFn::Sin, &xs, f64::sin), worst(VecFn::Cos, &xs, f64::cos));
            assert!(s <= 2.0 && c <= 2.0);
        }
        // near multiples of π/2, where reduction cancels
        let near: Vec<f64> = (1..2000)
            .flat_map(|k| {
                let m = k as f64 * std::f64::consts::FRAC_PI_2;
                [m, f64::from_bits(m.to_bits() + 1), f64::from_bits(m.to_bits() - 1), m + 1e-9]
            })
            .collect();
        worst(VecFn::Sin, &near, f64::sin);
        worst(VecFn::Cos, &near, f64::cos);
    }

    #[test]
    fn exp_ln_within_2_ulp() {
        for (lo, hi) in [(-1.0, 1.0), (-30.0, 30.0), (-708.0, 709.5), (-745.0, -700.0)] {
            worst(VecFn::Exp, &inputs(lo, hi, N, 7 ^ lo.to_bits()), f64::exp);
        }
        for (lo, hi) in [(0.5, 2.0), (1e-300, 1e-290), (0.0, 1e6), (1e300, 1.7e308), (0.99, 1.01)] {
            worst(VecFn::Ln, &inputs(lo, hi, N, 11 ^ hi.to_bits()), f64::ln);
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
            let mut o = vec![0.0; xs.len()];
            eval_f64(f, &xs, &mut o);
            for (x, y) in xs.iter().zip(&o) {
                let e = libm(*x);
                let same = (y.is_nan() && e.is_nan()) || (y.to_bits() == e.to_bits()) || ulps(*y, e) <= 2.0;
                assert!(same, "{f:?}({x:e}) = {y:e}, libm {e:e}");
                if e == 0.0 {
                    assert_eq!(y.is_sign_negative(), e.is_sign_negative(), "{f:?}({x:e}): sign of zero");
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
