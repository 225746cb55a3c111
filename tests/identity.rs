//! Plan identity is structural: sibling nodes that differ in one long
//! parameter (an index list, a pad width, a constant's last bit, a chunk
//! list) are never merged, whatever their display text. Each case is
//! computed with `compute_many` and compared with plain ndarray.

use floe::{Executor, PadMode};
use ndarray::{ArrayD, Axis, Dimension, IxDyn};

fn data(shape: &[usize]) -> ArrayD<f64> {
    ArrayD::from_shape_fn(IxDyn(shape), |ix| ix.slice().iter().fold(0.0, |acc, &i| acc * 100.0 + i as f64))
}

/// The reproducer: an hour-of-day climatology of hourly data. Each
/// hour's `take` has 31 positions (the display text says "[31 positions]"
/// for all of them); all 24 hours used to come out as hour 0.
#[test]
fn hour_of_day_climatology_keeps_every_hour() {
    let d = data(&[744, 3, 4]);
    let x = floe::from_ndarray(&d, 48).unwrap();
    let idx = |h: usize| (0..31).map(|day| day * 24 + h).collect::<Vec<_>>();
    let parts: Vec<_> = (0..24).map(|h| x.take(&idx(h), 0).unwrap().mean(0).unwrap()).collect();
    let got = Executor::cpu().compute(&floe::stack(0, &parts.iter().collect::<Vec<_>>()).unwrap()).unwrap();
    for h in 0..24 {
        let want = d.select(Axis(0), &idx(h)).mean_axis(Axis(0)).unwrap();
        assert_eq!(got.index_axis(Axis(0), h), want, "hour {h}");
    }
}

#[test]
fn siblings_differing_in_one_long_parameter_stay_apart() {
    let d = data(&[40, 5]);
    let x = floe::from_ndarray(&d, vec![7, 2]).unwrap();
    let a: Vec<usize> = (0..20).collect();
    let mut b = a.clone();
    b[19] = 39;
    let roots = vec![
        x.take(&a, 0).unwrap(),
        x.take(&b, 0).unwrap(),
        // pads by more than six and constants that differ in the last bit or the sign
        x.pad(&[(9, 0), (0, 0)], PadMode::Constant(1.0)).unwrap().slice(ndarray::s![..40, ..]).unwrap(),
        x.pad(&[(9, 0), (0, 0)], PadMode::Constant(1.0 + f64::EPSILON)).unwrap().slice(ndarray::s![..40, ..]).unwrap(),
        &x * 0.0,
        &x * -0.0,
        // long irregular chunk lists differing in one block
        x.rechunk(vec![vec![1, 2, 3, 4, 5, 6, 7, 12], vec![5]]).unwrap() + 1.0,
        x.rechunk(vec![vec![1, 2, 3, 4, 5, 6, 8, 11], vec![5]]).unwrap() + 1.0,
    ];
    let got = Executor::cpu().compute_many(&roots.iter().collect::<Vec<_>>()).unwrap();
    let padded = |v: f64| {
        let mut p = ArrayD::from_elem(IxDyn(&[49, 5]), v);
        p.slice_mut(ndarray::s![9.., ..]).assign(&d);
        p.slice(ndarray::s![..40, ..]).to_owned().into_dyn()
    };
    let want = vec![
        d.select(Axis(0), &a),
        d.select(Axis(0), &b),
        padded(1.0),
        padded(1.0 + f64::EPSILON),
        d.mapv(|v| v * 0.0),
        d.mapv(|v| v * -0.0),
        d.mapv(|v| v + 1.0),
        d.mapv(|v| v + 1.0),
    ];
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.shape(), w.shape(), "root {i}");
        for (p, q) in g.iter().zip(w.iter()) {
            assert_eq!(p.to_bits(), q.to_bits(), "root {i}: {p} vs {q}");
        }
    }
}

#[test]
fn equal_siblings_are_still_shared() {
    let d = data(&[30, 4]);
    let x = floe::from_ndarray(&d, 8).unwrap();
    let idx: Vec<usize> = (0..30).rev().collect();
    let a = x.take(&idx, 0).unwrap().sum(0).unwrap();
    let b = x.take(&idx, 0).unwrap().sum(0).unwrap();
    let both = &a + &b;
    let plan = both.explain();
    let graph = plan.split("-- tasks --").next().unwrap();
    assert_eq!(graph.matches("gather").count(), 1, "{plan}");
    let got = Executor::cpu().compute(&both).unwrap();
    let want = d.sum_axis(Axis(0)).mapv(|v| 2.0 * v);
    assert_eq!(got, want.into_dyn());
}
