//! Creation functions against ndarray oracles: from_ndarray (round trip, all
//! element types, non-standard memory layouts), zeros/ones/full, arange
//! (NumPy length rule), linspace, eye, and random::uniform/normal (range,
//! chunking-invariance, seeds, plausible statistics) — with the metadata each
//! reports before anything is computed.

#[macro_use]
mod common;

use common::*;
use floe::ChunkSpec;
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;

const CASES: u32 = 40;

// ---------------------------------------------------------------------------
// from_ndarray, zeros, ones, full — every element type
// ---------------------------------------------------------------------------

macro_rules! creation {
    ($m:ident, $t:ty, $elem:expr, $zero:expr, $one:expr) => {
        mod $m {
            use super::*;
            type T = $t;
            proptest! {
                #![proptest_config(config(CASES))]

                #[test]
                fn from_ndarray_round_trip((a, c) in chunked($elem)) {
                    let x = fl!(a, c);
                    meta_ok!(x, a.shape(), T, c.expected(a.shape()))?;
                    let got = run!(x);
                    check(&got, &a, "from_ndarray(a).compute()")?;
                    // computing twice gives the same
                    check(&run!(x), &a, "second compute")?;
                }

                /// Views with non-standard strides: transposed, reversed, stepped.
                #[test]
                fn from_ndarray_views((a, _c) in chunked_in(shape_in(2, 3), $elem), u in 1usize..=4) {
                    let t = a.t();
                    let x = floe::from_ndarray(&t, u).unwrap();
                    check(&run!(x), &t.to_owned(), "from_ndarray(a.t())")?;
                    let mut v = a.view();
                    v.invert_axis(ndarray::Axis(0));
                    v.slice_axis_inplace(ndarray::Axis(1), ndarray::Slice::new(0, None, 2));
                    let x = floe::from_ndarray(&v, vec![u; v.ndim()]).unwrap();
                    check(&run!(x), &v.to_owned(), "from_ndarray(reversed, stepped view)")?;
                }

                #[test]
                fn zeros_ones_full(s in shape(), v in $elem) {
                    let c = Chunking::Uniform(3);
                    let z = floe::zeros::<T>(&s, c.spec()).unwrap();
                    meta_ok!(z, s, T, c.expected(&s))?;
                    check(&run!(z), &ArrayD::from_elem(IxDyn(&s), $zero), "zeros")?;
                    let o = floe::ones::<T>(s.as_slice(), vec![2; s.len()]).unwrap();
                    meta_ok!(o, s, T, Chunking::PerAxis(vec![2; s.len()]).expected(&s))?;
                    check(&run!(o), &ArrayD::from_elem(IxDyn(&s), $one), "ones")?;
                    let f = floe::full(s.clone(), v, 1).unwrap();
                    meta_ok!(f, s, T, Chunking::Uniform(1).expected(&s))?;
                    check(&run!(f), &ArrayD::from_elem(IxDyn(&s), v), "full")?;
                }

                /// zeros/full with random (irregular, zero-block) chunkings.
                #[test]
                fn full_chunked((s, c) in shape().prop_flat_map(|s| (Just(s.clone()), chunking(s))), v in $elem) {
                    let f = floe::full(&s, v, c.spec()).unwrap();
                    meta_ok!(f, s, T, c.expected(&s))?;
                    check(&run!(f), &ArrayD::from_elem(IxDyn(&s), v), "full")?;
                }

                #[test]
                fn eye(n in 0usize..=12, c in 1usize..=5) {
                    let e = floe::eye::<T>(n, c).unwrap();
                    meta_ok!(e, [n, n], T, Chunking::Uniform(c).expected(&[n, n]))?;
                    let exp = ArrayD::from_shape_fn(IxDyn(&[n, n]), |i| if i[0] == i[1] { $one } else { $zero });
                    check(&run!(e), &exp, "eye")?;
                }
            }
        }
    };
}

creation!(c_bool, bool, bools(), false, true);
creation!(c_i8, i8, ints::i8::full(), 0, 1);
creation!(c_i16, i16, ints::i16::full(), 0, 1);
creation!(c_i32, i32, ints::i32::full(), 0, 1);
creation!(c_i64, i64, ints::i64::full(), 0, 1);
creation!(c_u8, u8, ints::u8::full(), 0, 1);
creation!(c_u16, u16, ints::u16::full(), 0, 1);
creation!(c_u32, u32, ints::u32::full(), 0, 1);
creation!(c_u64, u64, ints::u64::full(), 0, 1);
creation!(c_f32, f32, any_f32(true), 0.0, 1.0);
creation!(c_f64, f64, any_f64(true), 0.0, 1.0);

#[test]
fn from_ndarray_static_dims_and_auto_chunks() {
    let a2 = ndarray::Array2::from_shape_fn((5, 7), |(i, j)| (i * 7 + j) as f64);
    let x = floe::from_ndarray(&a2, [2, 3]).unwrap();
    assert_eq!(x.shape(), &[5, 7]);
    assert_eq!(x.chunks().to_vec(), vec![vec![2, 2, 1], vec![3, 3, 1]]);
    assert_eq!(x.numblocks(), vec![3, 3]);
    check(&run!(x), &a2.clone().into_dyn(), "Array2 round trip").unwrap();

    let x = floe::from_ndarray(&a2, &[5usize, 10][..]).unwrap();
    assert_eq!(
        x.chunks().to_vec(),
        vec![vec![5], vec![7]],
        "chunk sizes clamp to the axis length"
    );

    let x = floe::from_ndarray(&a2, ChunkSpec::Auto).unwrap();
    let ch = x.chunks().to_vec();
    assert_eq!(
        ch.iter()
            .map(|c| c.iter().sum::<usize>())
            .collect::<Vec<_>>(),
        vec![5, 7]
    );
    check(&run!(x), &a2.clone().into_dyn(), "Auto chunks round trip").unwrap();

    let a0 = ndarray::arr0(4.5f32);
    let x = floe::from_ndarray(&a0, 1).unwrap();
    assert_eq!(x.ndim(), 0);
    assert_eq!(x.size(), 1);
    assert_eq!(x.numblocks(), Vec::<usize>::new());
    assert_eq!(run!(x)[[]], 4.5);

    let a1 = ndarray::Array1::<u16>::zeros(0);
    let x = floe::from_ndarray(&a1, 4).unwrap();
    assert_eq!(
        x.chunks().to_vec(),
        vec![vec![0]],
        "an axis of length 0 has chunks [0]"
    );
    assert_eq!(run!(x).shape(), &[0]);

    let z = floe::zeros::<f64>([4, 6], vec![vec![1, 0, 3], vec![6]]).unwrap();
    assert_eq!(
        z.chunks().to_vec(),
        vec![vec![1, 0, 3], vec![6]],
        "explicit chunks keep zero-size blocks"
    );
    assert_eq!(z.numblocks(), vec![3, 1]);
    let z = floe::zeros::<f64>([1000, 3000], ChunkSpec::Auto).unwrap();
    let ch = z.chunks().to_vec();
    assert_eq!(
        ch.iter()
            .map(|c| c.iter().sum::<usize>())
            .collect::<Vec<_>>(),
        vec![1000, 3000]
    );
    assert!(ch.iter().all(|c| c.iter().all(|&b| b > 0)));
}

// ---------------------------------------------------------------------------
// arange, linspace
// ---------------------------------------------------------------------------

/// NumPy's length of arange over integers: ceil((stop - start) / step), at least 0.
fn int_arange_len(start: i128, stop: i128, step: i128) -> usize {
    let (d, s) = if step > 0 {
        (stop - start, step)
    } else {
        (start - stop, -step)
    };
    (d + s - 1).div_euclid(s).max(0) as usize
}

macro_rules! int_arange {
    ($m:ident, $t:ty, $start:expr, $step:expr) => {
        mod $m {
            use super::*;
            type T = $t;
            proptest! {
                #![proptest_config(config(CASES))]
                #[test]
                fn arange(start in $start, stop in $start, step in $step, c in 1usize..=9) {
                    let n = int_arange_len(start as i128, stop as i128, step as i128);
                    let exp = ArrayD::from_shape_fn(IxDyn(&[n]), |i| (start as i128 + i[0] as i128 * step as i128) as T);
                    let x = floe::arange(start, stop, step, c).unwrap();
                    meta_ok!(x, [n], T, vec![regular(n, c)])?;
                    check(&run!(x), &exp, &format!("arange({start}, {stop}, {step})"))?;
                    // explicit irregular chunks that sum to the length
                    let ch = if n == 0 { vec![vec![0]] } else { vec![vec![n / 2, 0, n - n / 2]] };
                    let x = floe::arange(start, stop, step, ch.clone()).unwrap();
                    prop_assert_eq!(x.chunks().to_vec(), ch);
                    check(&run!(x), &exp, "arange, irregular chunks")?;
                }
            }
        }
    };
}

int_arange!(ar_i64, i64, -300i64..300, prop_oneof![1i64..=7, -7i64..=-1]);
int_arange!(ar_i32, i32, -300i32..300, prop_oneof![1i32..=7, -7i32..=-1]);
int_arange!(ar_i8, i8, -100i8..100, prop_oneof![1i8..=7, -7i8..=-1]);
int_arange!(ar_u8, u8, 0u8..=255, 1u8..=9);
int_arange!(ar_u64, u64, 0u64..500, 1u64..=9);

fn quarter() -> BoxedStrategy<f64> {
    (-200i32..=200).prop_map(|k| k as f64 / 4.0).boxed()
}
fn float_step() -> BoxedStrategy<f64> {
    prop_oneof![
        prop_oneof![
            Just(0.25f64),
            Just(0.5),
            Just(0.75),
            Just(1.0),
            Just(3.0),
            Just(-0.25),
            Just(-0.5),
            Just(-1.0),
            Just(-3.0)
        ],
        0.1f64..5.0,
        -5.0f64..-0.1,
    ]
    .boxed()
}

proptest! {
    #![proptest_config(config(CASES))]

    #[test]
    fn arange_f64(start in quarter(), stop in quarter(), step in float_step(), c in 1usize..=40) {
        let n = ((stop - start) / step).ceil().max(0.0) as usize;
        let exp = ArrayD::from_shape_fn(IxDyn(&[n]), |i| start + i[0] as f64 * step);
        let x = floe::arange(start, stop, step, c).unwrap();
        meta_ok!(x, [n], f64, vec![regular(n, c)])?;
        check_rtol(&run!(x), &exp, 1e-12, 1e-12 * (start.abs() + stop.abs() + step.abs()), &format!("arange({start}, {stop}, {step})"))?;
    }

    #[test]
    fn arange_f32(start in quarter(), stop in quarter(), step in prop_oneof![Just(0.25f64), Just(0.5), Just(0.75), Just(1.0), Just(3.0), Just(-0.25), Just(-0.5), Just(-3.0)], c in 1usize..=40) {
        let (start, stop, step) = (start as f32, stop as f32, step as f32);
        let n = ((stop as f64 - start as f64) / step as f64).ceil().max(0.0) as usize;
        let exp = ArrayD::from_shape_fn(IxDyn(&[n]), |i| (start as f64 + i[0] as f64 * step as f64) as f32);
        let x = floe::arange(start, stop, step, c).unwrap();
        meta_ok!(x, [n], f32, vec![regular(n, c)])?;
        check_rtol(&run!(x), &exp, 1e-6, 1e-6 * (start.abs() + stop.abs()) as f64, &format!("arange({start}, {stop}, {step})"))?;
    }

    #[test]
    fn linspace(start in prop_oneof![quarter(), -1e3f64..1e3], stop in prop_oneof![quarter(), -1e3f64..1e3], num in prop_oneof![0usize..=3, 0usize..=300], c in 1usize..=40) {
        let exp: Vec<f64> = match num {
            0 => vec![],
            1 => vec![start],
            _ => {
                let step = (stop - start) / (num - 1) as f64;
                (0..num).map(|i| start + i as f64 * step).collect()
            }
        };
        let x = floe::linspace(start, stop, num, c).unwrap();
        meta_ok!(x, [num], f64, vec![regular(num, c)])?;
        let got = run!(x);
        let exp = ArrayD::from_shape_vec(IxDyn(&[num]), exp).unwrap();
        check_rtol(&got, &exp, 1e-12, 1e-12 * (start.abs() + stop.abs()), &format!("linspace({start}, {stop}, {num})"))?;
        if num >= 1 {
            prop_assert_eq!(got[[0]], start, "linspace starts at start");
        }
        if num >= 2 {
            prop_assert_eq!(got[[num - 1]], stop, "linspace ends exactly at stop (endpoint included)");
        }
    }
}

#[test]
fn arange_and_linspace_examples() {
    let v = |x: floe::Array<f64>| run!(x).iter().copied().collect::<Vec<f64>>();
    assert_eq!(
        v(floe::arange(0.0, 1.0, 0.25, 2).unwrap()),
        vec![0.0, 0.25, 0.5, 0.75]
    );
    assert_eq!(
        v(floe::arange(0.0, 1.1, 0.25, 2).unwrap()).len(),
        5,
        "ceil((1.1 - 0) / 0.25) = 5"
    );
    assert_eq!(
        v(floe::arange(1.0, 0.0, 0.25, 2).unwrap()),
        Vec::<f64>::new(),
        "empty when stop < start with step > 0"
    );
    assert_eq!(
        v(floe::arange(3.0, 0.0, -1.0, 2).unwrap()),
        vec![3.0, 2.0, 1.0]
    );
    let i = floe::arange(10i64, 0, -3, 2).unwrap();
    assert_eq!(
        run!(i).iter().copied().collect::<Vec<i64>>(),
        vec![10, 7, 4, 1]
    );
    assert!(floe::arange(0i32, 10, 0, 2).is_err(), "step 0 is Err");
    assert!(
        floe::arange(0.0f64, 10.0, 0.0, 2).is_err(),
        "step 0.0 is Err"
    );
    assert_eq!(
        v(floe::linspace(2.0, 3.0, 5, 2).unwrap()),
        vec![2.0, 2.25, 2.5, 2.75, 3.0]
    );
    assert_eq!(
        v(floe::linspace(2.0, 3.0, 1, 2).unwrap()),
        vec![2.0],
        "num = 1 gives [start]"
    );
    assert_eq!(
        v(floe::linspace(2.0, 3.0, 0, 2).unwrap()),
        Vec::<f64>::new(),
        "num = 0 gives []"
    );
    assert_eq!(
        v(floe::linspace(0.0, 1.0, 3, 2).unwrap()),
        vec![0.0, 0.5, 1.0]
    );
    let l = floe::linspace(0.0, 1.0, 11, 4).unwrap();
    assert_eq!(l.chunks().to_vec(), vec![vec![4, 4, 3]]);
}

// ---------------------------------------------------------------------------
// random
// ---------------------------------------------------------------------------

fn two_chunkings() -> BoxedStrategy<(Vec<usize>, Chunking, Chunking)> {
    shape_in(1, 3)
        .prop_filter("non-empty", |s| s.iter().product::<usize>() > 0)
        .prop_flat_map(|s| (Just(s.clone()), chunking(s.clone()), chunking(s)))
        .boxed()
}

proptest! {
    #![proptest_config(config(32))]

    /// Same seed, any chunking: identical values, in [low, high).
    #[test]
    fn uniform_chunking_invariant((s, c1, c2) in two_chunkings(), seed in any::<u64>(), low in -10.0f64..10.0, width in 0.1f64..20.0) {
        let high = low + width;
        let x = floe::random::uniform(&s, low, high, c1.spec(), seed).unwrap();
        meta_ok!(x, s, f64, c1.expected(&s))?;
        let a = run!(x);
        let b = run!(floe::random::uniform(&s, low, high, c2.spec(), seed).unwrap());
        prop_assert_eq!(a.shape(), s.as_slice());
        prop_assert!(a.iter().all(|&v| v >= low && v < high), "values outside [{}, {}): {:?}", low, high, a);
        prop_assert!(a.iter().zip(b.iter()).all(|(p, q)| p.to_bits() == q.to_bits()),
            "same seed, different chunks ({:?} vs {:?}) gave different values:\n{:?}\n{:?}", c1, c2, a, b);
        // the same array computed again
        prop_assert_eq!(&run!(x), &a);
        // a different seed differs
        let d = run!(floe::random::uniform(&s, low, high, c1.spec(), seed.wrapping_add(1)).unwrap());
        prop_assert!(a.iter().zip(d.iter()).any(|(p, q)| p != q), "seeds {} and {} gave the same values", seed, seed.wrapping_add(1));
    }

    #[test]
    fn normal_chunking_invariant((s, c1, c2) in two_chunkings(), seed in any::<u64>(), mean in -10.0f64..10.0, std in 0.1f64..5.0) {
        let x = floe::random::normal(&s, mean, std, c1.spec(), seed).unwrap();
        meta_ok!(x, s, f64, c1.expected(&s))?;
        let a = run!(x);
        let b = run!(floe::random::normal(&s, mean, std, c2.spec(), seed).unwrap());
        prop_assert!(a.iter().all(|v| v.is_finite()), "non-finite normal values: {:?}", a);
        prop_assert!(a.iter().zip(b.iter()).all(|(p, q)| p.to_bits() == q.to_bits()),
            "same seed, different chunks ({:?} vs {:?}) gave different values:\n{:?}\n{:?}", c1, c2, a, b);
        let d = run!(floe::random::normal(&s, mean, std, c1.spec(), seed ^ 0x5555).unwrap());
        prop_assert!(a.iter().zip(d.iter()).any(|(p, q)| p != q), "different seeds gave the same values");
    }
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    (m, var.sqrt())
}

#[test]
fn uniform_statistics() {
    let n = 200_000usize;
    let (low, high) = (-2.0, 3.0);
    let x = floe::random::uniform([n], low, high, 30_000, 42).unwrap();
    let a = run!(x);
    let v: Vec<f64> = a.iter().copied().collect();
    let (m, s) = mean_std(&v);
    let sd = (high - low) / 12f64.sqrt();
    assert!(
        (m - 0.5).abs() < 6.0 * sd / (n as f64).sqrt(),
        "uniform mean {m}, expected 0.5"
    );
    assert!((s - sd).abs() < 0.01 * sd, "uniform std {s}, expected {sd}");
    // ten equal bins hold about 10% each
    let mut bins = [0usize; 10];
    for &e in &v {
        bins[(((e - low) / (high - low)) * 10.0) as usize] += 1;
    }
    for b in bins {
        let f = b as f64 / n as f64;
        assert!((f - 0.1).abs() < 0.005, "uniform bins {bins:?}");
    }
    // no repeats between chunks (a per-chunk reseed would repeat blocks)
    assert_ne!(&v[0..100], &v[30_000..30_100]);
    // floe's own mean agrees
    let fm = run!(x.mean(..).unwrap())[[]];
    assert!((fm - m).abs() < 1e-9, "floe mean {fm} vs {m}");
    // 2-d: rows differ
    let y = run!(floe::random::uniform([100, 100], 0.0, 1.0, [10, 100], 7).unwrap());
    for i in 1..100 {
        assert_ne!(
            y.index_axis(ndarray::Axis(0), i),
            y.index_axis(ndarray::Axis(0), i - 1)
        );
    }
    let y2 = run!(
        floe::random::uniform([100, 100], 0.0, 1.0, vec![vec![100], vec![33, 0, 67]], 7).unwrap()
    );
    assert_eq!(y, y2, "uniform depends on the chunking");
}

#[test]
fn normal_statistics() {
    let n = 200_000usize;
    let (mu, sigma) = (3.0, 2.0);
    let x = floe::random::normal([400, n / 400], mu, sigma, [64, 100], 1234).unwrap();
    let v: Vec<f64> = run!(x).iter().copied().collect();
    let (m, s) = mean_std(&v);
    assert!(
        (m - mu).abs() < 6.0 * sigma / (n as f64).sqrt(),
        "normal mean {m}, expected {mu}"
    );
    assert!(
        (s - sigma).abs() < 0.02 * sigma,
        "normal std {s}, expected {sigma}"
    );
    let within = v.iter().filter(|&&e| (e - mu).abs() < sigma).count() as f64 / n as f64;
    assert!(
        (within - 0.6827).abs() < 0.01,
        "fraction within one sd: {within}"
    );
    let within2 = v.iter().filter(|&&e| (e - mu).abs() < 2.0 * sigma).count() as f64 / n as f64;
    assert!(
        (within2 - 0.9545).abs() < 0.006,
        "fraction within two sd: {within2}"
    );
    let fs = run!(x.std(.., 0).unwrap())[[]];
    assert!((fs - s).abs() < 1e-9 * s, "floe std {fs} vs {s}");
}

proptest! {
    #![proptest_config(config(16))]

    /// Random sources inside expressions and reductions: the values are those
    /// of the computed source, whatever the chunking.
    #[test]
    fn random_in_expressions((s, c1, c2) in two_chunkings(), seed in any::<u64>()) {
        let u = floe::random::uniform(&s, -1.0, 1.0, c1.spec(), seed).unwrap();
        let n = floe::random::normal(&s, 0.0, 1.0, c2.spec(), seed).unwrap();
        let (ua, na) = (run!(u), run!(n));
        let e = (&u * 2.0 + &n).abs();
        let exp = zip2(&ua, &na, |p, q| (p * 2.0 + q).abs());
        check(&run!(e), &exp, "|2u + n|")?;
        let total: f64 = exp.iter().sum();
        let got = run!(e.sum(..).unwrap())[[]];
        prop_assert!((got - total).abs() <= 1e-10 * total.abs().max(1.0), "sum(..) {} vs {}", got, total);
        let s0 = e.sum(0).unwrap();
        let exp0 = reduce(&exp, &[0], false, |v| v.iter().sum::<f64>());
        check_rtol(&run!(s0), &exp0, 1e-10, 1e-10, "sum(0)")?;
        // the same random array built twice with other chunks, in one expression
        let u2 = floe::random::uniform(&s, -1.0, 1.0, c2.spec(), seed).unwrap();
        check(&run!(&u - &u2), &ArrayD::from_elem(IxDyn(&s), 0.0), "u - u (other chunks)")?;
    }
}
