//! Shape manipulation against ndarray over random shapes and chunkings
//! (irregular, zero-size blocks, 0-d where NumPy allows): take, reshape,
//! t / permuted_axes / moveaxis / swapaxes, broadcast_to, roll, pad (every
//! mode, widths beyond the axis), tile, repeat, diag / diagonal, coarsen.
//! The oracles are written independently of floe's index maps (pad mirrors
//! by repeated reflection, tile by concatenation, ...).

#[macro_use]
mod common;

use common::*;
use floe::{Array, PadMode};
use ndarray::{ArrayD, Axis, IxDyn};
use proptest::prelude::*;

fn c_order(a: &ArrayD<f64>) -> Vec<f64> {
    a.iter().copied().collect()
}

fn arr(a: &ArrayD<f64>, ch: &Chunking) -> Array<f64> {
    fl!(a, ch)
}

/// A shape with the same number of elements as `shape`: its sizes'
/// prime factors regrouped at random (ones inserted too).
fn same_size_shape(shape: Vec<usize>) -> BoxedStrategy<Vec<usize>> {
    let n: usize = shape.iter().product();
    if n == 0 {
        return prop_oneof![Just(vec![0]), Just(vec![3, 0]), Just(vec![0, 2, 1])].boxed();
    }
    let mut factors = Vec::new();
    let mut m = n;
    let mut p = 2;
    while m > 1 {
        while m % p == 0 {
            factors.push(p);
            m /= p;
        }
        p += 1;
    }
    (Just(factors), 1usize..=4, prop::collection::vec(0usize..4, 0..8), any::<bool>())
        .prop_map(|(f, nd, picks, one)| {
            let mut s = vec![1usize; nd];
            for (i, &x) in f.iter().enumerate() {
                s[picks.get(i).copied().unwrap_or(i) % nd] *= x;
            }
            if one {
                s.insert(nd / 2, 1);
            }
            s
        })
        .boxed()
}

/// The position read by position `i` of an axis of length n padded with
/// `mode`, by reflecting until inside (independent of floe's formula).
fn pad_src(mut i: i64, n: i64, mode: &str) -> Option<i64> {
    if (0..n).contains(&i) {
        return Some(i);
    }
    match mode {
        "constant" => None,
        "edge" => Some(i.clamp(0, n - 1)),
        "wrap" => {
            while i < 0 {
                i += n;
            }
            while i >= n {
                i -= n;
            }
            Some(i)
        }
        "reflect" if n == 1 => Some(0),
        _ => {
            let sym = mode == "symmetric";
            while !(0..n).contains(&i) {
                if i < 0 {
                    i = if sym { -i - 1 } else { -i };
                } else {
                    i = if sym { 2 * n - 1 - i } else { 2 * (n - 1) - i };
                }
            }
            Some(i)
        }
    }
}

fn pad_oracle(a: &ArrayD<f64>, w: &[(usize, usize)], mode: &str, c: f64) -> ArrayD<f64> {
    let mut cur = a.clone();
    for (k, &(b, e)) in w.iter().enumerate() {
        let n = cur.shape()[k] as i64;
        let mut shape = cur.shape().to_vec();
        shape[k] += b + e;
        let mut out = ArrayD::from_elem(IxDyn(&shape), c);
        for o in 0..shape[k] {
            if let Some(i) = pad_src(o as i64 - b as i64, n, mode) {
                out.index_axis_mut(Axis(k), o).assign(&cur.index_axis(Axis(k), i as usize));
            }
        }
        cur = out;
    }
    cur
}

fn mode_of(name: &str, c: f64) -> PadMode<f64> {
    match name {
        "constant" => PadMode::Constant(c),
        "edge" => PadMode::Edge,
        "reflect" => PadMode::Reflect,
        "symmetric" => PadMode::Symmetric,
        _ => PadMode::Wrap,
    }
}

/// Sum over the window of radius `d` around each element, clipped to the array.
fn box_filter(a: &ndarray::ArrayViewD<f64>, d: &[usize]) -> ArrayD<f64> {
    let shape = a.shape().to_vec();
    let mut out = ArrayD::zeros(IxDyn(&shape));
    for (idx, o) in out.indexed_iter_mut() {
        let ranges: Vec<(usize, usize)> = (0..shape.len())
            .map(|k| (idx[k].saturating_sub(d[k]), (idx[k] + d[k] + 1).min(shape[k])))
            .collect();
        let mut s = 0.0;
        let sl: Vec<ndarray::SliceInfoElem> = ranges.iter().map(|&(lo, hi)| (lo..hi).into()).collect();
        for v in a.slice(sl.as_slice()).iter() {
            s += v;
        }
        *o = s;
    }
    out
}

fn cases() -> BoxedStrategy<(ArrayD<f64>, Chunking)> {
    chunked_in(shape_in(1, 3), grid_f64())
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn take_matches_select((a, ch) in cases(), picks in prop::collection::vec(0usize..100, 0..12), ax in 0usize..3) {
        let ax = ax % a.ndim();
        let n = a.shape()[ax];
        let idx: Vec<usize> = if n == 0 { vec![] } else { picks.iter().map(|&p| p % n).collect() };
        let got = run!(arr(&a, &ch).take(&idx, ax).unwrap());
        prop_assert_eq!(got, a.select(Axis(ax), &idx));
        if n > 0 {
            prop_assert!(arr(&a, &ch).take(&[n], ax).is_err());
        }
    }

    #[test]
    fn reshape_values_and_chunks(((a, ch), shape) in cases().prop_flat_map(|x| { let s = x.0.shape().to_vec(); (Just(x), same_size_shape(s)) })) {
        let r = arr(&a, &ch).reshape(&shape).unwrap();
        prop_assert_eq!(r.shape(), shape.as_slice());
        let got = run!(r);
        prop_assert_eq!(got.shape(), shape.as_slice());
        prop_assert_eq!(c_order(&got), c_order(&a));
        let bad: Vec<usize> = vec![shape.iter().product::<usize>() + 1];
        prop_assert!(arr(&a, &ch).reshape(&bad).is_err());
    }

    #[test]
    fn transposes_match_ndarray((a, ch) in chunked_in(shape_in(0, 4), grid_f64()), seed in any::<u64>()) {
        let x = arr(&a, &ch);
        prop_assert_eq!(run!(x.t()), a.t().to_owned());
        let nd = a.ndim();
        let mut perm: Vec<usize> = (0..nd).collect();
        let mut s = seed;
        for i in (1..nd).rev() {
            perm.swap(i, (s % (i as u64 + 1)) as usize);
            s /= 7;
        }
        prop_assert_eq!(run!(x.permuted_axes(&perm).unwrap()), a.clone().permuted_axes(IxDyn(&perm)));
        if nd >= 2 {
            let mut sw = a.clone();
            sw.swap_axes(0, nd - 1);
            prop_assert_eq!(run!(x.swapaxes(0, nd - 1).unwrap()), sw);
            // moveaxis(0, last): axis 0 goes to the end
            let mut p: Vec<usize> = (1..nd).collect();
            p.push(0);
            prop_assert_eq!(run!(x.moveaxis(0, nd - 1).unwrap()), a.clone().permuted_axes(IxDyn(&p)));
            // a transpose inside an expression
            let e = run!((&x.t() * 2.0).t().sum(0).unwrap());
            prop_assert_eq!(e, a.mapv(|v| v * 2.0).sum_axis(Axis(0)));
        }
        if nd >= 1 {
            // a slice of a transpose (pushed below the transpose by the optimizer)
            let exp = a.t().slice_axis(Axis(0), ndarray::Slice::new(0, None, -1)).to_owned();
            prop_assert_eq!(run!(x.t().flip(0).unwrap()), exp);
        }
        prop_assert!(x.permuted_axes(&vec![0; nd + 1]).is_err());
    }

    #[test]
    fn broadcast_to_matches_ndarray((a, ch) in chunked_in(shape_in(0, 3), grid_f64()), lead in 0usize..3, stretch in prop::collection::vec(1usize..4, 3)) {
        let mut shape: Vec<usize> = (0..lead).map(|i| stretch[i] + 1).collect();
        shape.extend(a.shape().iter().enumerate().map(|(k, &d)| if d == 1 { stretch[k] } else { d }));
        let got = run!(arr(&a, &ch).broadcast_to(&shape).unwrap());
        prop_assert_eq!(got, a.broadcast(IxDyn(&shape)).unwrap().to_owned());
        let mut bad = a.shape().to_vec();
        if let Some(d) = bad.iter_mut().find(|d| **d > 1) {
            *d += 1;
            prop_assert!(arr(&a, &ch).broadcast_to(&bad).is_err());
        }
    }

    #[test]
    fn roll_matches_numpy((a, ch) in cases(), shift in -12isize..12, ax in 0usize..3) {
        let ax = ax % a.ndim();
        let n = a.shape()[ax] as isize;
        let x = arr(&a, &ch).roll(shift, ax).unwrap();
        let before = arr(&a, &ch);
        prop_assert_eq!(x.chunks().axis(ax), before.chunks().axis(ax), "chunks kept");
        let idx: Vec<usize> = (0..n).map(|i| (((i - shift) % n + n) % n) as usize).collect();
        prop_assert_eq!(run!(x), a.select(Axis(ax), &idx));
    }

    #[test]
    fn pad_matches_numpy_modes((a, ch) in cases(), w in prop::collection::vec((0usize..9, 0usize..9), 3), m in 0usize..5, c in grid_f64()) {
        let modes = ["constant", "edge", "reflect", "symmetric", "wrap"];
        let mode = modes[m];
        let w: Vec<(usize, usize)> = w[..a.ndim()].to_vec();
        let res = arr(&a, &ch).pad(&w, mode_of(mode, c));
        let empty_axis = a.shape().iter().zip(&w).any(|(&n, &(b, e))| n == 0 && b + e > 0);
        if empty_axis && mode != "constant" {
            prop_assert!(res.is_err());
        } else {
            prop_assert_eq!(run!(res.unwrap()), pad_oracle(&a, &w, mode, c));
        }
    }

    #[test]
    fn tile_and_repeat_match_numpy((a, ch) in cases(), reps in prop::collection::vec(0usize..4, 1..4), r in 0usize..4, ax in 0usize..3) {
        // tile: concatenation of copies, axis by axis (new leading axes first)
        let mut exp = a.clone();
        while exp.ndim() < reps.len() {
            exp = exp.insert_axis(Axis(0));
        }
        let off = exp.ndim() - reps.len();
        for (j, &n) in reps.iter().enumerate() {
            let views: Vec<_> = (0..n).map(|_| exp.view()).collect();
            exp = if n == 0 {
                let mut s = exp.shape().to_vec();
                s[j + off] = 0;
                ArrayD::zeros(IxDyn(&s))
            } else {
                ndarray::concatenate(Axis(j + off), &views).unwrap()
            };
        }
        prop_assert_eq!(run!(arr(&a, &ch).tile(&reps).unwrap()), exp);
        let ax = ax % a.ndim();
        let mut idx = Vec::new();
        for i in 0..a.shape()[ax] {
            for _ in 0..r {
                idx.push(i);
            }
        }
        prop_assert_eq!(run!(arr(&a, &ch).repeat(r, ax).unwrap()), a.select(Axis(ax), &idx));
    }

    #[test]
    fn diagonals_match_numpy((a, ch) in chunked_in(shape_in(2, 2), grid_f64()), k in -4isize..5) {
        let (n0, n1) = (a.shape()[0] as isize, a.shape()[1] as isize);
        let mut exp = Vec::new();
        let mut i = 0isize.max(-k);
        while i < n0 && i + k < n1 {
            exp.push(a[[i as usize, (i + k) as usize]]);
            i += 1;
        }
        let got = run!(arr(&a, &ch).diagonal(k).unwrap());
        prop_assert_eq!(got.iter().copied().collect::<Vec<_>>(), exp.clone());
        prop_assert_eq!(run!(floe::diag(&arr(&a, &ch), k).unwrap()).len(), exp.len());
    }

    #[test]
    fn diag_builds_matrices((v, ch) in chunked_in(shape_in(1, 1), grid_f64()), k in -3isize..4) {
        let n = v.len();
        let m = n + k.unsigned_abs();
        let mut exp = ArrayD::<f64>::zeros(IxDyn(&[m, m]));
        for t in 0..n {
            let (r, c) = if k >= 0 { (t, t + k as usize) } else { (t + k.unsigned_abs(), t) };
            exp[[r, c]] = v[[t]];
        }
        prop_assert_eq!(run!(floe::diag(&arr(&v, &ch), k).unwrap()), exp);
    }

    #[test]
    fn coarsen_means_windows((a, ch) in chunked_in(shape_in(1, 2), grid_f64()), w in prop::collection::vec(1usize..4, 2), trim in any::<bool>()) {
        let w: Vec<usize> = w[..a.ndim()].to_vec();
        let divides = a.shape().iter().zip(&w).all(|(&n, &k)| n % k == 0);
        let c = arr(&a, &ch).coarsen(&w, trim);
        if !divides && !trim {
            prop_assert!(c.is_err());
            return Ok(());
        }
        let c = c.unwrap();
        let out_shape: Vec<usize> = a.shape().iter().zip(&w).map(|(&n, &k)| n / k).collect();
        let mut exp_mean = ArrayD::<f64>::zeros(IxDyn(&out_shape));
        let mut exp_max = ArrayD::<f64>::from_elem(IxDyn(&out_shape), f64::NEG_INFINITY);
        for (idx, &v) in a.indexed_iter() {
            let o: Vec<usize> = (0..a.ndim()).map(|k| idx[k] / w[k]).collect();
            if o.iter().zip(&out_shape).any(|(&i, &n)| i >= n) {
                continue;
            }
            exp_mean[IxDyn(&o)] += v / w.iter().product::<usize>() as f64;
            exp_max[IxDyn(&o)] = exp_max[IxDyn(&o)].max(v);
        }
        check_rtol(&run!(c.mean().unwrap()), &exp_mean, 1e-12, 1e-12, "coarsen mean")?;
        if out_shape.iter().all(|&n| n > 0) {
            prop_assert_eq!(run!(c.max().unwrap()), exp_max);
        }
    }
}

proptest! {
    #![proptest_config(config(40))]

    #[test]
    fn map_blocks_sees_each_block((a, ch) in cases()) {
        let x = arr(&a, &ch);
        // each block replaced by its own sum: the result shows the block structure
        let got = run!(x.map_blocks(|b| ArrayD::from_elem(b.raw_dim(), b.sum())).unwrap());
        let chunks = x.chunks().to_vec();
        let mut exp = ArrayD::<f64>::zeros(a.raw_dim());
        let ranges: Vec<(usize, usize)> = chunks.iter().map(|c| (0, c.len())).collect();
        let mut stack = vec![vec![]];
        for &(_, n) in &ranges {
            stack = stack.into_iter().flat_map(|p: Vec<usize>| (0..n).map(move |i| { let mut q = p.clone(); q.push(i); q })).collect();
        }
        for b in stack {
            let sl: Vec<ndarray::SliceInfoElem> = b.iter().enumerate().map(|(k, &i)| {
                let s: usize = chunks[k][..i].iter().sum();
                (s..s + chunks[k][i]).into()
            }).collect();
            let total = a.slice(sl.as_slice()).sum();
            exp.slice_mut(sl.as_slice()).fill(total);
        }
        check_rtol(&got, &exp, 1e-12, 1e-12, "block sums")?;
        // the element type may change
        let ints = run!(x.map_blocks(|b| b.mapv(|v| (v * 4.0) as i64)).unwrap());
        prop_assert_eq!(ints, a.mapv(|v| (v * 4.0) as i64));
    }

    #[test]
    fn map_overlap_is_a_stencil_over_the_padded_array((a, ch) in chunked_in(shape_in(1, 2), grid_f64()), d in prop::collection::vec(0usize..4, 2), b in 0usize..5, c in grid_f64()) {
        let d: Vec<usize> = d[..a.ndim()].iter().zip(a.shape()).map(|(&d, &n)| d.min(n)).collect();
        let x = arr(&a, &ch);
        let (boundary, mode) = match b {
            0 => (floe::Boundary::Reflect, "symmetric"),
            1 => (floe::Boundary::Periodic, "wrap"),
            2 => (floe::Boundary::Nearest, "edge"),
            3 => (floe::Boundary::Constant(c), "constant"),
            _ => (floe::Boundary::None, "none"),
        };
        let dd = d.clone();
        let got = run!(x.map_overlap(&d, boundary, move |g| box_filter(&g, &dd)).unwrap());
        let exp = if mode == "none" {
            box_filter(&a.view(), &d)
        } else {
            let w: Vec<(usize, usize)> = d.iter().map(|&k| (k, k)).collect();
            let padded = pad_oracle(&a, &w, mode, c);
            let full = box_filter(&padded.view(), &d);
            let sl: Vec<ndarray::SliceInfoElem> = d.iter().zip(a.shape()).map(|(&k, &n)| (k..k + n).into()).collect();
            full.slice(sl.as_slice()).to_owned()
        };
        check_rtol(&got, &exp, 1e-9, 1e-9, "map_overlap box filter")?;
    }

    #[test]
    fn map_overlap_over_a_random_source_generates_block_and_halo(
        (shape, ch) in shape_in(1, 3).prop_flat_map(|s| (Just(s.clone()), chunking(s))),
        d in prop::collection::vec(0usize..4, 3), b in 0usize..5, c in grid_f64(), normal in any::<bool>(),
    ) {
        let d: Vec<usize> = d[..shape.len()].iter().zip(&shape).map(|(&d, &n)| d.min(n)).collect();
        let boundary = match b {
            0 => floe::Boundary::Reflect,
            1 => floe::Boundary::Periodic,
            2 => floe::Boundary::Nearest,
            3 => floe::Boundary::Constant(c),
            _ => floe::Boundary::None,
        };
        let x = if normal {
            floe::random::normal(&shape, 1.0, 2.0, ch.spec(), 7)
        } else {
            floe::random::uniform(&shape, -1.0, 3.0, ch.spec(), 7)
        }.unwrap();
        // the oracle: the same values in memory, gathered from their blocks
        let a = run!(x);
        let y = arr(&a, &ch);
        let dd = d.clone();
        let f = move |g: ndarray::ArrayViewD<f64>| box_filter(&g, &dd);
        let lazy = x.map_overlap(&d, boundary, f.clone()).unwrap();
        let plan = lazy.explain();
        prop_assert!(plan.contains("map_overlap <- inline random"), "{}", plan);
        prop_assert_eq!(run!(lazy), run!(y.map_overlap(&d, boundary, f).unwrap()));
    }

    #[test]
    fn blockwise_matmul_and_transposed_sum(((a, ca), (b, cb)) in (1usize..6, 1usize..6, 1usize..6).prop_flat_map(|(m, k, n)| (
        chunked_in(Just(vec![m, k]).boxed(), grid_f64()),
        chunked_in(Just(vec![k, n]).boxed(), grid_f64()),
    ))) {
        let (x, y) = (arr(&a, &ca), arr(&b, &cb));
        let p = floe::blockwise("ik", &[(&x, "ij"), (&y, "jk")], |blk| {
            let l = blk[0].view().into_dimensionality::<ndarray::Ix2>().unwrap();
            let r = blk[1].view().into_dimensionality::<ndarray::Ix2>().unwrap();
            l.dot(&r).into_dyn()
        }).unwrap();
        check_rtol(&run!(p), &a.clone().into_dimensionality::<ndarray::Ix2>().unwrap().dot(&b.clone().into_dimensionality::<ndarray::Ix2>().unwrap()).into_dyn(), 1e-9, 1e-9, "blockwise matmul")?;
        let s = floe::blockwise("ij", &[(&x, "ij"), (&x.t(), "ji")], |blk| &blk[0] + &blk[1].t()).unwrap();
        prop_assert_eq!(run!(s), a.mapv(|v| v * 2.0));
    }
}

#[test]
fn take_groups_indices_by_source_block() {
    let a = floe::arange(0i64, 1000, 1, 100).unwrap();
    let idx: Vec<usize> = (0..1000).rev().step_by(7).collect();
    let t = a.take(&idx, 0).unwrap();
    // output blocks of 100 indices, each reading the <= 2 input blocks it spans
    assert_eq!(t.numblocks(), vec![2]);
    let plan = t.explain();
    assert!(plan.contains("gather"), "{plan}");
    let got = t.compute().unwrap();
    assert_eq!(got.iter().copied().collect::<Vec<_>>(), idx.iter().map(|&i| i as i64).collect::<Vec<_>>());
}

#[test]
fn reshape_merges_rows_without_rechunking() {
    let a = floe::zeros::<f32>([100, 50], [10, 50]).unwrap();
    let r = a.reshape(&[5000]).unwrap();
    assert_eq!(r.chunks().axis(0), &[500; 10]);
    assert!(!r.explain().contains("rechunk"), "{}", r.explain());
    // merging chunked axes keeps blocks near their size, never one huge chunk
    let b = floe::zeros::<f32>([1000, 1000], [100, 100]).unwrap();
    let r = b.reshape(&[1_000_000]).unwrap();
    assert!(r.chunks().axis(0).iter().all(|&c| c <= 100_000));
}

#[test]
fn shape_op_errors_are_clear() {
    let a = floe::ones::<f64>([4, 6], 2).unwrap();
    assert!(matches!(a.reshape(&[5, 5]), Err(floe::Error::Shape(_))));
    assert!(matches!(a.take(&[4], 0), Err(floe::Error::Value(_))));
    assert!(matches!(a.permuted_axes(&[0]), Err(floe::Error::Shape(_))));
    assert!(matches!(a.moveaxis(0, 2), Err(floe::Error::Axis { .. })));
    assert!(matches!(a.broadcast_to(&[4, 7]), Err(floe::Error::Shape(_))));
    assert!(matches!(a.roll(1, 2), Err(floe::Error::Axis { .. })));
    assert!(matches!(a.pad(&[(1, 1)], PadMode::Edge), Err(floe::Error::Shape(_))));
    assert!(matches!(a.map_overlap(&[5, 1], floe::Boundary::Periodic, |b| b.to_owned()), Err(floe::Error::Value(_))));
    assert!(matches!(a.coarsen(&[3, 1], false), Err(floe::Error::Shape(_))));
    assert!(floe::diag(&floe::ones::<f64>([2, 2, 2], 1).unwrap(), 0).is_err());
    let x = floe::ones::<f64>([3, 4], 2).unwrap();
    assert!(matches!(floe::blockwise("ik", &[(&a, "ij"), (&x, "jk")], |b| b[0].to_owned()), Err(floe::Error::Shape(_))));
    assert!(matches!(floe::blockwise("iz", &[(&a, "ij")], |b| b[0].to_owned()), Err(floe::Error::Value(_))));
    // a block function that returns the wrong shape fails when computed, not with a panic
    let bad = a.map_blocks(|b| ndarray::ArrayD::<f64>::zeros(IxDyn(&[b.len() + 1]))).unwrap();
    assert!(matches!(bad.compute(), Err(floe::Error::Shape(_))));
    // a panic inside a block function is an error
    let boom = a.map_blocks(|_b| -> ArrayD<f64> { panic!("user bug") }).unwrap();
    assert!(boom.compute().is_err());
}

#[test]
fn map_overlap_holds_one_block_and_its_halo() {
    // 8 blocks; one task per block (no separate overlap and trim layers)
    let a = floe::random::uniform([400, 400], 0.0, 1.0, 100, 1).unwrap();
    let s = a
        .map_overlap(&[1, 1], floe::Boundary::Constant(0.0), |g| {
            let mut out = g.to_owned();
            let (n, m) = (g.shape()[0], g.shape()[1]);
            for i in 1..n - 1 {
                for j in 1..m - 1 {
                    out[[i, j]] = g[[i - 1, j]] + g[[i + 1, j]] + g[[i, j - 1]] + g[[i, j + 1]] - 4.0 * g[[i, j]];
                }
            }
            out
        })
        .unwrap();
    let plan = s.explain();
    let tasks = &plan[plan.find("-- tasks --").unwrap()..];
    // the random input is generated inside the tasks, block and halo: no
    // layer of its own whose blocks wait for all their neighbours
    assert_eq!(tasks.lines().filter(|l| l.starts_with('L')).count(), 1, "{plan}");
    assert!(tasks.contains("map_overlap <- inline random-uniform tasks=16"), "{plan}");
    let got = s.compute().unwrap();
    let x = a.compute().unwrap();
    let (i, j) = (137, 250);
    let exp = x[[i - 1, j]] + x[[i + 1, j]] + x[[i, j - 1]] + x[[i, j + 1]] - 4.0 * x[[i, j]];
    assert!((got[[i, j]] - exp).abs() < 1e-12);
    // a block edge: (99, 100) sits at the corner of four blocks
    let (i, j) = (99, 100);
    let exp = x[[i - 1, j]] + x[[i + 1, j]] + x[[i, j - 1]] + x[[i, j + 1]] - 4.0 * x[[i, j]];
    assert!((got[[i, j]] - exp).abs() < 1e-12);
}
