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
    assert!(matches!(c3.matmul(&c3), Err(Error::Shape(_))));
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

// ---- blocked LU, solve, inv, solve_triangular -------------------------------------------

fn lu_case() -> impl Strategy<Value = (usize, Vec<usize>, Vec<usize>, u64)> {
    (0usize..13, any::<u64>()).prop_flat_map(|(n, s)| (Just(n), partition(n), partition(n), Just(s)))
}

/// Checks of one computed factorization `a = p l u`.
fn check_plu(a: &Array2<f64>, p: &Array2<f64>, l: &Array2<f64>, u: &Array2<f64>, piv: &[i64], tol: f64) -> Result<(), TestCaseError> {
    let n = a.nrows();
    prop_assert_eq!(p.dim(), (n, n));
    prop_assert_eq!(l.dim(), (n, n));
    prop_assert_eq!(u.dim(), (n, n));
    for i in 0..n {
        prop_assert_eq!(l[(i, i)], 1.0, "L has a unit diagonal");
        for j in i + 1..n {
            prop_assert_eq!(l[(i, j)], 0.0, "L is lower triangular");
            prop_assert_eq!(u[(j, i)], 0.0, "U is upper triangular");
        }
        // partial pivoting: |l| <= 1
        for j in 0..i {
            prop_assert!(l[(i, j)].abs() <= 1.0 + 1e-12);
        }
    }
    // p is the permutation matrix of the pivot indices
    let mut seen = vec![false; n];
    for (r, &x) in piv.iter().enumerate() {
        prop_assert!(!seen[x as usize]);
        seen[x as usize] = true;
        for i in 0..n {
            prop_assert_eq!(p[(i, r)], if i == x as usize { 1.0 } else { 0.0 });
        }
    }
    let plu = naive(p, &naive(l, u));
    prop_assert!(fro(&(&plu - a)) <= tol * fro(a).max(1e-300), "‖PLU − A‖ = {}", fro(&(&plu - a)));
    Ok(())
}

proptest! {
    #![proptest_config(cfg(48))]
    #[test]
    fn lu_factors_over_irregular_chunkings((n, rows, cols, seed) in lu_case()) {
        let a = mat(n, n, seed);
        let fa = from_ndarray(&a, vec![rows, cols]).unwrap();
        let (p, l, u) = linalg::lu(&fa).unwrap();
        let piv = linalg::lu_pivots(&fa).unwrap();
        let v = ex().compute_many(&[&p, &l, &u]).unwrap();
        let piv = ex().compute(&piv).unwrap();
        let (p, l, u) = (two(v[0].clone()), two(v[1].clone()), two(v[2].clone()));
        check_plu(&a, &p, &l, &u, piv.as_slice().unwrap(), 1e-12)?;
        // f32 through the same plan
        let a32 = a.mapv(|x| x as f32);
        let (p32, l32, u32) = linalg::lu(&from_ndarray(&a32, fa.chunks().to_vec()).unwrap()).unwrap();
        let v = ex().compute_many(&[&p32, &l32, &u32]).unwrap();
        let f = |x: &ArrayD<f32>| two(x.mapv(|y| y as f64));
        let plu = naive(&f(&v[0]), &naive(&f(&v[1]), &f(&v[2])));
        prop_assert!(fro(&(&plu - &a)) <= 1e-5 * fro(&a).max(1e-30));
    }

    #[test]
    fn blocked_solve_and_inv_residuals((n, rows, cols, seed, m, vector) in (1usize..14, any::<u64>(), 1usize..4, any::<bool>())
        .prop_flat_map(|(n, s, m, v)| (Just(n), partition(n), partition(n), Just(s), Just(m), Just(v)))) {
        // no diagonal boost: pivoting is needed
        let a = mat(n, n, seed);
        let fa = from_ndarray(&a, vec![rows.clone(), cols]).unwrap();
        let b = mat(n, m, seed ^ 3);
        let x = if vector {
            let bv = b.column(0).to_owned();
            let fb = from_ndarray(&bv, vec![rows.clone()]).unwrap();
            let x = ex().compute(&linalg::solve(&fa, &fb).unwrap()).unwrap();
            prop_assert_eq!(x.shape(), &[n][..]);
            x.into_shape_with_order((n, 1)).unwrap().into_dimensionality::<Ix2>().unwrap()
        } else {
            let fb = from_ndarray(&b, vec![floe_regular(n, 3), floe_regular(m, 2)]).unwrap();
            two(ex().compute(&linalg::solve(&fa, &fb).unwrap()).unwrap())
        };
        let b = if vector { b.slice(ndarray::s![.., ..1]).to_owned() } else { b };
        let resid = fro(&(naive(&a, &x) - &b));
        prop_assert!(resid <= 1e-11 * (fro(&a) * fro(&x) + fro(&b)), "residual {resid}");
        let ai = ex().compute(&linalg::inv(&fa).unwrap()).unwrap();
        prop_assert_eq!(ai.shape(), &[n, n][..]);
        let ai = two(ai);
        let e = fro(&(naive(&ai, &a) - Array2::<f64>::eye(n)));
        prop_assert!(e <= 1e-11 * fro(&a) * fro(&ai), "‖inv(A)·A − I‖ = {e}");
    }

    #[test]
    fn solve_triangular_matches_substitution((n, rows, cols, seed, lower) in (0usize..13, any::<u64>(), any::<bool>())
        .prop_flat_map(|(n, s, lo)| (Just(n), partition(n), partition(n), Just(s), Just(lo)))) {
        // garbage in the other triangle: it must not be read
        let t = mat(n, n, seed) + Array2::<f64>::eye(n) * 3.0;
        let b = mat(n, 2, seed ^ 1);
        let fa = from_ndarray(&t, vec![rows.clone(), cols]).unwrap();
        let fb = from_ndarray(&b, vec![rows, vec![1, 1]]).unwrap();
        let x = two(ex().compute(&linalg::solve_triangular(&fa, &fb, lower).unwrap()).unwrap());
        // oracle: plain substitution
        let mut e = Array2::<f64>::zeros((n, 2));
        for c in 0..2 {
            let order: Vec<usize> = if lower { (0..n).collect() } else { (0..n).rev().collect() };
            for &i in &order {
                let mut s = b[(i, c)];
                for j in 0..n {
                    if (lower && j < i) || (!lower && j > i) {
                        s -= t[(i, j)] * e[(j, c)];
                    }
                }
                e[(i, c)] = s / t[(i, i)];
            }
        }
        prop_assert!(max_abs_diff(&x.into_dyn(), &e.into_dyn()) < 1e-10);
    }
}

#[test]
fn lu_plan_has_no_task_reading_the_whole_matrix() {
    let n = 64;
    let a = floe::random::uniform([n, n], -1.0, 1.0, [8, 8], 3).unwrap();
    let (p, l, u) = linalg::lu(&a).unwrap();
    let b = floe::random::uniform([n, 3], -1.0, 1.0, [8, 3], 4).unwrap();
    let x = linalg::solve(&a, &b).unwrap();
    let matrix_bytes = (n * n * 8) as u64;
    for roots in [vec![p.node().clone(), l.node().clone(), u.node().clone()], vec![x.node().clone()]] {
        let plan = ex().explain(&roots);
        assert!(plan.contains("lu-step tasks=64 grid=[8, 8]"), "{plan}");
        let tasks = plan.split("-- tasks --").nth(1).unwrap();
        for line in tasks.lines().filter(|l| l.contains("block<=")) {
            let bytes: u64 = line.split("block<=").nth(1).and_then(|s| s.split('B').next()).and_then(|s| s.parse().ok()).unwrap();
            // a step task holds about two block columns (2 · 64 · 8 elements)
            assert!(bytes * 3 < matrix_bytes, "{line}: {bytes} B of a {matrix_bytes} B matrix");
        }
    }
    // 8 panels, 28 column updates; solve: 8 steps of the right-hand side, 8 triangular-solve blocks, no L or P
    let (xv, stats) = ex().compute_with_stats(&x).unwrap();
    assert_eq!(stats.tasks_named("lu-step"), 36);
    assert_eq!(stats.tasks_named("lu-rhs"), 8);
    assert_eq!(stats.tasks_named("solve-triangular-upper"), 8);
    assert_eq!(stats.tasks_named("lu-l") + stats.tasks_named("lu-p") + stats.tasks_named("lu-perm"), 0);
    let (av, bv) = (two(a.compute().unwrap()), two(b.compute().unwrap()));
    assert!(fro(&(naive(&av, &two(xv)) - &bv)) < 1e-10);
    // a memory limit of a few block columns is enough to plan it (one-task LU needed 3 whole matrices)
    assert!(Executor::cpu().memory_limit(matrix_bytes / 2).plan(&[x.node().clone()]).is_ok());
}

#[test]
fn lu_errors_are_clear() {
    // singular, found at run time, in a later block column
    let mut s = mat(6, 6, 1);
    let r = s.row(1).to_owned();
    s.row_mut(4).assign(&(&r * 2.0));
    let fs = from_ndarray(&s, 2).unwrap();
    let b = from_ndarray(&mat(6, 1, 2), 2).unwrap();
    for res in [ex().compute(&linalg::solve(&fs, &b).unwrap()), ex().compute(&linalg::inv(&fs).unwrap()), ex().compute(&linalg::lu(&fs).unwrap().2)] {
        match res {
            Err(Error::Value(m)) => assert!(m.contains("singular"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
    let z = floe::zeros::<f64>([5, 5], 2).unwrap();
    assert!(matches!(ex().compute(&linalg::lu(&z).unwrap().2), Err(Error::Value(_))));
    let nan = from_ndarray(&ndarray::arr2(&[[1.0, f64::NAN], [0.0, 1.0]]), 1).unwrap();
    assert!(matches!(ex().compute(&linalg::inv(&nan).unwrap()), Err(Error::Value(_))));
    // non-square, wrong rank, mismatched right-hand sides
    let rect = from_ndarray(&mat(4, 3, 1), 2).unwrap();
    assert!(matches!(linalg::lu(&rect), Err(Error::NotImplemented(_))));
    assert!(matches!(linalg::lu(&from_ndarray(&Array1::from(vec![1.0, 2.0]), 1).unwrap()), Err(Error::Shape(_))));
    assert!(matches!(linalg::solve(&rect, &b), Err(Error::Shape(_))));
    assert!(matches!(linalg::solve_triangular(&rect, &b, true), Err(Error::Shape(_))));
    let sq = from_ndarray(&mat(6, 6, 3), 2).unwrap();
    let short = from_ndarray(&mat(5, 1, 2), 2).unwrap();
    match linalg::solve(&sq, &short) {
        Err(Error::Shape(m)) => assert!(m.contains("[5, 1]") && m.contains("[6, 6]"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(linalg::solve_triangular(&sq, &short, false), Err(Error::Shape(_))));
    let b3 = from_ndarray(&ArrayD::<f64>::zeros(vec![6, 1, 1]), 2).unwrap();
    assert!(matches!(linalg::solve(&sq, &b3), Err(Error::Shape(_))));
    // a zero on the diagonal of a triangular matrix
    let mut t = Array2::<f64>::eye(4);
    t[(2, 2)] = 0.0;
    let ft = from_ndarray(&t, 2).unwrap();
    let bt = from_ndarray(&Array1::from(vec![1.0; 4]), 2).unwrap();
    match ex().compute(&linalg::solve_triangular(&ft, &bt, true).unwrap()) {
        Err(Error::Value(m)) => assert!(m.contains("singular") && m.contains("diagonal element 2"), "{m}"),
        other => panic!("{other:?}"),
    }
}

// ---- batched matmul ---------------------------------------------------------------------

/// NumPy's matmul on plain ndarrays: batch axes broadcast (right-aligned),
/// 1-d operands promoted and their axis removed.
fn matmul_oracle(a: &ArrayD<f64>, b: &ArrayD<f64>) -> ArrayD<f64> {
    let (na, nb) = (a.ndim(), b.ndim());
    let a2 = if na == 1 { a.clone().insert_axis(ndarray::Axis(0)) } else { a.clone() };
    let b2 = if nb == 1 { b.clone().insert_axis(ndarray::Axis(1)) } else { b.clone() };
    let (ma, mb) = (a2.ndim(), b2.ndim());
    let nbatch = (ma - 2).max(mb - 2);
    let mut batch = vec![1usize; nbatch];
    for (t, x) in batch.iter_mut().enumerate() {
        let da = (t + (ma - 2) >= nbatch).then(|| a2.shape()[t + (ma - 2) - nbatch]).unwrap_or(1);
        let db = (t + (mb - 2) >= nbatch).then(|| b2.shape()[t + (mb - 2) - nbatch]).unwrap_or(1);
        *x = if da == 1 { db } else { da };
    }
    let (m, k, n) = (a2.shape()[ma - 2], a2.shape()[ma - 1], b2.shape()[mb - 1]);
    let mut shape = batch.clone();
    shape.extend([m, n]);
    let out = ArrayD::from_shape_fn(shape, |ix| {
        let ix = ndarray::Dimension::slice(&ix).to_vec();
        let pick = |x: &ArrayD<f64>, nd: usize, r: usize, c: usize| {
            let mut idx: Vec<usize> = (0..nd - 2).map(|t| if x.shape()[t] == 1 { 0 } else { ix[t + nbatch - (nd - 2)] }).collect();
            idx.extend([r, c]);
            x[idx.as_slice()]
        };
        (0..k).map(|p| pick(&a2, ma, ix[nbatch], p) * pick(&b2, mb, p, ix[nbatch + 1])).sum()
    });
    let nd = out.ndim();
    let out = if na == 1 { out.index_axis_move(ndarray::Axis(nd - 2), 0) } else { out };
    let last = out.ndim().saturating_sub(1);
    if nb == 1 { out.index_axis_move(ndarray::Axis(last), 0) } else { out }
}

fn arr_nd(shape: &[usize], seed: u64) -> ArrayD<f64> {
    let n: usize = shape.iter().product();
    ArrayD::from_shape_vec(shape.to_vec(), mat(1, n, seed).into_raw_vec_and_offset().0).unwrap()
}

/// Shapes of a batched product: a's and b's batch axes (each 1 or the common length), m, k, n.
fn batch_case() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, u64, u64)> {
    (0usize..3, 0usize..3, proptest::collection::vec(0usize..4, 2), 0usize..5, 0usize..5, 0usize..5, any::<u64>(), any::<u64>())
        .prop_map(|(ba, bb, lens, m, k, n, pick, seed)| {
            // a's and b's batch axes, right-aligned, each either the length or 1 (broadcast)
            let mk = |nb: usize, bit: u64| -> Vec<usize> {
                (0..nb).map(|t| { let len = lens[2 - nb + t]; if (pick >> (bit + t as u64)) & 1 == 1 { 1 } else { len } }).collect()
            };
            let mut sa = mk(ba, 0);
            let mut sb = mk(bb, 8);
            // at least one operand of 3 or more dimensions
            if sa.is_empty() && sb.is_empty() { sa.push(lens[1]); }
            sa.extend([m, k]);
            sb.extend([k, n]);
            (sa, sb, pick, seed)
        })
}

fn random_chunks(shape: &[usize], seed: u64) -> Vec<Vec<usize>> {
    shape.iter().enumerate().map(|(t, &len)| {
        let b = 1 + ((seed >> (4 * t)) as usize % 3);
        floe_regular(len, b)
    }).collect()
}

proptest! {
    #![proptest_config(cfg(60))]
    #[test]
    fn batched_matmul_matches_numpy_rules((sa, sb, pick, seed) in batch_case()) {
        let a = arr_nd(&sa, seed);
        let b = arr_nd(&sb, seed ^ 5);
        let fa = from_ndarray(&a, random_chunks(&sa, pick)).unwrap();
        let fb = from_ndarray(&b, random_chunks(&sb, pick >> 20)).unwrap();
        let c = fa.matmul(&fb).unwrap();
        let exp = matmul_oracle(&a, &b);
        prop_assert_eq!(c.shape(), exp.shape());
        let got = ex().compute(&c).unwrap();
        prop_assert!(max_abs_diff(&got, &exp) < 1e-12, "{got:?} vs {exp:?}");
        // integers wrap through the loop kernel, f32 through faer
        let ai = a.mapv(|x| (x * 10.0) as i64);
        let bi = b.mapv(|x| (x * 10.0) as i64);
        let gi = ex().compute(&from_ndarray(&ai, fa.chunks().to_vec()).unwrap().matmul(&from_ndarray(&bi, fb.chunks().to_vec()).unwrap()).unwrap()).unwrap();
        let ei = matmul_oracle(&ai.mapv(|x| x as f64), &bi.mapv(|x| x as f64));
        prop_assert_eq!(gi.mapv(|x| x as f64), ei);
        let g32 = ex().compute(&from_ndarray(&a.mapv(|x| x as f32), fa.chunks().to_vec()).unwrap().matmul(&from_ndarray(&b.mapv(|x| x as f32), fb.chunks().to_vec()).unwrap()).unwrap()).unwrap();
        prop_assert!(max_abs_diff(&g32.mapv(|x| x as f64), &exp) < 1e-4);
    }
}

#[test]
fn batched_matmul_vectors_plan_and_errors() {
    // a 1-d operand against a stack: its axis is removed from the result
    let s = arr_nd(&[3, 4, 5], 1);
    let v = arr_nd(&[5], 2);
    let w = arr_nd(&[4], 3);
    let fs = from_ndarray(&s, vec![vec![1, 2], vec![4], vec![2, 3]]).unwrap();
    let fv = from_ndarray(&v, vec![vec![3, 2]]).unwrap();
    let fw = from_ndarray(&w, 2).unwrap();
    let r = ex().compute(&fs.matmul(&fv).unwrap()).unwrap();
    assert_eq!(r.shape(), &[3, 4]);
    assert!(max_abs_diff(&r, &matmul_oracle(&s, &v)) < 1e-12);
    let r = ex().compute(&fw.matmul(&fs).unwrap()).unwrap();
    assert_eq!(r.shape(), &[3, 5]);
    assert!(max_abs_diff(&r, &matmul_oracle(&w, &s)) < 1e-12);
    // blocked over the batch blocks: 6 batch blocks × 2 row blocks, 5 k blocks summed as a tree (fan-in 2)
    let a = floe::random::uniform([6, 4, 10], 0.0, 1.0, [1, 2, 2], 1).unwrap();
    let b = floe::random::uniform([10, 3], 0.0, 1.0, [2, 3], 2).unwrap();
    let c = a.matmul(&b).unwrap();
    assert_eq!(c.shape(), &[6, 4, 3]);
    let plan = ex().explain(&[c.node().clone()]);
    assert!(plan.contains("matmul tasks=36 grid=[6, 2, 1, 3]"), "{plan}");
    assert!(plan.contains("matmul-sum-final tasks=12 grid=[6, 2, 1]"), "{plan}");
    let got = ex().compute(&c).unwrap();
    assert!(max_abs_diff(&got, &matmul_oracle(&a.compute().unwrap(), &b.compute().unwrap())) < 1e-12);
    // errors: contracted lengths, batch shapes that do not broadcast, bool
    let x = from_ndarray(&ArrayD::<f64>::zeros(vec![2, 3, 4]), 2).unwrap();
    let y = from_ndarray(&ArrayD::<f64>::zeros(vec![3, 5, 2]), 2).unwrap();
    match x.matmul(&y) {
        Err(Error::Shape(m)) => assert!(m.contains("not aligned"), "{m}"),
        other => panic!("{other:?}"),
    }
    let z = from_ndarray(&ArrayD::<f64>::zeros(vec![3, 4, 2]), 2).unwrap();
    match x.matmul(&z) {
        Err(Error::Shape(m)) => assert!(m.contains("broadcast"), "{m}"),
        other => panic!("{other:?}"),
    }
    let bools = from_ndarray(&ArrayD::from_elem(vec![2, 2, 2], true), 1).unwrap();
    assert!(matches!(bools.matmul(&bools), Err(Error::DType(_))));
}

#[test]
fn lu_with_size_one_blocks_and_many_block_columns() {
    // every block 1 × 1: a step per row; then a larger matrix with irregular blocks
    for (n, rows, cols) in [(7, vec![1; 7], vec![1; 7]), (45, vec![7, 1, 13, 0, 9, 15], vec![20, 25])] {
        let a = mat(n, n, n as u64);
        let fa = from_ndarray(&a, vec![rows, cols]).unwrap();
        let (p, l, u) = linalg::lu(&fa).unwrap();
        let v = ex().compute_many(&[&p, &l, &u]).unwrap();
        let piv = ex().compute(&linalg::lu_pivots(&fa).unwrap()).unwrap();
        let (p, l, u) = (two(v[0].clone()), two(v[1].clone()), two(v[2].clone()));
        check_plu(&a, &p, &l, &u, piv.as_slice().unwrap(), 1e-12).unwrap();
        // the same pivots as an unblocked partial-pivoting LU (faer on the whole matrix)
        let m = faer::Mat::from_fn(n, n, |i, j| a[(i, j)]);
        let lu = m.partial_piv_lu();
        let (fwd, _) = lu.P().arrays();
        assert_eq!(piv.iter().map(|&x| x as usize).collect::<Vec<_>>(), fwd.to_vec());
        let b = mat(n, 2, 9);
        let x = two(ex().compute(&linalg::solve(&fa, &from_ndarray(&b, 4).unwrap()).unwrap()).unwrap());
        assert!(fro(&(naive(&a, &x) - &b)) < 1e-10 * fro(&a) * fro(&x));
    }
}
