//! Chunk-level operations and metadata against ndarray oracles: rechunk (to
//! any chunking, values unchanged, chunks() as requested), concatenate and
//! stack along random axes (inputs chunked differently), compute_many and
//! explicit executors (results equal to computing each alone), and the
//! metadata accessors (shape, ndim, size, dtype, nbytes, numblocks, chunks).

#[macro_use]
mod common;

use common::*;
use floe::{Array, Executor};
use ndarray::{ArrayD, Axis, IxDyn};
use proptest::prelude::*;

const CASES: u32 = 40;

/// chunks() of any array must tile its shape.
macro_rules! chunks_tile {
    ($x:expr) => {{
        let x = &$x;
        let ch = x.chunks().to_vec();
        let sums: Vec<usize> = ch.iter().map(|c| c.iter().sum()).collect();
        (|| -> Result<(), proptest::test_runner::TestCaseError> {
            prop_assert_eq!(ch.len(), x.ndim(), "chunks() has one list per axis");
            prop_assert_eq!(sums.as_slice(), x.shape(), "chunks() must sum to the shape");
            prop_assert_eq!(
                x.numblocks(),
                ch.iter().map(|c| c.len()).collect::<Vec<_>>(),
                "numblocks()"
            );
            Ok(())
        })()
    }};
}

/// An array and two chunkings of it.
fn rechunk_case<T: Clone + std::fmt::Debug + 'static>(
    elem: BoxedStrategy<T>,
) -> BoxedStrategy<(ArrayD<T>, Chunking, Chunking, Chunking)> {
    shape()
        .prop_flat_map(move |s| {
            (
                array_of(s.clone(), elem.clone()),
                chunking(s.clone()),
                chunking(s.clone()),
                chunking(s),
            )
        })
        .boxed()
}

/// `k` arrays that agree on every axis but `axis`, and `axis`.
fn concat_case<T: Clone + std::fmt::Debug + 'static>(
    elem: BoxedStrategy<T>,
) -> BoxedStrategy<(Vec<Chunked<T>>, usize)> {
    (shape_in(1, 4), 1usize..=4)
        .prop_flat_map(|(s, k)| {
            let nd = s.len();
            (
                Just(s),
                0..nd,
                prop::collection::vec(prop_oneof![1 => Just(0usize), 4 => 1usize..=5], k),
            )
        })
        .prop_flat_map(move |(s, axis, lens)| {
            let parts: Vec<_> = lens
                .into_iter()
                .map(|l| {
                    let mut si = s.clone();
                    si[axis] = l;
                    (array_of(si.clone(), elem.clone()), chunking(si))
                })
                .collect();
            (parts, Just(axis))
        })
        .boxed()
}

/// `k` arrays of the same shape, and an axis in 0..=ndim.
fn stack_case<T: Clone + std::fmt::Debug + 'static>(
    elem: BoxedStrategy<T>,
) -> BoxedStrategy<(Vec<Chunked<T>>, usize)> {
    (shape_in(0, 3), 1usize..=4)
        .prop_flat_map(move |(s, k)| {
            let nd = s.len();
            let parts: Vec<_> = (0..k)
                .map(|_| (array_of(s.clone(), elem.clone()), chunking(s.clone())))
                .collect();
            (parts, 0..=nd)
        })
        .boxed()
}

macro_rules! chunk_level {
    ($m:ident, $t:ty, $elem:expr) => {
        mod $m {
            use super::*;
            type T = $t;
            proptest! {
                #![proptest_config(config(CASES))]

                /// metadata of from_ndarray and of rechunk; values unchanged.
                #[test]
                fn rechunk((a, c1, c2, c3) in rechunk_case($elem)) {
                    let x = fl!(a, c1);
                    meta_ok!(x, a.shape(), T, c1.expected(a.shape()))?;
                    let y = x.rechunk(c2.spec()).unwrap();
                    meta_ok!(y, a.shape(), T, c2.expected(a.shape()))?;
                    check(&run!(y), &a, "rechunk")?;
                    let z = y.rechunk(c3.spec()).unwrap();
                    meta_ok!(z, a.shape(), T, c3.expected(a.shape()))?;
                    check(&run!(z), &a, "rechunk of a rechunk")?;
                    // rechunk back to where it started
                    let w = z.rechunk(c1.spec()).unwrap();
                    meta_ok!(w, a.shape(), T, c1.expected(a.shape()))?;
                    check(&run!(w), &a, "rechunk back")?;
                    // rechunk to the chunks of another array
                    let v = x.rechunk(z.chunks()).unwrap();
                    prop_assert_eq!(v.chunks().to_vec(), c3.expected(a.shape()));
                    check(&run!(v), &a, "rechunk(other.chunks())")?;
                }

                #[test]
                fn concatenate((parts, axis) in concat_case($elem)) {
                    let xs: Vec<Array<T>> = parts.iter().map(|(a, c)| fl!(a, c)).collect();
                    let refs: Vec<&Array<T>> = xs.iter().collect();
                    let views: Vec<_> = parts.iter().map(|(a, _)| a.view()).collect();
                    let exp = ndarray::concatenate(Axis(axis), &views).unwrap();
                    let y = floe::concatenate(axis, &refs).unwrap();
                    check_shape(y.shape(), exp.shape(), "concatenate shape")?;
                    prop_assert_eq!(y.dtype(), T::DT);
                    chunks_tile!(y)?;
                    check(&run!(y), &exp, &format!("concatenate along {axis}"))?;
                }

                #[test]
                fn stack((parts, axis) in stack_case($elem)) {
                    let xs: Vec<Array<T>> = parts.iter().map(|(a, c)| fl!(a, c)).collect();
                    let refs: Vec<&Array<T>> = xs.iter().collect();
                    let views: Vec<_> = parts.iter().map(|(a, _)| a.view()).collect();
                    let exp = ndarray::stack(Axis(axis), &views).unwrap();
                    let y = floe::stack(axis, &refs).unwrap();
                    check_shape(y.shape(), exp.shape(), "stack shape")?;
                    prop_assert_eq!(y.dtype(), T::DT);
                    chunks_tile!(y)?;
                    check(&run!(y), &exp, &format!("stack along {axis}"))?;
                }
            }
        }
    };
}

chunk_level!(cl_bool, bool, bools());
chunk_level!(cl_i8, i8, ints::i8::full());
chunk_level!(cl_i32, i32, ints::i32::full());
chunk_level!(cl_i64, i64, ints::i64::full());
chunk_level!(cl_u16, u16, ints::u16::full());
chunk_level!(cl_u64, u64, ints::u64::full());
chunk_level!(cl_f32, f32, any_f32(true));
chunk_level!(cl_f64, f64, any_f64(true));

proptest! {
    #![proptest_config(config(CASES))]

    /// Rechunking an expression, and operating on rechunked arrays.
    #[test]
    fn rechunk_expressions(((a, ca), (b, cb)) in pair(grid_f64(), grid_f64()), u in 1usize..=6) {
        let x = fl!(a, ca);
        let y = fl!(b, cb);
        let z = (&x * 2.0 + &y).rechunk(u).unwrap();
        let exp = zip2(&a, &b, |p, q| p * 2.0 + q);
        meta_ok!(z, exp.shape(), f64, Chunking::Uniform(u).expected(exp.shape()))?;
        check(&run!(z), &exp, "(2x + y).rechunk(u)")?;
        let w = &x.rechunk(u).unwrap() - &y.rechunk(Chunking::Uniform(u + 1).spec()).unwrap();
        chunks_tile!(w)?;
        check(&run!(w), &zip2(&a, &b, |p, q| p - q), "x.rechunk - y.rechunk")?;
    }

    /// Concatenating and stacking expressions, then reducing.
    #[test]
    fn concatenate_expressions((parts, axis) in concat_case(grid_f64())) {
        let xs: Vec<Array<f64>> = parts.iter().map(|(a, c)| &fl!(a, c) * 2.0).collect();
        let refs: Vec<&Array<f64>> = xs.iter().collect();
        let views: Vec<_> = parts.iter().map(|(a, _)| a.view()).collect();
        let exp = ndarray::concatenate(Axis(axis), &views).unwrap().map(|v| v * 2.0);
        let y = floe::concatenate(axis, &refs).unwrap();
        check(&run!(y), &exp, "concatenate of expressions")?;
        let s = y.sum(axis).unwrap();
        let exps = reduce(&exp, &[axis], false, |v| v.iter().sum::<f64>());
        check_rtol(&run!(s), &exps, 1e-12, 1e-12, "sum of concatenate")?;
    }

    /// compute_many equals computing each alone; explicit executors equal compute().
    #[test]
    fn compute_many_and_executors(((a, ca), (b, cb)) in pair(grid_f64(), grid_f64())) {
        let x = fl!(a, ca);
        let y = fl!(b, cb);
        let z = (&x - &y).abs();
        let p = &z * 2.0;
        let q = z.sum(..).unwrap();
        let r = (&z + &x).sin();
        let outs = Executor::cpu().compute_many(&[&z, &p, &q, &r]).unwrap();
        prop_assert_eq!(outs.len(), 4);
        let alone = [run!(z), run!(p), run!(q), run!(r)];
        for (i, (m, s)) in outs.iter().zip(alone.iter()).enumerate() {
            check(m, s, &format!("compute_many output {i} vs compute()"))?;
        }
        check(&outs[0], &zip2(&a, &b, |p, q| (p - q).abs()), "compute_many output 0 vs oracle")?;
        check(&outs[3], &zip2(&a, &b, |p, q| ((p - q).abs() + p).sin()), "compute_many output 3 vs oracle")?;
        let exp_q: f64 = zip2(&a, &b, |p, q| (p - q).abs()).iter().sum();
        check(&outs[2], &ArrayD::from_elem(IxDyn(&[]), exp_q), "compute_many sum vs oracle")?;

        let one = Executor::cpu().threads(1).compute(&r).unwrap();
        check(&one, &alone[3], "threads(1)")?;
        let two = Executor::cpu().threads(2).memory_limit(1 << 30).compute(&r).unwrap();
        check(&two, &alone[3], "threads(2).memory_limit(1 GiB)")?;
        let same = Executor::cpu().compute_many(&[&x, &x]).unwrap();
        check(&same[0], &a, "compute_many(&[&x, &x])[0]")?;
        check(&same[1], &a, "compute_many(&[&x, &x])[1]")?;
    }
}

#[test]
fn compute_many_empty_and_single() {
    let none: [&Array<f64>; 0] = [];
    let outs = Executor::cpu().compute_many(&none).unwrap();
    assert!(outs.is_empty());
    let a = ndarray::Array2::from_shape_fn((4, 5), |(i, j)| (i * 5 + j) as i32);
    let x = floe::from_ndarray(&a, [3, 2]).unwrap();
    let outs = Executor::cpu().compute_many(&[&x]).unwrap();
    assert_eq!(outs[0], a.into_dyn());
}

#[test]
fn metadata_examples() {
    let x = floe::zeros::<f32>([10, 7, 3], [4, 7, 2]).unwrap();
    meta_ok!(x, [10, 7, 3], f32, vec![vec![4, 4, 2], vec![7], vec![2, 1]]).unwrap();
    assert_eq!(x.nbytes(), 10 * 7 * 3 * 4);
    let y = x.rechunk(vec![vec![5, 5], vec![3, 0, 4], vec![3]]).unwrap();
    meta_ok!(y, [10, 7, 3], f32, vec![vec![5, 5], vec![3, 0, 4], vec![3]]).unwrap();
    let z = floe::zeros::<u16>([0, 5], 2).unwrap();
    meta_ok!(z, [0, 5], u16, vec![vec![0], vec![2, 2, 1]]).unwrap();
    let b = floe::ones::<bool>([3], 10).unwrap();
    meta_ok!(b, [3], bool, vec![vec![3]]).unwrap();
    let c = floe::concatenate(0, &[&y, &y]).unwrap();
    assert_eq!(c.shape(), &[20, 7, 3]);
    let s = floe::stack(1, &[&x, &x, &x]).unwrap();
    assert_eq!(s.shape(), &[10, 3, 7, 3]);
    assert_eq!(s.dtype(), floe::DType::F32);
    let m = x.sum(..).unwrap();
    meta_ok!(m, [0usize; 0], f32, vec![]).unwrap();
    let k = x.mean(floe::Axes::from([0, 2]).keepdims()).unwrap();
    assert_eq!(k.shape(), &[1, 7, 1]);
    assert_eq!(
        k.chunks()
            .to_vec()
            .iter()
            .map(|c| c.iter().sum::<usize>())
            .collect::<Vec<_>>(),
        vec![1, 7, 1]
    );
    let i = floe::zeros::<i16>([6, 4], 3).unwrap().sum(0).unwrap();
    assert_eq!(i.dtype(), floe::DType::I64);
    let u = floe::zeros::<u8>([6, 4], 3).unwrap().cumsum(1).unwrap();
    assert_eq!(u.dtype(), floe::DType::U64);
    let f = floe::zeros::<u8>([6, 4], 3).unwrap().mean(1).unwrap();
    assert_eq!(f.dtype(), floe::DType::F64);
}

/// A memory limit smaller than the data changes nothing in the results.
#[test]
fn memory_limit_same_results() {
    let x = floe::random::uniform([400, 500], 0.0, 1.0, [50, 100], 3).unwrap();
    let anomaly = &x - &x.mean(floe::Axes::from(0).keepdims()).unwrap();
    let total = (&anomaly * &anomaly).sum(0).unwrap();
    let free = Executor::cpu()
        .threads(2)
        .compute_many(&[&anomaly])
        .unwrap();
    let free_total = total.compute().unwrap();
    // 1.6 MB of data, 40 kB blocks, a 600 kB limit; the 1.6 MB result the
    // first compute hands back counts too (and alone would be refused)
    let ex = Executor::cpu().threads(2).memory_limit(600_000);
    assert!(matches!(ex.compute(&anomaly), Err(floe::Error::MemoryLimit { needed: 1_600_000, .. })));
    let lim = Executor::cpu().threads(2).memory_limit(1_600_000 + 600_000).compute(&anomaly).unwrap();
    let lim_total = ex.compute(&total).unwrap();
    check_rtol(
        &lim,
        &free[0],
        1e-12,
        1e-12,
        "x - x.mean(0) under a memory limit",
    )
    .unwrap();
    check_rtol(
        &lim_total,
        &free_total,
        1e-10,
        1e-10,
        "sum of squares under a memory limit",
    )
    .unwrap();
    let xa = x.compute().unwrap();
    let mean = reduce(&xa, &[0], true, |v| v.iter().sum::<f64>() / v.len() as f64);
    check_rtol(
        &lim,
        &zip2(&xa, &mean, |p, q| p - q),
        1e-12,
        1e-12,
        "anomaly vs oracle",
    )
    .unwrap();
}
