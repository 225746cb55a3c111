//! Slicing against ndarray: random shapes and chunkings (irregular, zero-size
//! blocks), random `s![]` arguments (ranges, negative bounds, steps of both
//! signs, single indices, new axes), of plain and of elementwise arrays
//! (which the optimizer rewrites into slices of the inputs); out-of-range
//! arguments are errors. Also flip and squeeze, and the plan-level claims:
//! a slice computes only the blocks it needs.

#[macro_use]
mod common;

use common::*;
use floe::Executor;
use ndarray::{ArrayD, SliceInfoElem};
use proptest::prelude::*;

/// A valid slice element for an axis of length n (ndarray semantics).
fn elem(n: usize) -> BoxedStrategy<SliceInfoElem> {
    let n = n as isize;
    let bound = move || prop_oneof![(0..=n).prop_map(|b| b), (-n..=0).prop_map(|b| b)];
    let step = prop_oneof![1isize..=3, -3isize..=-1];
    let slice = (bound(), prop::option::of(bound()), step)
        .prop_map(|(start, end, step)| SliceInfoElem::Slice { start, end, step });
    if n == 0 {
        slice.boxed()
    } else {
        prop_oneof![3 => slice, 1 => (-n..n).prop_map(SliceInfoElem::Index)].boxed()
    }
}

/// Slice elements for every axis of `shape`, with maybe a new axis.
fn elems(shape: Vec<usize>) -> BoxedStrategy<Vec<SliceInfoElem>> {
    let per: Vec<BoxedStrategy<SliceInfoElem>> = shape.iter().map(|&n| elem(n)).collect();
    (per, any::<bool>(), 0..=shape.len())
        .prop_map(|(mut v, newaxis, at)| {
            if newaxis {
                v.insert(at, SliceInfoElem::NewAxis);
            }
            v
        })
        .boxed()
}

fn with_slice() -> BoxedStrategy<((ArrayD<f64>, Chunking), Vec<SliceInfoElem>)> {
    shape_in(1, 3)
        .prop_flat_map(|s| (chunked_in(Just(s.clone()).boxed(), grid_f64()), elems(s)))
        .boxed()
}

proptest! {
    #![proptest_config(config(60))]
    #[test]
    fn slice_matches_ndarray(((a, ch), sl) in with_slice()) {
        let x = floe::from_ndarray(&a, ch.spec()).unwrap();
        let got = x.slice(sl.as_slice()).unwrap().compute().unwrap();
        let expected = a.slice(sl.as_slice()).to_owned();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn slice_of_expression_matches_ndarray(((a, ch), sl) in with_slice(), k in grid_f64()) {
        let x = floe::from_ndarray(&a, ch.spec()).unwrap();
        // the row broadcasts along the leading axes
        let last = a.shape()[a.ndim() - 1];
        let row = ArrayD::from_shape_fn(ndarray::IxDyn(&[last]), |i| i[0] as f64);
        let r = floe::from_ndarray(&row, 2).unwrap();
        let e = ((&x * k + &r).sin() - 1.0).slice(sl.as_slice()).unwrap();
        let got = Executor::cpu().threads(2).compute(&e).unwrap();
        let expected = ((&a * k + &row).mapv(f64::sin) - 1.0).slice(sl.as_slice()).to_owned();
        // floe's sin is its own vectorized one (within 2 ulp of libm)
        check(&got, &expected, "slice of ((x*k + row).sin() - 1)")?;
    }

    #[test]
    fn flip_matches_ndarray((a, ch) in chunked_in(shape_in(1, 3), grid_f64()), ax in 0usize..3) {
        let ax = ax % a.ndim();
        let x = floe::from_ndarray(&a, ch.spec()).unwrap();
        let mut e = a.clone();
        e.invert_axis(ndarray::Axis(ax));
        prop_assert_eq!(x.flip(ax).unwrap().compute().unwrap(), e);
    }
}

#[test]
fn out_of_range_is_an_error() {
    let x = floe::zeros::<f64>(&[4, 5], 2).unwrap();
    assert!(x.slice(ndarray::s![5.., ..]).is_err());
    assert!(x.slice(ndarray::s![.., -6..]).is_err());
    assert!(x.slice(ndarray::s![4, ..]).is_err());
    assert!(x.slice(ndarray::s![.., ..;0]).is_err());
    assert!(x.slice(ndarray::s![0, 0, 0]).is_err());
    assert!(x.flip(2).is_err());
    // empty selections are fine
    assert_eq!(x.slice(ndarray::s![3..1, ..]).unwrap().shape(), &[0, 5]);
    // fewer indices than axes: the rest whole
    assert_eq!(x.slice(ndarray::s![1..3]).unwrap().shape(), &[2, 5]);
}

#[test]
fn squeeze_drops_length_one_axes() {
    let a = ArrayD::from_shape_fn(ndarray::IxDyn(&[1, 3, 1, 2]), |i| (i[1] * 2 + i[3]) as i32);
    let x = floe::from_ndarray(&a, vec![1, 2, 1, 1]).unwrap();
    assert_eq!(x.squeeze().shape(), &[3, 2]);
    assert_eq!(x.squeeze().compute().unwrap(), a.clone().into_shape_with_order(ndarray::IxDyn(&[3, 2])).unwrap());
    assert_eq!(x.squeeze_axes(&[2]).unwrap().shape(), &[1, 3, 2]);
    assert!(x.squeeze_axes(&[1]).is_err());
    assert!(x.squeeze_axes(&[4]).is_err());
}

#[test]
fn a_slice_of_a_sum_computes_only_the_blocks_it_needs() {
    let a = floe::random::uniform([100, 40], 0.0, 1.0, 10, 1).unwrap();
    let b = floe::random::uniform([100, 40], 0.0, 1.0, 10, 2).unwrap();
    let s = (&a + &b).slice(ndarray::s![..10, ..]).unwrap();
    let plan = s.explain();
    assert!(plan.contains("map[(in0 + in1)] float64 [10, 40]"), "the sum is of slices:\n{plan}");
    let (v, stats) = Executor::cpu().compute_with_stats(&s).unwrap();
    assert_eq!(v.shape(), &[10, 40]);
    // one row of 4 blocks of each input is generated, not all 40
    assert_eq!(stats.tasks_named("random"), 8, "{stats:?}");
    assert_eq!(stats.tasks_named("fused"), 4, "{stats:?}");
    // in-memory inputs: the slice reads only the blocks holding selected rows
    let m = ArrayD::from_shape_fn(ndarray::IxDyn(&[100, 40]), |i| (i[0] * 40 + i[1]) as f64);
    let x = floe::from_ndarray(&m, 10).unwrap();
    let y = (&x * 2.0).slice(ndarray::s![15..25;3, 5..8]).unwrap();
    let (v, stats) = Executor::cpu().compute_with_stats(&y).unwrap();
    assert_eq!(v, (&m * 2.0).slice(ndarray::s![15..25;3, 5..8]).to_owned().into_dyn());
    assert_eq!(stats.tasks_named("fused"), 2, "{stats:?}");
}
