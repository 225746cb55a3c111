//! Linear algebra: products and factorizations against direct computations
//! on the unchunked matrix (naive loops, faer), over random shapes and
//! chunkings (irregular, size-1 and empty blocks), plus plan shapes and errors.

use floe::{from_ndarray, linalg, tensordot, Error, Executor};
use ndarray::{Array1, Array2, ArrayD, Ix1, Ix2};
use proptest::prelude::*;

fn ex() -> Executor {
    // fan-in 2: small matrices still make multi-level trees
    Executor::cpu().threads(2).split_every(2)
}

/// Deterministic values in [-1, 1).
fn mat(m: usize, n: usize, seed: u64) -> Array2<f64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    Array2::from_shape_fn((m, n), |_| {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    })
}

fn naive(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    let (m, k) = a.dim();
    let n = b.ncols();
    Array2::from_shape_fn((m, n), |(i, j)| (0..k).map(|p| a[(i, p)] * b[(p, j)]).sum())
}

fn fro(a: &Array2<f64>) -> f64 {
    a.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn max_abs_diff(a: &ArrayD<f64>, b: &ArrayD<f64>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    a.iter().zip(b.iter()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

fn two(a: ArrayD<f64>) -> Array2<f64> {
    a.into_dimensionality::<Ix2>().unwrap()
}

/// Block sizes of an axis of length n: random cuts (repeated cuts make empty blocks).
fn partition(n: usize) -> BoxedStrategy<Vec<usize>> {
    proptest::collection::vec(0..=n, 0..5)
        .prop_map(move |mut cuts| {
            cuts.push(0);
            cuts.push(n);
            cuts.sort_unstable();
            cuts.windows(2).map(|w| w[1] - w[0]).collect::<Vec<usize>>()
        })
        .prop_map(|mut v: Vec<usize>| {
            // keep the leading 0-cut's empty block only sometimes: drop one leading zero
            if v.len() > 1 && v[0] == 0 {
                v.remove(0);
            }
            v
        })
        .boxed()
}

fn cfg(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, max_shrink_iters: 200, ..ProptestConfig::default() }
}

// ---- products -------------------------------------------------------------------

fn product_case() -> impl Strategy<Value = (usize, usize, usize, Vec<usize>, Vec<usize>, Vec<usize>, Vec<usize>, u64)> {
    (0usize..9, 0usize..11, 0usize..9, any::<u64>()).prop_flat_map(|(m, k, n, seed)| {
        (Just(m), Just(k), Just(n), partition(m), partition(k), partition(k), partition(n), Just(seed))
    })
}

proptest! {
    #![proptest_config(cfg(40))]
    #[test]
    fn matmul_matches_naive_over_chunkings((m, k, n, rm, ka, kb, cn, seed) in product_case()) {
        let a = mat(m, k, seed);
        let b = mat(k, n, seed ^ 7);
        let fa = from_ndarray(&a, vec![rm, ka]).unwrap();
        let fb = from_ndarray(&b, vec![kb, cn]).unwrap();
        let got = ex().compute(&fa.matmul(&fb).unwrap()).unwrap();
        let exp = naive(&a, &b).into_dyn();
        prop_assert!(max_abs_diff(&got, &exp) < 1e-12, "{got:?} vs {exp:?}");
        // f32 through the same plan
        let a32 = a.mapv(|x| x as f32);
        let b32 = b.mapv(|x| x as f32);
        let g32 = ex().compute(&from_ndarray(&a32, fa.chunks().to_vec()).unwrap().dot(&from_ndarray(&b32, fb.chunks().to_vec()).unwrap()).unwrap()).unwrap();
        prop_assert!(max_abs_diff(&g32.mapv(|x| x as f64), &exp) < 1e-4);
    }

    #[test]
    fn tsqr_factors_irregular_row_blocks((m, n, rows, seed) in (0usize..40, 1usize..6, any::<u64>()).prop_flat_map(|(m, n, s)| (Just(m), Just(n), partition(m), Just(s)))) {
        let a = mat(m, n, seed);
        let fa = from_ndarray(&a, vec![rows, vec![n]]).unwrap();
        let (q, r) = linalg::tsqr(&fa).unwrap();
        let k = m.min(n);
        prop_assert_eq!(q.shape(), &[m, k][..]);
        prop_assert_eq!(r.shape(), &[k, n][..]);
        let v = ex().compute_many(&[&q, &r]).unwrap();
        let (q, r) = (two(v[0].clone()), two(v[1].clone()));
        let scale = fro(&a).max(1e-300);
        prop_assert!(fro(&(&a - &naive(&q, &r))) / scale < 1e-12);
        prop_assert!(fro(&(naive(&q.t().to_owned(), &q) - Array2::<f64>::eye(k))) < 1e-12);
        for i in 0..k { for j in 0..i.min(n) { prop_assert!(r[(i, j)].abs() < 1e-12, "R not upper triangular"); } }
    }

    #[test]
    fn svd_reconstructs_and_matches_faer((m, n, rows, cols, wide, seed) in (1usize..30, 1usize..6, any::<bool>(), any::<u64>()).prop_flat_map(|(m, n, w, s)| (Just(m.max(n)), Just(n), partition(m.max(n)), partition(n), Just(w), Just(s)))) {
        // tall (m × n) or, transposed, short-fat (n × m)
        let base = mat(m, n, seed);
        let (a, chunks) = if wide { (base.t().to_owned(), vec![cols, rows]) } else { (base.clone(), vec![rows, cols]) };
        let fa = from_ndarray(&a, chunks).unwrap();
        let (u, s, vt) = linalg::svd(&fa).unwrap();
        let v = ex().compute_many(&[&u, &s, &vt]).unwrap();
        let (u, s, vt) = (two(v[0].clone()), v[1].clone().into_dimensionality::<Ix1>().unwrap(), two(v[2].clone()));
        let k = n;
        prop_assert_eq!(u.dim(), (a.nrows(), k));
        prop_assert_eq!(vt.dim(), (k, a.ncols()));
        let us = &u * &s.view().insert_axis(ndarray::Axis(0));
        prop_assert!(fro(&(&a - &naive(&us, &vt))) / fro(&a).max(1e-300) < 1e-12);
        let exp = faer_singular_values(&a);
        for i in 0..k {
            prop_assert!((s[i] - exp[i]).abs() < 1e-12 * (1.0 + exp[0]), "{s:?} vs {exp:?}");
            if i > 0 { prop_assert!(s[i] <= s[i - 1]); }
        }
    }

    #[test]
    fn cholesky_factors_spd_matrices((n, rows, seed) in (0usize..14, any::<u64>()).prop_flat_map(|(n, s)| (Just(n), partition(n), Just(s)))) {
        let m = mat(n, n, seed);
        let a = naive(&m, &m.t().to_owned()) + Array2::<f64>::eye(n) * (n as f64);
        let fa = from_ndarray(&a, vec![rows.clone(), rows]).unwrap();
        let l = two(ex().compute(&linalg::cholesky(&fa).unwrap()).unwrap());
        for i in 0..n { for j in i + 1..n { prop_assert_eq!(l[(i, j)], 0.0); } }
        prop_assert!(fro(&(&a - &naive(&l, &l.t().to_owned()))) / fro(&a).max(1e-300) < 1e-12);
    }

    #[test]
    fn solve_inv_lstsq_residuals((n, rows, seed) in (1usize..10, any::<u64>()).prop_flat_map(|(n, s)| (Just(n), partition(n), Just(s)))) {
        let a = mat(n, n, seed) + Array2::<f64>::eye(n) * 4.0;
        let b = mat(n, 3, seed ^ 3);
        let fa = from_ndarray(&a, vec![rows.clone(), rows.clone()]).unwrap();
        let fb = from_ndarray(&b, vec![rows.clone(), vec![2, 1]]).unwrap();
        let x = two(ex().compute(&linalg::solve(&fa, &fb).unwrap()).unwrap());
        prop_assert!(fro(&(naive(&a, &x) - &b)) < 1e-10);
        let ai = two(ex().compute(&linalg::inv(&fa).unwrap()).unwrap());
        prop_assert!(fro(&(naive(&a, &ai) - Array2::<f64>::eye(n))) < 1e-10);
        // least squares: tall a (3n × n), residual orthogonal to the columns
        let t = mat(3 * n, n, seed ^ 5);
        let bt = mat(3 * n, 1, seed ^ 9).column(0).to_owned();
        let ft = from_ndarray(&t, vec![floe_regular(3 * n, 2), vec![n]]).unwrap();
        let fbt = from_ndarray(&bt, vec![floe_regular(3 * n, 3)]).unwrap();
        let x = ex().compute(&linalg::lstsq(&ft, &fbt).unwrap()).unwrap().into_dimensionality::<Ix1>().unwrap();
        let resid = t.dot(&x) - &bt;
        prop_assert!(t.t().dot(&resid).iter().all(|v| v.abs() < 1e-10));
    }
}

fn floe_regular(n: usize, b: usize) -> Vec<usize> {
    let mut v = vec![b; n / b];
    if n % b > 0 {
        v.push(n % b);
    }
    if v.is_empty() {
        v.push(0);
    }
    v
}

fn faer_singular_values(a: &Array2<f64>) -> Vec<f64> {
    let m = faer::Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)]);
    let mut s = m.singular_values().unwrap();
    s.sort_by(|x, y| y.partial_cmp(x).unwrap());
    s
}

#[test]
fn matmul_follows_numpy_for_vectors() {
    let a = mat(5, 4, 1);
    let v = mat(1, 5, 2).row(0).to_owned();
    let w = mat(1, 4, 3).row(0).to_owned();
    let fa = from_ndarray(&a, 2).unwrap();
    let fv = from_ndarray(&v, 3).unwrap();
    let fw = from_ndarray(&w, 3).unwrap();
    // 1-d @ 2-d
    let r = ex().compute(&fv.matmul(&fa).unwrap()).unwrap();
    assert_eq!(r.shape(), &[4]);
    assert!(max_abs_diff(&r, &v.dot(&a).into_dyn()) < 1e-12);
    // 2-d @ 1-d
    let r = ex().compute(&fa.matmul(&fw).unwrap()).unwrap();
    assert_eq!(r.shape(), &[5]);
    assert!(max_abs_diff(&r, &a.dot(&w).into_dyn()) < 1e-12);
    // 1-d @ 1-d: a 0-d inner product
    let r = ex().compute(&fw.matmul(&fw).unwrap()).unwrap();
    assert_eq!(r.ndim(), 0);
    assert!((r.first().unwrap() - w.dot(&w)).abs() < 1e-12);
}

#[test]
fn tensordot_contracts_several_axes() {
    let a3 = ArrayD::from_shape_fn(vec![3, 4, 5], |i| (i[0] * 20 + i[1] * 5 + i[2]) as f64 * 0.1 - 2.0);
    let b2 = mat(5, 3, 11);
    let fa = from_ndarray(&a3, vec![vec![1, 2], vec![4], vec![2, 3]]).unwrap();
    let fb = from_ndarray(&b2, vec![vec![3, 1, 1], vec![3]]).unwrap();
    // contract a's axes (0, 2) with b's (1, 0): result over a's axis 1
    let got = ex().compute(&tensordot(&fa, &fb, &[0, 2], &[1, 0]).unwrap()).unwrap();
    let exp = Array1::from_shape_fn(4, |j| {
        let mut s = 0.0;
        for i in 0..3 {
            for k in 0..5 {
                s += a3[[i, j, k]] * b2[(k, i)];
            }
        }
        s
    });
    assert!(max_abs_diff(&got, &exp.into_dyn()) < 1e-12);
    // no contracted axes: the outer product
    let v = from_ndarray(&Array1::from(vec![1.0, 2.0]), 1).unwrap();
    let o = ex().compute(&tensordot(&v, &v, &[], &[]).unwrap()).unwrap();
    assert_eq!(o, ndarray::arr2(&[[1.0, 2.0], [2.0, 4.0]]).into_dyn());
}

#[test]
fn integer_matmul_wraps_like_the_loop() {
    let a = Array2::from_shape_fn((4, 6), |(i, j)| (i as i64 * 7 - j as i64 * 3) * 1_000_000_007);
    let b = Array2::from_shape_fn((6, 3), |(i, j)| (i as i64 + 2 * j as i64 - 4) * 998_244_353);
    let fa = from_ndarray(&a, vec![vec![3, 1], vec![2, 2, 2]]).unwrap();
    let fb = from_ndarray(&b, vec![vec![4, 2], vec![3]]).unwrap();
    let got = ex().compute(&fa.matmul(&fb).unwrap()).unwrap();
    let exp = Array2::from_shape_fn((4, 3), |(i, j)| (0..6).fold(0i64, |s, p| s.wrapping_add(a[(i, p)].wrapping_mul(b[(p, j)]))));
    assert_eq!(got, exp.into_dyn());
}

#[test]
fn matmul_sums_block_products_as_a_tree() {
    // 9 contraction blocks, fan-in 2: groups of 2 products, then sums 5 → 3 → 2 → 1
    let a = floe::random::uniform([6, 18], 0.0, 1.0, [3, 2], 1).unwrap();
    let b = floe::random::uniform([18, 4], 0.0, 1.0, [2, 4], 2).unwrap();
    let c = a.matmul(&b).unwrap();
    let plan = ex().explain(&[c.node().clone()]);
    assert!(plan.contains("matmul tasks=10 grid=[2, 1, 5]"), "{plan}");
    assert!(plan.contains("matmul-sum tasks=6 grid=[2, 1, 3]"), "{plan}");
    assert!(plan.contains("matmul-sum-final tasks=2 grid=[2, 1]"), "{plan}");
    // no memory limit: each generated operand block is made once and held for its readers;
    // with a limit, product tasks make the blocks they read (nothing held between tasks)
    assert!(plan.contains("random-uniform tasks=18") && plan.contains("random-uniform tasks=9"), "{plan}");
    let bounded = Executor::cpu().split_every(2).memory_limit(1 << 30).explain(&[c.node().clone()]);
    assert!(!bounded.contains("random-uniform") && bounded.contains("matmul tasks=10"), "{bounded}");
    let (v, stats) = ex().compute_with_stats(&c).unwrap();
    assert_eq!(stats.tasks_named("matmul"), 10 + 6 + 4 + 2);
    let (av, bv) = (two(a.compute().unwrap()), two(b.compute().unwrap()));
    assert!(max_abs_diff(&v, &naive(&av, &bv).into_dyn()) < 1e-12);
    // the default fan-in (8): 9 blocks → 2 groups, one final sum
    let plan = c.explain();
    assert!(plan.contains("matmul tasks=4 grid=[2, 1, 2]") && plan.contains("matmul-sum-final tasks=2"), "{plan}");
}

#[test]
fn tsqr_tree_shape() {
    let a = floe::random::uniform([100, 4], 0.0, 1.0, [10, 4], 1).unwrap();
    let (q, r) = linalg::tsqr(&a).unwrap();
    let plan = ex().explain(&[q.node().clone(), r.node().clone()]);
    // 10 leaves, fan-in 2: 5, 3, 2, 1 combines; coefficients down 4 levels
    for want in ["tsqr-leaf tasks=10", "tsqr-combine tasks=5", "tsqr-combine tasks=3", "tsqr-combine tasks=2", "tsqr-combine tasks=1", "tsqr-r tasks=1", "tsqr-q tasks=10"] {
        assert!(plan.contains(want), "{want}: {plan}");
    }
    assert_eq!(plan.matches("tsqr-q-coef").count(), 4, "{plan}");
    // R alone: the Q layers do not run
    let (_, stats) = ex().compute_with_stats(&r).unwrap();
    assert_eq!(stats.tasks_named("tsqr-q"), 0);
    assert_eq!(stats.tasks_named("tsqr-leaf"), 10);
}

#[test]
fn svd_compressed_recovers_a_low_rank_matrix() {
    let (m, n, rank) = (60, 25, 3);
    let a = naive(&mat(m, rank, 1), &mat(rank, n, 2));
    let fa = from_ndarray(&a, vec![floe_regular(m, 16), floe_regular(n, 10)]).unwrap();
    let (u, s, vt) = linalg::svd_compressed(&fa, 3, 1, 42).unwrap();
    let v = ex().compute_many(&[&u, &s, &vt]).unwrap();
    let (u, s, vt) = (two(v[0].clone()), v[1].clone().into_dimensionality::<Ix1>().unwrap(), two(v[2].clone()));
    assert_eq!((u.dim(), s.len(), vt.dim()), ((m, 3), 3, (3, n)));
    let us = &u * &s.view().insert_axis(ndarray::Axis(0));
    assert!(fro(&(&a - &naive(&us, &vt))) / fro(&a) < 1e-10);
    let exp = faer_singular_values(&a);
    for i in 0..3 {
        assert!((s[i] - exp[i]).abs() < 1e-10 * exp[0], "{s:?} vs {exp:?}");
    }
    // same seed, same result
    let again = ex().compute(&linalg::svd_compressed(&fa, 3, 1, 42).unwrap().1).unwrap();
    assert_eq!(again, v[1]);
    // a full-rank matrix: the top singular values, approximately
    let b = mat(80, 30, 5);
    let fb = from_ndarray(&b, 20).unwrap();
    let s = ex().compute(&linalg::svd_compressed(&fb, 2, 3, 1).unwrap().1).unwrap();
    let exp = faer_singular_values(&b);
    assert!((s[0] - exp[0]).abs() < 0.05 * exp[0], "{s:?} vs {exp:?}");
}

#[test]
fn norm_is_frobenius() {
    let a = mat(7, 5, 3);
    let fa = from_ndarray(&a, 3).unwrap();
    let got = ex().compute(&linalg::norm(&fa).unwrap()).unwrap();
    assert!((got.first().unwrap() - fro(&a)).abs() < 1e-12);
    let v = from_ndarray(&Array1::from(vec![3.0f32, 4.0]), 1).unwrap();
    assert_eq!(*ex().compute(&linalg::norm(&v).unwrap()).unwrap().first().unwrap(), 5.0);
}

#[test]
fn errors_are_clear() {
    let a = from_ndarray(&mat(4, 3, 1), 2).unwrap();
    let b = from_ndarray(&mat(4, 3, 2), 2).unwrap();
    match a.matmul(&b) {
        Err(Error::Shape(m)) => assert!(m.contains("[4, 3]") && m.contains("[4, 3]") && m.contains("not aligned"), "{m}"),
        other => panic!("{other:?}"),
    }
    let c3 = from_ndarray(&ArrayD::<f64>::zeros(vec![2, 3, 4]), 2).unwrap();
    assert!(matches!(c3.matmul(&c3), Err(Error::NotImplemented(_))));
    assert!(matches!(tensordot(&a, &b, &[1], &[0]), Err(Error::Shape(_))));
    assert!(matches!(tensordot(&a, &b, &[2], &[0]), Err(Error::Axis { .. })));
    let bools = from_ndarray(&Array2::from_elem((2, 2), true), 1).unwrap();
    assert!(matches!(bools.matmul(&bools), Err(Error::DType(_))));
    // not square
    assert!(matches!(linalg::cholesky(&a), Err(Error::Shape(_))));
    assert!(matches!(linalg::inv(&a), Err(Error::Shape(_))));
    assert!(matches!(linalg::solve(&a, &b), Err(Error::Shape(_))));
    // not positive definite, singular: found when computed
    let npd = from_ndarray(&ndarray::arr2(&[[1.0, 2.0], [2.0, 1.0]]), 1).unwrap();
    match ex().compute(&linalg::cholesky(&npd).unwrap()) {
        Err(Error::Value(m)) => assert!(m.contains("not positive definite"), "{m}"),
        other => panic!("{other:?}"),
    }
    let sing = from_ndarray(&ndarray::arr2(&[[1.0, 2.0], [2.0, 4.0]]), 1).unwrap();
    match ex().compute(&linalg::inv(&sing).unwrap()) {
        Err(Error::Value(m)) => assert!(m.contains("singular"), "{m}"),
        other => panic!("{other:?}"),
    }
    let rhs = from_ndarray(&Array1::from(vec![1.0, 1.0]), 1).unwrap();
    assert!(matches!(ex().compute(&linalg::solve(&sing, &rhs).unwrap()), Err(Error::Value(_))));
    // a square matrix of several column blocks is not tall-skinny
    let sq = floe::zeros::<f64>([600, 600], 100).unwrap();
    assert!(matches!(linalg::qr(&sq), Err(Error::NotImplemented(_))));
    assert!(matches!(linalg::svd(&sq), Err(Error::NotImplemented(_))));
    // rank-deficient least squares
    let rd = from_ndarray(&ndarray::arr2(&[[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]]), 3).unwrap();
    let y = from_ndarray(&Array1::from(vec![1.0, 2.0, 3.0]), 3).unwrap();
    assert!(matches!(ex().compute(&linalg::lstsq(&rd, &y).unwrap()), Err(Error::Value(_))));
    assert!(matches!(linalg::svd_compressed(&a, 0, 0, 1), Err(Error::Value(_))));
}


#[test]
fn f32_factorizations() {
    let a = mat(30, 4, 8).mapv(|x| x as f32);
    let fa = from_ndarray(&a, vec![vec![7, 1, 0, 12, 10], vec![2, 2]]).unwrap();
    let (q, r) = linalg::qr(&fa).unwrap();
    let v = ex().compute_many(&[&q, &r]).unwrap();
    let (q, r) = (v[0].clone().into_dimensionality::<Ix2>().unwrap(), v[1].clone().into_dimensionality::<Ix2>().unwrap());
    let err = (&a - &q.dot(&r)).iter().fold(0.0f32, |m, x| m.max(x.abs()));
    assert!(err < 1e-5, "{err}");
    let s = ex().compute(&linalg::svd(&fa).unwrap().1).unwrap();
    let exp = faer_singular_values(&a.mapv(|x| x as f64));
    for i in 0..4 {
        assert!((s[i] as f64 - exp[i]).abs() < 1e-4 * exp[0], "{s:?} vs {exp:?}");
    }
}

#[test]
fn cholesky_plan_and_column_rechunk() {
    let n = 10;
    let m = mat(n, n, 4);
    let a = naive(&m, &m.t().to_owned()) + Array2::<f64>::eye(n) * 3.0;
    // columns chunked differently from the rows: made like the rows
    let fa = from_ndarray(&a, vec![vec![4, 3, 3], vec![5, 5]]).unwrap();
    let l = linalg::cholesky(&fa).unwrap();
    assert_eq!(l.chunks().to_vec(), vec![vec![4, 3, 3], vec![4, 3, 3]]);
    let plan = l.explain();
    assert!(plan.contains("cholesky tasks=9 grid=[3, 3]"), "{plan}");
    let (v, stats) = ex().compute_with_stats(&l).unwrap();
    assert_eq!(stats.tasks_named("cholesky"), 9);
    let l = two(v);
    assert!(fro(&(&a - &naive(&l, &l.t().to_owned()))) / fro(&a) < 1e-12);
}

#[test]
fn svd_plan_runs_only_the_r_tree_for_singular_values() {
    let x = floe::random::uniform([400, 8], 0.0, 1.0, [50, 8], 1).unwrap();
    let (_u, s, _vt) = linalg::svd(&x).unwrap();
    let (v, stats) = Executor::cpu().threads(2).compute_with_stats(&s).unwrap();
    assert_eq!(v.len(), 8);
    assert_eq!(stats.tasks_named("tsqr-leaf"), 8);
    assert_eq!(stats.tasks_named("tsqr-combine"), 1);
    assert_eq!(stats.tasks_named("tsqr-q"), 0);
    assert_eq!(stats.tasks_named("dense-svd_s"), 1);
}
