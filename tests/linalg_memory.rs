//! Out-of-core linear algebra, measured: two Zarr-stored matrices, each
//! larger than the memory limit, multiplied and written to a new store under
//! that limit; and the TSQR of a tall Zarr-stored matrix larger than the
//! limit, Q written to a store. Children (this binary run again with one
//! test selected, see tests/rss) report their own peak RSS (VmHWM); the
//! parent checks it and the results.

mod rss;

use rss::*;
use floe::Executor;

const LIMIT: u64 = 16 << 20;
const SLACK: u64 = 48 << 20;
/// A: M × K, B: K × N, f64 (32 MiB each), blocks of 512 × 512 (2 MiB).
const M: usize = 4096;
const K: usize = 1024;
const N: usize = 4096;
const BLOCK: usize = 512;
/// The tall matrix of the TSQR: T_M × T_N f64 (32 MiB), row blocks of
/// T_BLOCK rows (2 MiB).
const T_M: usize = 65536;
const T_N: usize = 64;
const T_BLOCK: usize = 4096;

fn ex() -> Executor {
    Executor::cpu().threads(2).memory_limit(LIMIT)
}

#[test]
#[ignore = "run by linalg_memory_parent in a child process"]
fn child_generate() {
    let a = floe::random::uniform([M, K], -1.0, 1.0, BLOCK, 1).unwrap();
    let b = floe::random::uniform([K, N], -1.0, 1.0, BLOCK, 2).unwrap();
    ex().to_zarr(&a, dir().join("a.zarr")).unwrap();
    ex().to_zarr(&b, dir().join("b.zarr")).unwrap();
    report_peak();
}

#[test]
#[ignore = "run by linalg_memory_parent in a child process"]
fn child_matmul() {
    let a = floe::open_zarr::<f64>(dir().join("a.zarr")).unwrap();
    let b = floe::open_zarr::<f64>(dir().join("b.zarr")).unwrap();
    let c = a.matmul(&b).unwrap();
    ex().to_zarr(&c, dir().join("c.zarr")).unwrap();
    report_peak();
}

#[test]
#[ignore = "run by tsqr_memory_parent in a child process"]
fn child_generate_tall() {
    let a = floe::random::uniform([T_M, T_N], -1.0, 1.0, [T_BLOCK, T_N], 3).unwrap();
    ex().to_zarr(&a, dir().join("tall.zarr")).unwrap();
    report_peak();
}

#[test]
#[ignore = "run by tsqr_memory_parent in a child process"]
fn child_tsqr() {
    let a = floe::open_zarr::<f64>(dir().join("tall.zarr")).unwrap();
    let (q, r) = floe::linalg::tsqr(&a).unwrap();
    ex().to_zarr(&q, dir().join("q.zarr")).unwrap();
    ex().to_zarr(&r, dir().join("r.zarr")).unwrap();
    report_peak();
}

#[test]
fn tsqr_memory_parent() {
    if !measurable() {
        return;
    }
    let d = scratch("tsqr-rss");
    let gen = run_child("child_generate_tall", &d);
    let qr = run_child("child_tsqr", &d);
    let bytes = (T_M * T_N * 8) as u64;
    eprintln!(
        "A {} MiB ({} row blocks), limit {} MiB: peak RSS generate {} MiB, tsqr {} MiB",
        bytes >> 20,
        T_M / T_BLOCK,
        LIMIT >> 20,
        gen >> 20,
        qr >> 20
    );
    let a = floe::open_zarr::<f64>(d.join("tall.zarr")).unwrap();
    let q = floe::open_zarr::<f64>(d.join("q.zarr")).unwrap();
    let r = floe::open_zarr::<f64>(d.join("r.zarr")).unwrap().compute().unwrap();
    assert_eq!((q.shape(), r.shape()), (&[T_M, T_N][..], &[T_N, T_N][..]));
    // R upper triangular; QᵀQ = I; rows of A are rows of Q times R
    assert!(r.indexed_iter().all(|(ix, &v)| ix[0] <= ix[1] || v == 0.0), "R is not upper triangular");
    let qtq = q.t().matmul(&q).unwrap().compute().unwrap();
    let off = qtq.indexed_iter().map(|(ix, &v)| (v - if ix[0] == ix[1] { 1.0 } else { 0.0 }).abs()).fold(0.0, f64::max);
    assert!(off < 1e-10, "max |QᵀQ - I| = {off}");
    let r2 = r.view().into_dimensionality::<ndarray::Ix2>().unwrap();
    for i in [0, 4095, 4096, 40_000, T_M - 1] {
        let ar = a.slice(floe::s![i..i + 1, ..]).unwrap().compute().unwrap();
        let qr_row = q.slice(floe::s![i..i + 1, ..]).unwrap().compute().unwrap().into_dimensionality::<ndarray::Ix2>().unwrap().dot(&r2);
        let err = ar.iter().zip(qr_row.iter()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
        assert!(err < 1e-10, "row {i}: max |A - QR| {err}");
    }
    let _ = std::fs::remove_dir_all(&d);
    assert!(bytes > LIMIT);
    assert!(gen <= LIMIT + SLACK, "generate: peak RSS {} MiB > limit + {} MiB", gen >> 20, SLACK >> 20);
    assert!(qr <= LIMIT + SLACK, "tsqr: peak RSS {} MiB > limit + {} MiB", qr >> 20, SLACK >> 20);
}

#[test]
fn linalg_memory_parent() {
    if !measurable() {
        return;
    }
    let d = scratch("linalg-rss");
    let gen = run_child("child_generate", &d);
    let mm = run_child("child_matmul", &d);
    let each = (M * K * 8) as u64;
    eprintln!(
        "A, B {} MiB each, C {} MiB, limit {} MiB: peak RSS generate {} MiB, matmul {} MiB",
        each >> 20,
        (M * N * 8) >> 20,
        LIMIT >> 20,
        gen >> 20,
        mm >> 20
    );
    // check rows of the result against products of the stored rows
    let a = floe::open_zarr::<f64>(d.join("a.zarr")).unwrap();
    let b = floe::open_zarr::<f64>(d.join("b.zarr")).unwrap().compute().unwrap();
    let c = floe::open_zarr::<f64>(d.join("c.zarr")).unwrap();
    assert_eq!(c.shape(), &[M, N]);
    for i in [0, 1234, M - 1] {
        let ar = a.slice(floe::s![i..i + 1, ..]).unwrap().compute().unwrap();
        let cr = c.slice(floe::s![i..i + 1, ..]).unwrap().compute().unwrap();
        let b2 = b.view().into_dimensionality::<ndarray::Ix2>().unwrap();
        let exp = ar.into_dimensionality::<ndarray::Ix2>().unwrap().dot(&b2);
        let err = exp.iter().zip(cr.iter()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
        assert!(err < 1e-9, "row {i}: max error {err}");
    }
    let _ = std::fs::remove_dir_all(&d);
    assert!(each > LIMIT);
    assert!(gen <= LIMIT + SLACK, "generate: peak RSS {} MiB > limit + {} MiB", gen >> 20, SLACK >> 20);
    assert!(mm <= LIMIT + SLACK, "matmul: peak RSS {} MiB > limit + {} MiB", mm >> 20, SLACK >> 20);
}

/// Under a memory limit the Q tasks repeat the leaf QR instead of holding
/// the leaf Q factors: the same Q and R, bit for bit, as without a limit,
/// over irregular row blocks (size 1, short and empty blocks included).
#[test]
fn tsqr_under_a_limit_gives_the_same_q_and_r() {
    for (rows, seed) in [(vec![5, 1, 7, 3, 9, 2, 8, 4, 6, 3, 5], 1), (vec![40], 2), (vec![3, 0, 12, 1, 20], 3)] {
        let m: usize = rows.iter().sum();
        let a = floe::random::uniform([m, 3], -1.0, 1.0, [m.max(1), 3], seed).unwrap();
        let a = a.rechunk(floe::ChunkSpec::Explicit(vec![rows.clone(), vec![3]])).unwrap();
        let (q, r) = floe::linalg::tsqr(&a).unwrap();
        let free = Executor::cpu().threads(2).split_every(2);
        let bounded = free.clone().memory_limit(1 << 20);
        let (q0, r0) = (free.compute(&q).unwrap(), free.compute(&r).unwrap());
        let (q1, r1) = (bounded.compute(&q).unwrap(), bounded.compute(&r).unwrap());
        assert_eq!(q0, q1, "rows {rows:?}");
        assert_eq!(r0, r1, "rows {rows:?}");
    }
}
