//! Reductions against ndarray oracles: sum prod mean var std min max argmin
//! argmax any all, the nan* forms, cumsum cumprod — over one axis, several
//! axes (any order), all axes (`..`), with and without keepdims, ddof 0..n+,
//! NaN propagation and skipping, empty reductions; random shapes (0-d to 4-d,
//! axes of length 0 and 1) and random chunkings (irregular, zero-size blocks).

#[macro_use]
mod common;

use common::*;
use floe::{Axes, DType};
use ndarray::ArrayD;
use proptest::prelude::*;

const CASES: u32 = 40;

fn ddofs() -> BoxedStrategy<usize> {
    prop_oneof![3 => 0usize..=2, 1 => 3usize..=10].boxed()
}

/// Whether reducing `shape` over `red` reduces an axis of length 0.
fn empty_reduction(shape: &[usize], red: &[usize]) -> bool {
    red.iter().any(|&i| shape[i] == 0)
}

/// Oracle value and tolerance, computed together per output element.
fn reduce_tol<T: Copy>(
    a: &ArrayD<T>,
    red: &[usize],
    keep: bool,
    f: impl Fn(&[T]) -> (f64, f64),
) -> (ArrayD<f64>, ArrayD<f64>) {
    let both = reduce(a, red, keep, f);
    (both.map(|p| p.0), both.map(|p| p.1))
}

fn to_f64s<T: Val>(v: &[T]) -> Vec<f64> {
    v.iter().map(|x| x.to_f64()).collect()
}
fn non_nan(v: &[f64]) -> Vec<f64> {
    v.iter().copied().filter(|x| !x.is_nan()).collect()
}
fn sum_abs(v: &[f64]) -> f64 {
    v.iter().map(|x| x.abs()).sum()
}
/// Mean and its tolerance.
fn mean_tol(v: &[f64], rtol: f64) -> (f64, f64) {
    let n = v.len();
    if n == 0 {
        return (f64::NAN, 0.0);
    }
    (
        v.iter().sum::<f64>() / n as f64,
        rtol * sum_abs(v) / n as f64,
    )
}
/// Variance (floe's definition) and its tolerance.
fn var_tol(v: &[f64], ddof: usize, rtol: f64) -> (f64, f64) {
    let sumsq: f64 = v.iter().map(|x| x * x).sum();
    let d = (v.len().saturating_sub(ddof)).max(1) as f64;
    (var_of(v, ddof), rtol * sumsq / d + 1e-300)
}

// ---------------------------------------------------------------------------
// integer and bool element types
// ---------------------------------------------------------------------------

macro_rules! int_reduce {
    ($m:ident, $t:ty, $s:ty, $elem:expr, $small:expr) => {
        mod $m {
            use super::*;
            type T = $t;
            type S = $s;

            proptest! {
                #![proptest_config(config(CASES))]

                /// sum, prod and nansum accumulate in T::Sum, wrapping.
                #[test]
                fn sum_prod(((a, ca), ax, keep) in with_axes($elem)) {
                    let x = fl!(a, ca);
                    let red = ax.reduced(a.ndim());
                    let sum = reduce(&a, &red, keep, |v| v.iter().fold(0 as S, |acc, &e| acc.wrapping_add(e as S)));
                    let prod = reduce(&a, &red, keep, |v| v.iter().fold(1 as S, |acc, &e| acc.wrapping_mul(e as S)));
                    let s = x.sum(ax.axes(keep)).unwrap();
                    prop_assert_eq!(s.dtype(), <S as Val>::DT);
                    check_shape(s.shape(), sum.shape(), "sum shape (before compute)")?;
                    check(&run!(s), &sum, "sum")?;
                    let p = x.prod(ax.axes(keep)).unwrap();
                    prop_assert_eq!(p.dtype(), <S as Val>::DT);
                    check(&run!(p), &prod, "prod")?;
                    check(&run!(x.nansum(ax.axes(keep)).unwrap()), &sum, "nansum")?;
                }

                /// mean/var/std (and the nan forms, identical for integers) in f64.
                #[test]
                fn mean_var_std(((a, ca), ax, keep) in with_axes($small), ddof in ddofs()) {
                    let x = fl!(a, ca);
                    let red = ax.reduced(a.ndim());
                    let (mean, mtol) = reduce_tol(&a, &red, keep, |v| mean_tol(&to_f64s(v), 1e-12));
                    let (var, vtol) = reduce_tol(&a, &red, keep, |v| var_tol(&to_f64s(v), ddof, 1e-10));
                    let m = x.mean(ax.axes(keep)).unwrap();
                    prop_assert_eq!(m.dtype(), DType::F64);
                    check_shape(m.shape(), mean.shape(), "mean shape")?;
                    let got: ArrayD<f64> = run!(m);
                    check_tol(&got, &mean, &mtol, "mean")?;
                    check_tol(&run!(x.nanmean(ax.axes(keep)).unwrap()), &mean, &mtol, "nanmean")?;
                    let v = x.var(ax.axes(keep), ddof).unwrap();
                    prop_assert_eq!(v.dtype(), DType::F64);
                    let got: ArrayD<f64> = run!(v);
                    check_tol(&got, &var, &vtol, &format!("var ddof={ddof}"))?;
                    check_tol(&run!(x.nanvar(ax.axes(keep), ddof).unwrap()), &var, &vtol, &format!("nanvar ddof={ddof}"))?;
                    let sd: ArrayD<f64> = run!(x.std(ax.axes(keep), ddof).unwrap());
                    check_tol(&sd.map(|s| s * s), &var, &vtol, &format!("std^2 ddof={ddof}"))?;
                    let sd: ArrayD<f64> = run!(x.nanstd(ax.axes(keep), ddof).unwrap());
                    check_tol(&sd.map(|s| s * s), &var, &vtol, &format!("nanstd^2 ddof={ddof}"))?;
                }

                /// min/max/nanmin/nanmax: Err exactly when a reduced axis is empty.
                #[test]
                fn min_max(((a, ca), ax, keep) in with_axes($elem)) {
                    let x = fl!(a, ca);
                    let red = ax.reduced(a.ndim());
                    if empty_reduction(a.shape(), &red) {
                        prop_assert!(x.min(ax.axes(keep)).is_err(), "min of an empty reduction must be Err");
                        prop_assert!(x.max(ax.axes(keep)).is_err(), "max of an empty reduction must be Err");
                        prop_assert!(x.nanmin(ax.axes(keep)).is_err(), "nanmin of an empty reduction must be Err");
                        prop_assert!(x.nanmax(ax.axes(keep)).is_err(), "nanmax of an empty reduction must be Err");
                    } else {
                        let mn = reduce(&a, &red, keep, |v| extreme(v, false));
                        let mx = reduce(&a, &red, keep, |v| extreme(v, true));
                        let r = x.min(ax.axes(keep)).unwrap();
                        prop_assert_eq!(r.dtype(), T::DT);
                        check(&run!(r), &mn, "min")?;
                        check(&run!(x.max(ax.axes(keep)).unwrap()), &mx, "max")?;
                        check(&run!(x.nanmin(ax.axes(keep)).unwrap()), &mn, "nanmin")?;
                        check(&run!(x.nanmax(ax.axes(keep)).unwrap()), &mx, "nanmax")?;
                    }
                }

                /// argmin/argmax along one axis: first occurrence, i64.
                #[test]
                fn argmin_argmax(((a, ca), axis) in with_axis($elem)) {
                    let x = fl!(a, ca);
                    if a.shape()[axis] == 0 {
                        prop_assert!(x.argmin(axis).is_err(), "argmin over an empty axis must be Err");
                        prop_assert!(x.argmax(axis).is_err(), "argmax over an empty axis must be Err");
                    } else {
                        let r = x.argmin(axis).unwrap();
                        prop_assert_eq!(r.dtype(), DType::I64);
                        check(&run!(r), &reduce(&a, &[axis], false, |v| arg_extreme(v, false)), "argmin")?;
                        check(&run!(x.argmax(axis).unwrap()), &reduce(&a, &[axis], false, |v| arg_extreme(v, true)), "argmax")?;
                    }
                }

                #[test]
                fn any_all(((a, ca), ax, keep) in with_axes($elem)) {
                    let x = fl!(a, ca);
                    let red = ax.reduced(a.ndim());
                    let r = x.any(ax.axes(keep)).unwrap();
                    prop_assert_eq!(r.dtype(), DType::Bool);
                    check(&run!(r), &reduce(&a, &red, keep, |v| v.iter().any(|e| e.truthy())), "any")?;
                    check(&run!(x.all(ax.axes(keep)).unwrap()), &reduce(&a, &red, keep, |v| v.iter().all(|e| e.truthy())), "all")?;
                }

                #[test]
                fn cumsum_cumprod(((a, ca), axis) in with_axis($elem)) {
                    let x = fl!(a, ca);
                    let c = x.cumsum(axis).unwrap();
                    prop_assert_eq!(c.dtype(), <S as Val>::DT);
                    check_shape(c.shape(), a.shape(), "cumsum shape")?;
                    check(&run!(c), &scan(&a, axis, 0 as S, |acc, e| acc.wrapping_add(e as S)), "cumsum")?;
                    check(&run!(x.cumprod(axis).unwrap()), &scan(&a, axis, 1 as S, |acc, e| acc.wrapping_mul(e as S)), "cumprod")?;
                }
            }
        }
    };
}

int_reduce!(red_bool, bool, i64, bools(), bools());
int_reduce!(red_i8, i8, i64, ints::i8::full(), ints::i8::small());
int_reduce!(red_i16, i16, i64, ints::i16::full(), ints::i16::small());
int_reduce!(red_i32, i32, i64, ints::i32::full(), ints::i32::small());
int_reduce!(red_i64, i64, i64, ints::i64::full(), ints::i64::small());
int_reduce!(red_u8, u8, u64, ints::u8::full(), ints::u8::small());
int_reduce!(red_u16, u16, u64, ints::u16::full(), ints::u16::small());
int_reduce!(red_u32, u32, u64, ints::u32::full(), ints::u32::small());
int_reduce!(red_u64, u64, u64, ints::u64::full(), ints::u64::small());

// ---------------------------------------------------------------------------
// floats
// ---------------------------------------------------------------------------

macro_rules! float_reduce {
    ($m:ident, $t:ident, $rtol:expr, $grid:ident, $factor:ident, $any:ident) => {
        mod $m {
            use super::*;
            type T = $t;
            const RTOL: f64 = $rtol;

            proptest! {
                #![proptest_config(config(CASES))]

                /// sum propagates NaN; nansum skips it (all-NaN gives 0).
                #[test]
                fn sum_nansum(((a, ca), ax, keep) in with_axes(prop_oneof![$grid(0.0), $grid(0.1), $grid(0.7)].boxed())) {
                    let x = fl!(a, ca);
                    let red = ax.reduced(a.ndim());
                    let (sum, tol) = reduce_tol(&a, &red, keep, |v| { let f = to_f64s(v); (f.iter().sum(), RTOL * sum_abs(&f)) });
                    let (nsum, ntol) = reduce_tol(&a, &red, keep, |v| { let f = non_nan(&to_f64s(v)); (f.iter().sum(), RTOL * sum_abs(&f)) });
                    let s = x.sum(ax.axes(keep)).unwrap();
                    prop_assert_eq!(s.dtype(), T::DT);
                    check_shape(s.shape(), sum.shape(), "sum shape")?;
                    let got: ArrayD<T> = run!(s);
                    check_tol(&got, &sum, &tol, "sum")?;
                    let got: ArrayD<T> = run!(x.nansum(ax.axes(keep)).unwrap());
                    check_tol(&got, &nsum, &ntol, "nansum")?;
                }

                /// sum of general values (tiny, large, infinities).
                #[test]
                fn sum_general(((a, ca), ax, keep) in with_axes($any(true))) {
                    let x = fl!(a, ca);
                    let red = ax.reduced(a.ndim());
                    let (sum, tol) = reduce_tol(&a, &red, keep, |v| { let f = to_f64s(v); (f.iter().sum(), RTOL * sum_abs(&f)) });
                    check_tol(&run!(x.sum(ax.axes(keep)).unwrap()), &sum, &tol, "sum")?;
                    let (mean, mtol) = reduce_tol(&a, &red, keep, |v| mean_tol(&to_f64s(v), RTOL));
                    check_tol(&run!(x.mean(ax.axes(keep)).unwrap()), &mean, &mtol, "mean")?;
                }

                #[test]
                fn prod(((a, ca), ax, keep) in with_axes(prop_oneof![$factor(0.0), $factor(0.05)].boxed())) {
                    let x = fl!(a, ca);
                    let red = ax.reduced(a.ndim());
                    let (prod, tol) = reduce_tol(&a, &red, keep, |v| { let p: f64 = to_f64s(v).iter().product(); (p, RTOL * p.abs()) });
                    let p = x.prod(ax.axes(keep)).unwrap();
                    prop_assert_eq!(p.dtype(), T::DT);
                    check_tol(&run!(p), &prod, &tol, "prod")?;
                }

                /// mean/var/std propagate NaN; the nan forms skip it.
                #[test]
                fn mean_var_std(((a, ca), ax, keep) in with_axes(prop_oneof![$grid(0.0), $grid(0.15), $grid(0.8)].boxed()), ddof in ddofs()) {
                    let x = fl!(a, ca);
                    let red = ax.reduced(a.ndim());
                    let ax_ = || ax.axes(keep);
                    let (mean, mtol) = reduce_tol(&a, &red, keep, |v| mean_tol(&to_f64s(v), RTOL));
                    let (nmean, nmtol) = reduce_tol(&a, &red, keep, |v| mean_tol(&non_nan(&to_f64s(v)), RTOL));
                    let (var, vtol) = reduce_tol(&a, &red, keep, |v| var_tol(&to_f64s(v), ddof, RTOL));
                    let (nvar, nvtol) = reduce_tol(&a, &red, keep, |v| var_tol(&non_nan(&to_f64s(v)), ddof, RTOL));
                    let m = x.mean(ax_()).unwrap();
                    prop_assert_eq!(m.dtype(), T::DT);
                    let got: ArrayD<T> = run!(m);
                    check_tol(&got, &mean, &mtol, "mean")?;
                    let got: ArrayD<T> = run!(x.nanmean(ax_()).unwrap());
                    check_tol(&got, &nmean, &nmtol, "nanmean")?;
                    let v = x.var(ax_(), ddof).unwrap();
                    prop_assert_eq!(v.dtype(), T::DT);
                    let got: ArrayD<T> = run!(v);
                    check_tol(&got, &var, &vtol, &format!("var ddof={ddof}"))?;
                    let got: ArrayD<T> = run!(x.nanvar(ax_(), ddof).unwrap());
                    check_tol(&got, &nvar, &nvtol, &format!("nanvar ddof={ddof}"))?;
                    let sd: ArrayD<T> = run!(x.std(ax_(), ddof).unwrap());
                    check_tol(&sd.map(|s| (*s as f64) * (*s as f64)), &var, &vtol, &format!("std^2 ddof={ddof}"))?;
                    let sd: ArrayD<T> = run!(x.nanstd(ax_(), ddof).unwrap());
                    check_tol(&sd.map(|s| (*s as f64) * (*s as f64)), &nvar, &nvtol, &format!("nanstd^2 ddof={ddof}"))?;
                }

                /// min/max propagate NaN, nanmin/nanmax skip it (all-NaN gives
                /// NaN); all are Err exactly when a reduced axis is empty.
                #[test]
                fn min_max(((a, ca), ax, keep) in with_axes(prop_oneof![$any(true), $grid(0.2), $grid(0.9)].boxed())) {
                    let x = fl!(a, ca);
                    let red = ax.reduced(a.ndim());
                    if empty_reduction(a.shape(), &red) {
                        prop_assert!(x.min(ax.axes(keep)).is_err(), "min of an empty reduction must be Err");
                        prop_assert!(x.max(ax.axes(keep)).is_err(), "max of an empty reduction must be Err");
                        prop_assert!(x.nanmin(ax.axes(keep)).is_err(), "nanmin of an empty reduction must be Err");
                        prop_assert!(x.nanmax(ax.axes(keep)).is_err(), "nanmax of an empty reduction must be Err");
                    } else {
                        let nan_skip = |v: &[T], want_max: bool| {
                            let f: Vec<T> = v.iter().copied().filter(|e| !e.is_nan()).collect();
                            if f.is_empty() { T::NAN } else { extreme(&f, want_max) }
                        };
                        let r = x.min(ax.axes(keep)).unwrap();
                        prop_assert_eq!(r.dtype(), T::DT);
                        check(&run!(r), &reduce(&a, &red, keep, |v| extreme(v, false)), "min")?;
                        check(&run!(x.max(ax.axes(keep)).unwrap()), &reduce(&a, &red, keep, |v| extreme(v, true)), "max")?;
                        check(&run!(x.nanmin(ax.axes(keep)).unwrap()), &reduce(&a, &red, keep, |v| nan_skip(v, false)), "nanmin")?;
                        check(&run!(x.nanmax(ax.axes(keep)).unwrap()), &reduce(&a, &red, keep, |v| nan_skip(v, true)), "nanmax")?;
                    }
                }

                /// argmin/argmax: first occurrence; the first NaN counts as the extreme.
                #[test]
                fn argmin_argmax(((a, ca), axis) in with_axis(prop_oneof![$any(true), $grid(0.1), (-2i32..=2).prop_map(|k| k as T).boxed()].boxed())) {
                    let x = fl!(a, ca);
                    if a.shape()[axis] == 0 {
                        prop_assert!(x.argmin(axis).is_err(), "argmin over an empty axis must be Err");
                        prop_assert!(x.argmax(axis).is_err(), "argmax over an empty axis must be Err");
                    } else {
                        let r = x.argmin(axis).unwrap();
                        prop_assert_eq!(r.dtype(), DType::I64);
                        check(&run!(r), &reduce(&a, &[axis], false, |v| arg_extreme(v, false)), "argmin")?;
                        check(&run!(x.argmax(axis).unwrap()), &reduce(&a, &[axis], false, |v| arg_extreme(v, true)), "argmax")?;
                    }
                }

                /// any/all: nonzero is true, NaN is true.
                #[test]
                fn any_all(((a, ca), ax, keep) in with_axes(prop_oneof![$any(true), (0i32..=1).prop_map(|k| k as T).boxed(), Just(0.0 as T).boxed()].boxed())) {
                    let x = fl!(a, ca);
                    let red = ax.reduced(a.ndim());
                    check(&run!(x.any(ax.axes(keep)).unwrap()), &reduce(&a, &red, keep, |v| v.iter().any(|e| e.truthy())), "any")?;
                    check(&run!(x.all(ax.axes(keep)).unwrap()), &reduce(&a, &red, keep, |v| v.iter().all(|e| e.truthy())), "all")?;
                }

                #[test]
                fn cumsum(((a, ca), axis) in with_axis(prop_oneof![$grid(0.0), $grid(0.05)].boxed())) {
                    let x = fl!(a, ca);
                    let c = x.cumsum(axis).unwrap();
                    prop_assert_eq!(c.dtype(), T::DT);
                    let exp = scan(&a, axis, 0.0f64, |acc, e| acc + e as f64);
                    let tol = scan(&a, axis, 0.0f64, |acc, e| acc + (e as f64).abs()).map(|s| RTOL * s);
                    check_tol(&run!(c), &exp, &tol, "cumsum")?;
                }

                #[test]
                fn cumprod(((a, ca), axis) in with_axis(prop_oneof![$factor(0.0), $factor(0.05)].boxed())) {
                    let x = fl!(a, ca);
                    let c = x.cumprod(axis).unwrap();
                    prop_assert_eq!(c.dtype(), T::DT);
                    let exp = scan(&a, axis, 1.0f64, |acc, e| acc * e as f64);
                    let tol = exp.map(|p| RTOL * p.abs());
                    check_tol(&run!(c), &exp, &tol, "cumprod")?;
                }
            }
        }
    };
}

float_reduce!(red_f32, f32, 1e-4, grid_nan_f32, factor_f32, any_f32);
float_reduce!(red_f64, f64, 1e-10, grid_nan_f64, factor_f64, any_f64);

// ---------------------------------------------------------------------------
// reductions of expressions, reductions of reductions, anomalies
// ---------------------------------------------------------------------------

/// Two broadcastable chunked arrays and axes of their broadcast shape.
/// Two operands, the axes to reduce, keepdims.
type PairAxes = ((Chunked<f64>, Chunked<f64>), AxesChoice, bool);

fn pair_axes() -> BoxedStrategy<PairAxes> {
    pair(grid_f64(), grid_f64())
        .prop_flat_map(|p| {
            let nd = (p.0).0.ndim().max((p.1).0.ndim());
            (Just(p), axes_choice(nd), prop::bool::weighted(0.3))
        })
        .boxed()
}

proptest! {
    #![proptest_config(config(CASES))]

    /// A fused elementwise chain ending in a reduction.
    #[test]
    fn reduce_of_expression((((a, ca), (b, cb)), ax, keep) in pair_axes()) {
        let x = fl!(a, ca);
        let y = fl!(b, cb);
        let e = zip2(&a, &b, |p, q| (p * 2.0 + q).abs() - 1.0);
        let red = ax.reduced(e.ndim());
        let (sum, tol) = reduce_tol(&e, &red, keep, |v| (v.iter().sum(), 1e-10 * sum_abs(v)));
        let got = ((&x * 2.0 + &y).abs() - 1.0).sum(ax.axes(keep)).unwrap();
        check_tol(&run!(got), &sum, &tol, "sum(|2x+y|-1)")?;
        let (mean, mtol) = reduce_tol(&e, &red, keep, |v| mean_tol(v, 1e-10));
        let got = ((&x * 2.0 + &y).abs() - 1.0).mean(ax.axes(keep)).unwrap();
        check_tol(&run!(got), &mean, &mtol, "mean(|2x+y|-1)")?;
        if !empty_reduction(e.shape(), &red) {
            let mx = reduce(&e, &red, keep, |v| extreme(v, true));
            let got = ((&x * 2.0 + &y).abs() - 1.0).max(ax.axes(keep)).unwrap();
            check(&run!(got), &mx, "max(|2x+y|-1)")?;
        }
    }

    /// x - x.mean(axis, keepdims), and a reduction of a reduction.
    #[test]
    fn anomaly_and_nested(((a, ca), axis) in with_axis(grid_f64())) {
        let x = fl!(a, ca);
        let m = x.mean(Axes::from(axis).keepdims()).unwrap();
        let mut kshape = a.shape().to_vec();
        kshape[axis] = 1;
        check_shape(m.shape(), &kshape, "mean keepdims shape")?;
        let mean = reduce(&a, &[axis], true, |v| v.iter().sum::<f64>() / v.len() as f64);
        let exp = zip2(&a, &mean, |p, q| p - q);
        check_rtol(&run!(&x - &m), &exp, 1e-12, 1e-12, "x - x.mean(axis, keepdims)")?;
        // sum over axis, then over everything left
        let total = x.sum(axis).unwrap().sum(..).unwrap();
        check_shape(total.shape(), &[], "sum(..) is 0-d")?;
        let got = run!(total);
        let exp: f64 = a.iter().sum();
        prop_assert!((got[[]] - exp).abs() <= 1e-10 * a.iter().map(|v| v.abs()).sum::<f64>(), "sum(axis).sum(..) = {} expected {}", got[[]], exp);
    }
}

// ---------------------------------------------------------------------------
// the spellings of Axes
// ---------------------------------------------------------------------------

#[test]
fn axes_spellings() {
    let a = ArrayD::from_shape_fn(ndarray::IxDyn(&[3, 4, 5]), |i| {
        (i[0] * 20 + i[1] * 5 + i[2]) as i32 - 30
    });
    let x = floe::from_ndarray(&a, vec![vec![1, 2], vec![4], vec![2, 0, 3]]).unwrap();
    let sum = |red: &[usize], keep: bool| {
        reduce(&a, red, keep, |v| v.iter().map(|&e| e as i64).sum::<i64>())
    };

    check(&run!(x.sum(0).unwrap()), &sum(&[0], false), "sum(0)").unwrap();
    check(
        &run!(x.sum(2usize).unwrap()),
        &sum(&[2], false),
        "sum(2usize)",
    )
    .unwrap();
    check(
        &run!(x.sum([0, 2]).unwrap()),
        &sum(&[0, 2], false),
        "sum([0, 2])",
    )
    .unwrap();
    check(
        &run!(x.sum([2, 0]).unwrap()),
        &sum(&[0, 2], false),
        "sum([2, 0])",
    )
    .unwrap();
    check(
        &run!(x.sum(&[0usize, 2][..]).unwrap()),
        &sum(&[0, 2], false),
        "sum(&[0, 2][..])",
    )
    .unwrap();
    let v: Vec<usize> = vec![1, 2];
    check(
        &run!(x.sum(v.as_slice()).unwrap()),
        &sum(&[1, 2], false),
        "sum(&vec)",
    )
    .unwrap();
    let all = x.sum(..).unwrap();
    assert_eq!(all.shape(), &[] as &[usize]);
    assert_eq!(all.ndim(), 0);
    check(&run!(all), &sum(&[0, 1, 2], false), "sum(..)").unwrap();

    let k = x.sum(Axes::from(0).keepdims()).unwrap();
    assert_eq!(k.shape(), &[1, 4, 5]);
    check(&run!(k), &sum(&[0], true), "sum(Axes::from(0).keepdims())").unwrap();
    let k = x.sum(Axes::from([0, 2]).keepdims()).unwrap();
    assert_eq!(k.shape(), &[1, 4, 1]);
    check(
        &run!(k),
        &sum(&[0, 2], true),
        "sum(Axes::from([0, 2]).keepdims())",
    )
    .unwrap();
    let k = x.sum(Axes::from(..).keepdims()).unwrap();
    assert_eq!(k.shape(), &[1, 1, 1]);
    check(
        &run!(k),
        &sum(&[0, 1, 2], true),
        "sum(Axes::from(..).keepdims())",
    )
    .unwrap();

    let mx = x.max([1, 2]).unwrap();
    check(
        &run!(mx),
        &reduce(&a, &[1, 2], false, |v| *v.iter().max().unwrap()),
        "max([1, 2])",
    )
    .unwrap();
    let m = x.mean(Axes::from(1).keepdims()).unwrap();
    assert_eq!(m.shape(), &[3, 1, 5]);
}

/// Worked examples of the edge cases of var, mean and the nan forms.
#[test]
fn edge_cases_spelled_out() {
    let a = ndarray::arr2(&[
        [1.0, f64::NAN, 3.0],
        [f64::NAN, f64::NAN, f64::NAN],
        [2.0, 2.0, 2.0],
    ])
    .into_dyn();
    let x = floe::from_ndarray(&a, vec![vec![2, 1], vec![1, 0, 2]]).unwrap();
    let r = |y: floe::Array<f64>| run!(y).iter().copied().collect::<Vec<f64>>();
    let same = |g: Vec<f64>, e: Vec<f64>, what: &str| {
        assert_eq!(g.len(), e.len(), "{what}: {g:?} vs {e:?}");
        for (p, q) in g.iter().zip(&e) {
            assert!(
                (p.is_nan() && q.is_nan()) || (p - q).abs() <= 1e-12 * q.abs().max(1.0) || p == q,
                "{what}: got {g:?}, expected {e:?}"
            );
        }
    };
    let nan = f64::NAN;
    let inf = f64::INFINITY;
    same(r(x.sum(1).unwrap()), vec![nan, nan, 6.0], "sum");
    same(
        r(x.nansum(1).unwrap()),
        vec![4.0, 0.0, 6.0],
        "nansum (all-NaN gives 0)",
    );
    same(
        r(x.nanmean(1).unwrap()),
        vec![2.0, nan, 2.0],
        "nanmean (all-NaN gives NaN)",
    );
    same(
        r(x.nanmin(1).unwrap()),
        vec![1.0, nan, 2.0],
        "nanmin (all-NaN gives NaN)",
    );
    same(r(x.nanmax(1).unwrap()), vec![3.0, nan, 2.0], "nanmax");
    same(
        r(x.min(1).unwrap()),
        vec![nan, nan, 2.0],
        "min propagates NaN",
    );
    same(
        r(x.nanvar(1, 0).unwrap()),
        vec![1.0, nan, 0.0],
        "nanvar ddof 0",
    );
    same(
        r(x.nanvar(1, 1).unwrap()),
        vec![2.0, nan, 0.0],
        "nanvar ddof 1",
    );
    same(
        r(x.nanvar(1, 2).unwrap()),
        vec![inf, nan, 0.0],
        "nanvar ddof 2 (n - ddof = 0, M2 > 0 gives inf)",
    );
    same(
        r(x.var(1, 3).unwrap()),
        vec![nan, nan, nan],
        "var ddof 3 (M2 == 0 or NaN gives NaN)",
    );
    same(
        r(x.nanstd(1, 1).unwrap()),
        vec![2f64.sqrt(), nan, 0.0],
        "nanstd ddof 1",
    );
    let i = run!(x.argmax(1).unwrap())
        .iter()
        .copied()
        .collect::<Vec<i64>>();
    assert_eq!(
        i,
        vec![1, 0, 0],
        "argmax: first NaN wins, first occurrence on ties"
    );
    let i = run!(x.argmin(0).unwrap())
        .iter()
        .copied()
        .collect::<Vec<i64>>();
    assert_eq!(i, vec![1, 0, 1], "argmin along 0");

    // mean over an empty axis is NaN, sum 0, prod 1; min is Err
    let e = floe::zeros::<f64>([3, 0], 2).unwrap();
    same(
        r(e.mean(1).unwrap()),
        vec![nan, nan, nan],
        "mean over an empty axis",
    );
    same(
        r(e.sum(1).unwrap()),
        vec![0.0, 0.0, 0.0],
        "sum over an empty axis",
    );
    same(
        r(e.prod(1).unwrap()),
        vec![1.0, 1.0, 1.0],
        "prod over an empty axis",
    );
    assert!(e.min(1).is_err());
    assert!(e.max(..).is_err());
    assert!(e.argmin(1).is_err());
    // reducing the non-empty axis gives an empty result, not an error
    assert_eq!(run!(e.min(0).unwrap()).shape(), &[0]);
    assert_eq!(run!(e.argmax(0).unwrap()).shape(), &[0]);
    let b = floe::zeros::<bool>([0], 1).unwrap();
    assert!(!run!(b.any(..).unwrap())[[]]);
    assert!(run!(b.all(..).unwrap())[[]]);
}

// ---------------------------------------------------------------------------
// many blocks along one axis (multi-level tree reductions, long scans)
// ---------------------------------------------------------------------------

/// 1-d arrays up to 1200 long or 2-d up to 60 x 60, in blocks of 1 to 9
/// (possibly irregular): hundreds of blocks along a reduced axis.
fn long_axes<T: Clone + std::fmt::Debug + 'static>(
    elem: BoxedStrategy<T>,
) -> BoxedStrategy<((ArrayD<T>, Chunking), usize)> {
    prop_oneof![
        (1usize..=1200).prop_map(|n| vec![n]),
        (1usize..=60, 1usize..=60).prop_map(|(a, b)| vec![a, b]),
    ]
    .prop_flat_map(move |s| {
        let nd = s.len();
        let ch = prop_oneof![
            (1usize..=9).prop_map(Chunking::Uniform),
            s.iter()
                .map(|&l| explicit_axis_many(l))
                .collect::<Vec<_>>()
                .prop_map(Chunking::Explicit),
        ];
        ((array_of(s.clone(), elem.clone()), ch), 0..nd)
    })
    .boxed()
}

/// Explicit blocks of 0 to 9 elements (zero-size blocks included) covering `len`.
fn explicit_axis_many(len: usize) -> BoxedStrategy<Vec<usize>> {
    prop::collection::vec(0usize..=9, 1..400)
        .prop_map(move |sizes| {
            let mut out = Vec::new();
            let mut left = len;
            for s in sizes {
                if left == 0 {
                    break;
                }
                let s = s.min(left);
                out.push(s);
                left -= s;
            }
            if left > 0 {
                out.push(left);
            }
            out
        })
        .boxed()
}

proptest! {
    #![proptest_config(config(16))]

    #[test]
    fn many_blocks_f64(((a, ca), axis) in long_axes(grid_nan_f64(0.01)), ddof in 0usize..=2) {
        let x = fl!(a, ca);
        let f = |v: &[f64]| (v.iter().sum::<f64>(), 1e-10 * sum_abs(v));
        let (sum, tol) = reduce_tol(&a, &[axis], false, f);
        check_tol(&run!(x.sum(axis).unwrap()), &sum, &tol, "sum")?;
        let (nsum, ntol) = reduce_tol(&a, &[axis], false, |v| f(&non_nan(v)));
        check_tol(&run!(x.nansum(axis).unwrap()), &nsum, &ntol, "nansum")?;
        let (mean, mtol) = reduce_tol(&a, &[axis], false, |v| mean_tol(v, 1e-10));
        check_tol(&run!(x.mean(axis).unwrap()), &mean, &mtol, "mean")?;
        let (var, vtol) = reduce_tol(&a, &[axis], false, |v| var_tol(&non_nan(v), ddof, 1e-10));
        check_tol(&run!(x.nanvar(axis, ddof).unwrap()), &var, &vtol, "nanvar")?;
        let (var, vtol) = reduce_tol(&a, &[axis], false, |v| var_tol(v, ddof, 1e-10));
        check_tol(&run!(x.var(axis, ddof).unwrap()), &var, &vtol, "var")?;
        check(&run!(x.max(axis).unwrap()), &reduce(&a, &[axis], false, |v| extreme(v, true)), "max")?;
        check(&run!(x.argmin(axis).unwrap()), &reduce(&a, &[axis], false, |v| arg_extreme(v, false)), "argmin")?;
        check(&run!(x.argmax(axis).unwrap()), &reduce(&a, &[axis], false, |v| arg_extreme(v, true)), "argmax")?;
        let exp = scan(&a, axis, 0.0f64, |acc, e| acc + e);
        let tol = scan(&a, axis, 0.0f64, |acc, e| acc + e.abs()).map(|s| 1e-10 * s);
        check_tol(&run!(x.cumsum(axis).unwrap()), &exp, &tol, "cumsum")?;
        let (all, atol) = reduce_tol(&a, &(0..a.ndim()).collect::<Vec<_>>(), false, |v| f(&non_nan(v)));
        check_tol(&run!(x.nansum(..).unwrap()), &all, &atol, "nansum(..)")?;
    }

    /// Integers with many ties: first occurrence across blocks.
    #[test]
    fn many_blocks_i32(((a, ca), axis) in long_axes((-3i32..=3).boxed())) {
        let x = fl!(a, ca);
        check(&run!(x.sum(axis).unwrap()), &reduce(&a, &[axis], false, |v| v.iter().map(|&e| e as i64).sum::<i64>()), "sum")?;
        check(&run!(x.min(axis).unwrap()), &reduce(&a, &[axis], false, |v| *v.iter().min().unwrap()), "min")?;
        check(&run!(x.argmin(axis).unwrap()), &reduce(&a, &[axis], false, |v| arg_extreme(v, false)), "argmin")?;
        check(&run!(x.argmax(axis).unwrap()), &reduce(&a, &[axis], false, |v| arg_extreme(v, true)), "argmax")?;
        check(&run!(x.cumsum(axis).unwrap()), &scan(&a, axis, 0i64, |acc, e| acc + e as i64), "cumsum")?;
        check(&run!(x.cumprod(axis).unwrap()), &scan(&a, axis, 1i64, |acc, e| acc.wrapping_mul(e as i64)), "cumprod")?;
        check(&run!(x.any(axis).unwrap()), &reduce(&a, &[axis], false, |v| v.iter().any(|&e| e != 0)), "any")?;
        check(&run!(x.all(axis).unwrap()), &reduce(&a, &[axis], false, |v| v.iter().all(|&e| e != 0)), "all")?;
        let y = x.rechunk(7).unwrap();
        check(&run!(&y * 2i32 - &x), &a, "2y - x after rechunk")?;
    }
}

// ---------------------------------------------------------------------------
// all-axes reductions of broadcast expressions (tile-fused reductions)
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(CASES))]

    #[test]
    fn all_axes_of_broadcast_expression_f64(((a, ca), (b, cb)) in pair(grid_nan_f64(0.03), grid_f64()), keep in any::<bool>(), ddof in 0usize..=2) {
        let x = fl!(a, ca);
        let y = fl!(b, cb);
        let e = zip2(&a, &b, |p, q| p * 2.0 - q);
        let z = &x * 2.0 - &y;
        let all: Vec<usize> = (0..e.ndim()).collect();
        let ax = || if keep { Axes::from(..).keepdims() } else { Axes::from(..) };
        let (sum, tol) = reduce_tol(&e, &all, keep, |v| (v.iter().sum(), 1e-10 * sum_abs(v)));
        check_tol(&run!(z.sum(ax()).unwrap()), &sum, &tol, "sum(..)")?;
        let (nsum, ntol) = reduce_tol(&e, &all, keep, |v| { let f = non_nan(v); (f.iter().sum(), 1e-10 * sum_abs(&f)) });
        check_tol(&run!(z.nansum(ax()).unwrap()), &nsum, &ntol, "nansum(..)")?;
        let (mean, mtol) = reduce_tol(&e, &all, keep, |v| mean_tol(v, 1e-10));
        check_tol(&run!(z.mean(ax()).unwrap()), &mean, &mtol, "mean(..)")?;
        let (nmean, nmtol) = reduce_tol(&e, &all, keep, |v| mean_tol(&non_nan(v), 1e-10));
        check_tol(&run!(z.nanmean(ax()).unwrap()), &nmean, &nmtol, "nanmean(..)")?;
        let (var, vtol) = reduce_tol(&e, &all, keep, |v| var_tol(v, ddof, 1e-10));
        check_tol(&run!(z.var(ax(), ddof).unwrap()), &var, &vtol, "var(..)")?;
        let (nvar, nvtol) = reduce_tol(&e, &all, keep, |v| var_tol(&non_nan(v), ddof, 1e-10));
        check_tol(&run!(z.nanvar(ax(), ddof).unwrap()), &nvar, &nvtol, "nanvar(..)")?;
        check(&run!(z.any(ax()).unwrap()), &reduce(&e, &all, keep, |v| v.iter().any(|e| e.truthy())), "any(..)")?;
        check(&run!(z.all(ax()).unwrap()), &reduce(&e, &all, keep, |v| v.iter().all(|e| e.truthy())), "all(..)")?;
        if e.is_empty() {
            prop_assert!(z.max(ax()).is_err());
        } else {
            check(&run!(z.max(ax()).unwrap()), &reduce(&e, &all, keep, |v| extreme(v, true)), "max(..)")?;
            check(&run!(z.min(ax()).unwrap()), &reduce(&e, &all, keep, |v| extreme(v, false)), "min(..)")?;
            let nmx = reduce(&e, &all, keep, |v| { let f = non_nan(v); if f.is_empty() { f64::NAN } else { extreme(&f, true) } });
            check(&run!(z.nanmax(ax()).unwrap()), &nmx, "nanmax(..)")?;
        }
        // the same expression reduced twice in one compute_many
        let outs = floe::Executor::cpu().compute_many(&[&z.sum(ax()).unwrap(), &z.nansum(ax()).unwrap()]).unwrap();
        check_tol(&outs[0], &sum, &tol, "compute_many sum(..)")?;
        check_tol(&outs[1], &nsum, &ntol, "compute_many nansum(..)")?;
    }

    #[test]
    fn all_axes_of_broadcast_expression_int(((a, ca), (b, cb)) in pair(ints::i32::full(), ints::i16::small()), keep in any::<bool>()) {
        let x = fl!(a, ca);
        let y = fl!(b, cb).cast::<i32>();
        let e = zip2(&a, &b, |p, q| p.wrapping_mul(3).wrapping_sub(q as i32));
        let z = &x * 3 - &y;
        let all: Vec<usize> = (0..e.ndim()).collect();
        let ax = || if keep { Axes::from(..).keepdims() } else { Axes::from(..) };
        check(&run!(z.sum(ax()).unwrap()), &reduce(&e, &all, keep, |v| v.iter().fold(0i64, |s, &p| s.wrapping_add(p as i64))), "sum(..)")?;
        check(&run!(z.prod(ax()).unwrap()), &reduce(&e, &all, keep, |v| v.iter().fold(1i64, |s, &p| s.wrapping_mul(p as i64))), "prod(..)")?;
        check(&run!(z.any(ax()).unwrap()), &reduce(&e, &all, keep, |v| v.iter().any(|&p| p != 0)), "any(..)")?;
        if !e.is_empty() {
            check(&run!(z.max(ax()).unwrap()), &reduce(&e, &all, keep, |v| *v.iter().max().unwrap()), "max(..)")?;
            check(&run!(z.nanmin(ax()).unwrap()), &reduce(&e, &all, keep, |v| *v.iter().min().unwrap()), "nanmin(..)")?;
        }
    }
}
