//! Elementwise operations against ndarray oracles: arithmetic (operators,
//! owned/borrowed, scalars on either side, try_*), NumPy broadcasting between
//! operands of different shapes and different chunkings, unary math,
//! maximum/minimum/clip, comparisons, isnan/isfinite, casts, where_, and long
//! fused chains — for every element type where the operation exists.

#[macro_use]
mod common;

use common::*;
use floe::DType;
use ndarray::ArrayD;
use proptest::prelude::*;

const CASES: u32 = 32;

// ---------------------------------------------------------------------------
// arithmetic, maximum/minimum/clip, comparisons, where_ — all numeric types
// ---------------------------------------------------------------------------

macro_rules! numeric {
    ($m:ident, $t:ty, $elem:expr, $nonan:expr) => {
        mod $m {
            use super::*;
            type T = $t;

            proptest! {
                #![proptest_config(config(CASES))]

                /// + - * / with arrays on both sides (broadcasting, different
                /// chunkings), owned and borrowed operands, and the try_ forms.
                #[test]
                fn array_array(((a, ca), (b, cb)) in pair($elem, $elem)) {
                    let x = fl!(a, ca);
                    let y = fl!(b, cb);
                    let add = zip2(&a, &b, T::add_);
                    let sub = zip2(&a, &b, T::sub_);
                    let mul = zip2(&a, &b, T::mul_);
                    let div = zip2(&a, &b, T::div_);

                    let z = &x + &y;
                    check_shape(z.shape(), add.shape(), "shape of &x + &y")?;
                    prop_assert_eq!(z.dtype(), T::DT);
                    prop_assert_eq!(z.ndim(), add.ndim());
                    prop_assert_eq!(z.size(), add.len());
                    check(&run!(z), &add, "&x + &y")?;
                    check(&run!(&x - &y), &sub, "&x - &y")?;
                    check(&run!(&x * &y), &mul, "&x * &y")?;
                    check(&run!(&x / &y), &div, "&x / &y")?;

                    check(&run!(fl!(a, ca) + fl!(b, cb)), &add, "x + y (owned)")?;
                    check(&run!(fl!(a, ca) - &y), &sub, "x - &y")?;
                    check(&run!(&x * fl!(b, cb)), &mul, "&x * y")?;
                    check(&run!(fl!(a, ca) / fl!(b, cb)), &div, "x / y (owned)")?;

                    check(&run!(x.try_add(&y).unwrap()), &add, "try_add")?;
                    check(&run!(x.try_sub(&y).unwrap()), &sub, "try_sub")?;
                    check(&run!(x.try_mul(&y).unwrap()), &mul, "try_mul")?;
                    check(&run!(x.try_div(&y).unwrap()), &div, "try_div")?;
                    // the other way round (broadcasting is symmetric)
                    check(&run!(&y - &x), &zip2(&b, &a, T::sub_), "&y - &x")?;
                    check(&run!(&y / &x), &zip2(&b, &a, T::div_), "&y / &x")?;
                }

                /// + - * / with a scalar on either side.
                #[test]
                fn array_scalar((a, ca) in chunked($elem), s in $elem) {
                    let x = fl!(a, ca);
                    let sa = scalar(s);
                    check(&run!(&x + s), &zip2(&a, &sa, T::add_), "&x + s")?;
                    check(&run!(s + &x), &zip2(&sa, &a, T::add_), "s + &x")?;
                    check(&run!(&x - s), &zip2(&a, &sa, T::sub_), "&x - s")?;
                    check(&run!(s - &x), &zip2(&sa, &a, T::sub_), "s - &x")?;
                    check(&run!(&x * s), &zip2(&a, &sa, T::mul_), "&x * s")?;
                    check(&run!(s * &x), &zip2(&sa, &a, T::mul_), "s * &x")?;
                    check(&run!(&x / s), &zip2(&a, &sa, T::div_), "&x / s")?;
                    check(&run!(s / &x), &zip2(&sa, &a, T::div_), "s / &x")?;
                    check(&run!(fl!(a, ca) + s), &zip2(&a, &sa, T::add_), "x + s (owned)")?;
                    check(&run!(s - fl!(a, ca)), &zip2(&sa, &a, T::sub_), "s - x (owned)")?;
                    check(&run!(fl!(a, ca) / s), &zip2(&a, &sa, T::div_), "x / s (owned)")?;
                    check(&run!(s * fl!(a, ca)), &zip2(&sa, &a, T::mul_), "s * x (owned)")?;
                    check(&run!(x.try_add(s).unwrap()), &zip2(&a, &sa, T::add_), "try_add(s)")?;
                    check(&run!(x.try_sub(s).unwrap()), &zip2(&a, &sa, T::sub_), "try_sub(s)")?;
                    check(&run!(x.try_mul(s).unwrap()), &zip2(&a, &sa, T::mul_), "try_mul(s)")?;
                    check(&run!(x.try_div(s).unwrap()), &zip2(&a, &sa, T::div_), "try_div(s)")?;
                }

                /// maximum/minimum with an array or a scalar, and clip.
                #[test]
                fn maximum_minimum_clip(((a, ca), (b, cb)) in pair($nonan, $nonan), s in $nonan, lo in $nonan, hi in $nonan) {
                    let x = fl!(a, ca);
                    let y = fl!(b, cb);
                    let sa = scalar(s);
                    check(&run!(x.maximum(&y).unwrap()), &zip2(&a, &b, T::max_), "maximum(&y)")?;
                    check(&run!(x.minimum(&y).unwrap()), &zip2(&a, &b, T::min_), "minimum(&y)")?;
                    check(&run!(x.maximum(s).unwrap()), &zip2(&a, &sa, T::max_), "maximum(s)")?;
                    check(&run!(x.minimum(s).unwrap()), &zip2(&a, &sa, T::min_), "minimum(s)")?;
                    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
                    let exp = a.map(|&v| T::min_(T::max_(v, lo), hi));
                    check(&run!(x.clip(lo, hi)), &exp, "clip")?;
                }

                /// Comparisons with an array (broadcast) or a scalar.
                #[test]
                fn comparisons(((a, ca), (b, cb)) in pair($elem, $elem), s in $elem) {
                    let x = fl!(a, ca);
                    let y = fl!(b, cb);
                    let sa = scalar(s);
                    let g = x.greater(&y).unwrap();
                    prop_assert_eq!(g.dtype(), DType::Bool);
                    check(&run!(g), &zip2(&a, &b, |p, q| p > q), "greater")?;
                    check(&run!(x.greater_equal(&y).unwrap()), &zip2(&a, &b, |p, q| p >= q), "greater_equal")?;
                    check(&run!(x.less(&y).unwrap()), &zip2(&a, &b, |p, q| p < q), "less")?;
                    check(&run!(x.less_equal(&y).unwrap()), &zip2(&a, &b, |p, q| p <= q), "less_equal")?;
                    check(&run!(x.equal(&y).unwrap()), &zip2(&a, &b, |p, q| p == q), "equal")?;
                    check(&run!(x.not_equal(&y).unwrap()), &zip2(&a, &b, |p, q| p != q), "not_equal")?;
                    check(&run!(x.greater(s).unwrap()), &zip2(&a, &sa, |p, q| p > q), "greater(s)")?;
                    check(&run!(x.greater_equal(s).unwrap()), &zip2(&a, &sa, |p, q| p >= q), "greater_equal(s)")?;
                    check(&run!(x.less(s).unwrap()), &zip2(&a, &sa, |p, q| p < q), "less(s)")?;
                    check(&run!(x.less_equal(s).unwrap()), &zip2(&a, &sa, |p, q| p <= q), "less_equal(s)")?;
                    check(&run!(x.equal(s).unwrap()), &zip2(&a, &sa, |p, q| p == q), "equal(s)")?;
                    check(&run!(x.not_equal(s).unwrap()), &zip2(&a, &sa, |p, q| p != q), "not_equal(s)")?;
                }

                /// where_ with arrays and scalars, broadcasting all three.
                #[test]
                fn where_select(((c, cc), (a, ca), (b, cb)) in triple(bools(), $elem, $elem), s in $elem, t in $elem) {
                    let k = fl!(c, cc);
                    let x = fl!(a, ca);
                    let y = fl!(b, cb);
                    let sa = scalar(s);
                    let tb = scalar(t);
                    let pick = |c: bool, p: T, q: T| if c { p } else { q };
                    let w = floe::where_(&k, &x, &y).unwrap();
                    prop_assert_eq!(w.dtype(), T::DT);
                    check(&run!(w), &zip3(&c, &a, &b, pick), "where_(c, &x, &y)")?;
                    check(&run!(floe::where_(&k, &x, t).unwrap()), &zip3(&c, &a, &tb, pick), "where_(c, &x, t)")?;
                    check(&run!(floe::where_(&k, s, &y).unwrap()), &zip3(&c, &sa, &b, pick), "where_(c, s, &y)")?;
                    check(&run!(floe::where_(&k, s, t).unwrap()), &zip3(&c, &sa, &tb, pick), "where_(c, s, t)")?;
                    // a condition computed by floe itself
                    let k2 = x.greater(&y).unwrap();
                    check(&run!(floe::where_(&k2, &x, &y).unwrap()), &zip2(&a, &b, |p, q| if p > q { p } else { q }), "where_(x > y, &x, &y)")?;
                }
            }
        }
    };
}

numeric!(num_i8, i8, ints::i8::full(), ints::i8::full());
numeric!(num_i16, i16, ints::i16::full(), ints::i16::full());
numeric!(num_i32, i32, ints::i32::full(), ints::i32::full());
numeric!(num_i64, i64, ints::i64::full(), ints::i64::full());
numeric!(num_u8, u8, ints::u8::full(), ints::u8::full());
numeric!(num_u16, u16, ints::u16::full(), ints::u16::full());
numeric!(num_u32, u32, ints::u32::full(), ints::u32::full());
numeric!(num_u64, u64, ints::u64::full(), ints::u64::full());
numeric!(num_f32, f32, any_f32(true), any_f32(false));
numeric!(num_f64, f64, any_f64(true), any_f64(false));

// ---------------------------------------------------------------------------
// negation and abs — signed ints and floats
// ---------------------------------------------------------------------------

macro_rules! signed {
    ($m:ident, $t:ty, $elem:expr, $abs:expr) => {
        mod $m {
            use super::*;
            type T = $t;
            proptest! {
                #![proptest_config(config(CASES))]
                #[test]
                fn neg_abs((a, ca) in chunked($elem)) {
                    let x = fl!(a, ca);
                    check(&run!(-&x), &a.map(|&v| T::neg_(v)), "-&x")?;
                    check(&run!(-fl!(a, ca)), &a.map(|&v| T::neg_(v)), "-x (owned)")?;
                    let ab = x.abs();
                    prop_assert_eq!(ab.dtype(), T::DT);
                    check(&run!(ab), &a.map($abs), "abs")?;
                    check(&run!(-(-&x)), &a, "-(-x)")?;
                }
            }
        }
    };
}

signed!(neg_i8, i8, ints::i8::full(), |v: &i8| v.wrapping_abs());
signed!(neg_i16, i16, ints::i16::full(), |v: &i16| v.wrapping_abs());
signed!(neg_i32, i32, ints::i32::full(), |v: &i32| v.wrapping_abs());
signed!(neg_i64, i64, ints::i64::full(), |v: &i64| v.wrapping_abs());
signed!(neg_f32, f32, any_f32(true), |v: &f32| v.abs());
signed!(neg_f64, f64, any_f64(true), |v: &f64| v.abs());

// ---------------------------------------------------------------------------
// float math
// ---------------------------------------------------------------------------

macro_rules! float_math {
    ($m:ident, $t:ident, $elem:expr) => {
        mod $m {
            use super::*;
            type T = $t;
            proptest! {
                #![proptest_config(config(CASES))]
                #[test]
                fn unary_math((a, ca) in chunked($elem)) {
                    let x = fl!(a, ca);
                    check(&run!(x.sqrt()), &a.map(|v| v.sqrt()), "sqrt")?;
                    check(&run!(x.exp()), &a.map(|v| v.exp()), "exp")?;
                    check(&run!(x.ln()), &a.map(|v| v.ln()), "ln")?;
                    check(&run!(x.log10()), &a.map(|v| v.log10()), "log10")?;
                    check(&run!(x.sin()), &a.map(|v| v.sin()), "sin")?;
                    check(&run!(x.cos()), &a.map(|v| v.cos()), "cos")?;
                    check(&run!(x.tan()), &a.map(|v| v.tan()), "tan")?;
                    check(&run!(x.tanh()), &a.map(|v| v.tanh()), "tanh")?;
                    check(&run!(x.floor()), &a.map(|v| v.floor()), "floor")?;
                    check(&run!(x.ceil()), &a.map(|v| v.ceil()), "ceil")?;
                    check(&run!(x.round()), &a.map(|v| v.round_ties_even()), "round (half to even)")?;
                    let n = x.isnan();
                    prop_assert_eq!(n.dtype(), DType::Bool);
                    check(&run!(n), &a.map(|v| v.is_nan()), "isnan")?;
                    check(&run!(x.isfinite()), &a.map(|v| v.is_finite()), "isfinite")?;
                }

                /// round on exact halves: half to even, as NumPy.
                #[test]
                fn round_halves((a, ca) in chunked((-40i32..40).prop_map(|k| k as $t / 2.0).boxed())) {
                    let x = fl!(a, ca);
                    check(&run!(x.round()), &a.map(|v| v.round_ties_even()), "round of halves")?;
                }

                #[test]
                fn powers((a, ca) in chunked($elem), p in prop_oneof![Just(0.5 as $t), Just(2.0 as $t), Just(-1.0 as $t), (-3.0 as $t)..(3.0 as $t)], n in -4i32..=4) {
                    let x = fl!(a, ca);
                    check(&run!(x.powf(p)), &a.map(|v| v.powf(p)), "powf")?;
                    check(&run!(x.powi(n)), &a.map(|v| v.powi(n)), "powi")?;
                }

                /// Long fused chains, broadcasting and different chunkings.
                #[test]
                fn chains(((a, ca), (b, cb)) in pair($elem, $elem)) {
                    let x = fl!(a, ca);
                    let y = fl!(b, cb);
                    let two: T = 2.0;
                    let one: T = 1.0;
                    let got = ((&x * two + &y).sin() - one).abs();
                    // the oracle's sin is the f64 one rounded to T: floe's f32 sin is
                    // that, and libm's sinf may be an ulp off it, which the
                    // subtraction of 1 amplifies past the f32 tolerance
                    let exp = zip2(&a, &b, |p, q| ((((p * two + q) as f64).sin() as T) - one).abs());
                    check(&run!(got), &exp, "((x*2+y).sin()-1).abs()")?;

                    // an intermediate used several times
                    let z = &x - &y;
                    let got = (&z * &z + &z) / (z.abs() + one);
                    let exp = zip2(&a, &b, |p, q| { let z = p - q; (z * z + z) / (z.abs() + one) });
                    check(&run!(got), &exp, "(z*z+z)/(|z|+1)")?;

                    let got = floe::where_(&x.isnan(), 0.0 as T, &(-(&y.exp() / two).tanh()).maximum(&x).unwrap()).unwrap();
                    let exp = zip2(&a, &b, |p, q| if p.is_nan() { 0.0 } else { T::max_(-((q.exp() / two).tanh()), p) });
                    check(&run!(got), &exp, "where_(isnan(x), 0, max(-tanh(exp(y)/2), x))")?;

                    let clean = floe::where_(&x.isnan(), 0.0 as T, &x).unwrap();
                    let got = (&clean.clip(-1.0, 1.0) * 3.0 as T).round().cast::<i32>().cast::<$t>() + 0.5 as T;
                    let exp = a.map(|&p| {
                        let c = if p.is_nan() { 0.0 } else { p.max(-1.0).min(1.0) };
                        ((c * 3.0).round_ties_even() as i32) as T + 0.5
                    });
                    check(&run!(got), &exp, "cast chain")?;
                }
            }

            /// maximum/minimum/clip propagate NaN, as NumPy's.
            #[test]
            fn maximum_minimum_nan() {
                let a = ndarray::arr1(&[1.0 as T, T::NAN, 3.0, T::NAN]).into_dyn();
                let b = ndarray::arr1(&[T::NAN, 2.0 as T, 1.0, T::NAN]).into_dyn();
                let x = floe::from_ndarray(&a, 3).unwrap();
                let y = floe::from_ndarray(&b, 2).unwrap();
                check(&run!(x.maximum(&y).unwrap()), &zip2(&a, &b, T::max_), "maximum with NaN").unwrap();
                check(&run!(x.minimum(&y).unwrap()), &zip2(&a, &b, T::min_), "minimum with NaN").unwrap();
                check(&run!(x.maximum(2.0).unwrap()), &a.map(|&v| T::max_(v, 2.0)), "maximum(s) with NaN").unwrap();
                check(&run!(x.clip(0.0, 2.0)), &a.map(|&v| T::min_(T::max_(v, 0.0), 2.0)), "clip with NaN").unwrap();
            }
        }
    };
}

float_math!(math_f32, f32, any_f32(true));
float_math!(math_f64, f64, any_f64(true));

/// A worked example from the brief.
#[test]
fn chain_example_broadcast_3_1_4_with_5_4() {
    let a = ArrayD::from_shape_fn(ndarray::IxDyn(&[3, 1, 4]), |i| {
        (i[0] * 4 + i[2]) as f64 * 0.25 - 1.0
    });
    let b = ArrayD::from_shape_fn(ndarray::IxDyn(&[5, 4]), |i| {
        (i[0] as f64) - (i[1] as f64) * 0.5
    });
    let x = floe::from_ndarray(&a, vec![vec![2, 1], vec![1], vec![1, 3]]).unwrap();
    let y = floe::from_ndarray(&b, [2, 3]).unwrap();
    let z = ((&x * 2.0 + &y).sin() - 1.0).abs();
    assert_eq!(z.shape(), &[3, 5, 4]);
    let exp = zip2(&a, &b, |p, q| ((p * 2.0 + q).sin() - 1.0).abs());
    check(&run!(z), &exp, "chain").unwrap();
    let z = 2.0 + &x - &y * 0.5;
    check(
        &run!(z),
        &zip2(&a, &b, |p, q| 2.0 + p - q * 0.5),
        "2.0 + x - y*0.5",
    )
    .unwrap();
}

/// Integer semantics spelled out: wrapping, truncating division, x / 0 == 0,
/// MIN / -1 wraps.
#[test]
fn integer_semantics() {
    let a = ndarray::arr1(&[7i32, -7, 7, -7, i32::MIN, i32::MAX, 5, i32::MIN]).into_dyn();
    let b = ndarray::arr1(&[2i32, 2, -2, -2, -1, 1, 0, 0]).into_dyn();
    let x = floe::from_ndarray(&a, 3).unwrap();
    let y = floe::from_ndarray(&b, vec![vec![1, 0, 7]]).unwrap();
    assert_eq!(
        run!(&x / &y).iter().copied().collect::<Vec<_>>(),
        vec![3, -3, -3, 3, i32::MIN, i32::MAX, 0, 0]
    );
    assert_eq!(
        run!(&x + &y).iter().copied().collect::<Vec<_>>(),
        vec![9, -5, 5, -9, i32::MAX, i32::MIN, 5, i32::MIN]
    );
    assert_eq!(
        run!(&x * 2i32).iter().copied().collect::<Vec<_>>(),
        a.map(|v| v.wrapping_mul(2))
            .iter()
            .copied()
            .collect::<Vec<_>>()
    );
    let u = floe::from_ndarray(&ndarray::arr1(&[0u8, 1, 255]), 2).unwrap();
    assert_eq!(
        run!(&u - 1u8).iter().copied().collect::<Vec<_>>(),
        vec![255, 0, 254]
    );
    assert_eq!(
        run!(&u + 1u8).iter().copied().collect::<Vec<_>>(),
        vec![1, 2, 0]
    );
    assert_eq!(
        run!(&u / 0u8).iter().copied().collect::<Vec<_>>(),
        vec![0, 0, 0]
    );
}

// ---------------------------------------------------------------------------
// casts
// ---------------------------------------------------------------------------

macro_rules! casts {
    ($m:ident, $t:ty, $elem:expr, [$($u:ty),*]) => {
        mod $m {
            use super::*;
            proptest! {
                #![proptest_config(config(CASES))]
                #[test]
                fn cast((a, ca) in chunked($elem)) {
                    let x = fl!(a, ca);
                    $(
                        let c = x.cast::<$u>();
                        prop_assert_eq!(c.dtype(), <$u as Val>::DT);
                        check_shape(c.shape(), a.shape(), "cast shape")?;
                        check(&run!(c), &a.map(|&v| <$t as CastVal>::cast_to::<$u>(v)),
                              concat!("cast ", stringify!($t), " -> ", stringify!($u)))?;
                    )*
                }
            }
        }
    };
}

casts!(
    cast_bool,
    bool,
    bools(),
    [bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64]
);
casts!(
    cast_i8,
    i8,
    ints::i8::full(),
    [bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64]
);
casts!(
    cast_i16,
    i16,
    ints::i16::full(),
    [bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64]
);
casts!(
    cast_i32,
    i32,
    ints::i32::full(),
    [bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64]
);
casts!(
    cast_i64,
    i64,
    ints::i64::full(),
    [bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64]
);
casts!(
    cast_u8,
    u8,
    ints::u8::full(),
    [bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64]
);
casts!(
    cast_u16,
    u16,
    ints::u16::full(),
    [bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64]
);
casts!(
    cast_u32,
    u32,
    ints::u32::full(),
    [bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64]
);
casts!(
    cast_u64,
    u64,
    ints::u64::full(),
    [bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64]
);
// float -> float and bool: any value, NaN and infinities included
casts!(cast_f32_f, f32, any_f32(true), [bool, f32, f64]);
casts!(cast_f64_f, f64, any_f64(true), [bool, f32, f64]);
// float -> int truncates toward zero (values in range of every target)
casts!(
    cast_f32_u,
    f32,
    prop_oneof![-0.99f32..127.99, (0i32..128).prop_map(|k| k as f32)].boxed(),
    [i8, i16, i32, i64, u8, u16, u32, u64]
);
casts!(
    cast_f64_u,
    f64,
    prop_oneof![-0.99f64..127.99, (0i32..128).prop_map(|k| k as f64)].boxed(),
    [i8, i16, i32, i64, u8, u16, u32, u64]
);
casts!(
    cast_f32_i,
    f32,
    (-128.0f32..128.0).boxed(),
    [i8, i16, i32, i64]
);
casts!(
    cast_f64_i,
    f64,
    (-128.0f64..128.0).boxed(),
    [i8, i16, i32, i64]
);

// ---------------------------------------------------------------------------
// bool arrays
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(CASES))]

    #[test]
    fn bool_where_and_equality(((c, cc), (a, ca), (b, cb)) in triple(bools(), bools(), bools())) {
        let k = fl!(c, cc);
        let x = fl!(a, ca);
        let y = fl!(b, cb);
        check(&run!(floe::where_(&k, &x, &y).unwrap()), &zip3(&c, &a, &b, |c, p, q| if c { p } else { q }), "where_ on bools")?;
        check(&run!(floe::where_(&k, true, &y).unwrap()), &zip2(&c, &b, |c, q| c || q), "where_(c, true, y)")?;
        check(&run!(x.equal(&y).unwrap()), &zip2(&a, &b, |p, q| p == q), "bool equal")?;
        check(&run!(x.not_equal(&y).unwrap()), &zip2(&a, &b, |p, q| p != q), "bool not_equal")?;
    }

    /// Comparisons of floats and integer arrays built from ints, checked
    /// through a float comparison.
    #[test]
    fn float_comparison_int_equivalence(((a, ca), (b, cb)) in pair(ints::i16::full(), ints::i16::full())) {
        let x = fl!(a, ca).cast::<f64>();
        let y = fl!(b, cb).cast::<f64>();
        check(&run!(x.less(&y).unwrap()), &zip2(&a, &b, |p, q| p < q), "less after cast")?;
    }
}

/// A length-1 axis chunked with zero-size blocks ([0, 1], [0, 0, 1], ...)
/// broadcasts like any other length-1 axis.
#[test]
fn broadcast_length_one_axis_with_zero_size_blocks() {
    let a = ndarray::arr1(&[10i32]).into_dyn();
    let b = ndarray::arr1(&[1i32, 2, 3]).into_dyn();
    let y = floe::from_ndarray(&b, 2).unwrap();
    for ch in [
        vec![vec![1, 0]],
        vec![vec![0, 1]],
        vec![vec![0, 1, 0]],
        vec![vec![0, 0, 1]],
    ] {
        let x = floe::from_ndarray(&a, ch.clone()).unwrap();
        let got = (&x + &y).compute();
        assert!(got.is_ok(), "(1,) chunked {ch:?} + (3,): {got:?}");
        check(
            &got.unwrap(),
            &zip2(&a, &b, |p, q| p + q),
            &format!("(1,) chunked {ch:?} + (3,)"),
        )
        .unwrap();
    }
    // 2-d: (1, 3) chunked [[0, 1], [3]] against (4, 3)
    let a = ArrayD::from_shape_fn(ndarray::IxDyn(&[1, 3]), |i| i[1] as f64);
    let b = ArrayD::from_shape_fn(ndarray::IxDyn(&[4, 3]), |i| (i[0] * 3 + i[1]) as f64);
    let x = floe::from_ndarray(&a, vec![vec![0, 1], vec![3]]).unwrap();
    let y = floe::from_ndarray(&b, [2, 2]).unwrap();
    let got = (&x * &y).compute();
    assert!(
        got.is_ok(),
        "(1, 3) chunked [[0, 1], [3]] * (4, 3): {got:?}"
    );
    check(&got.unwrap(), &zip2(&a, &b, |p, q| p * q), "(1,3) * (4,3)").unwrap();
}
