//! Blocked LU solve from Zarr, measured: `solve(a, b)` of a matrix stored
//! in Zarr, the result written to a new store under a memory limit. As in
//! tests/linalg_memory.rs, children (this binary run again with one test
//! selected) report their own peak RSS (VmHWM) and the executor's peak of
//! bytes held; the parent checks both.
//!
//! What this shows: no task needs the whole matrix (the old one-task LU
//! needed three copies of it, 3 × 18 MiB, and was refused under this
//! limit); the factorization holds its trailing matrix and the U rows
//! already made, which together stay about the size of the matrix, so the
//! limit must still be somewhat above the matrix's size (there is no
//! spilling of intermediates to disk).

mod rss;

use rss::*;

use floe::{Executor, ZarrWriteOptions};

/// A: N × N f64 (18 MiB), blocks of 192 × 192 (288 KiB), 8 block columns.
const N: usize = 1536;
const BLOCK: usize = 192;
/// Right-hand sides.
const NRHS: usize = 32;
const LIMIT: u64 = 28 << 20;
const SLACK: u64 = 48 << 20;

fn ex() -> Executor {
    Executor::cpu().threads(2).memory_limit(LIMIT)
}

#[test]
#[ignore = "run by lu_memory_parent in a child process"]
fn child_generate() {
    // diagonally weighted so that the system is well conditioned; pivoting still happens
    let r = floe::random::uniform([N, N], -1.0, 1.0, BLOCK, 1).unwrap();
    let a = &r + &(floe::eye::<f64>(N, BLOCK).unwrap() * 8.0);
    let b = floe::random::uniform([N, NRHS], -1.0, 1.0, [BLOCK, NRHS], 2).unwrap();
    ex().to_zarr(&a, dir().join("a.zarr")).unwrap();
    ex().to_zarr(&b, dir().join("b.zarr")).unwrap();
    report_peak();
}

#[test]
#[ignore = "run by lu_memory_parent in a child process"]
fn child_solve() {
    let a = floe::open_zarr::<f64>(dir().join("a.zarr")).unwrap();
    let b = floe::open_zarr::<f64>(dir().join("b.zarr")).unwrap();
    let x = floe::linalg::solve(&a, &b).unwrap();
    let stats = ex().to_zarr_with(&x, dir().join("x.zarr"), &ZarrWriteOptions::default()).unwrap();
    println!("PEAK={} VMHWM={}", stats.peak_bytes, vm_hwm_bytes());
}

/// Peak RSS and the executor's peak of bytes held, as the child printed them.
fn run_child_peaks(name: &str, d: &std::path::Path) -> (u64, u64) {
    let stdout = run_child_output(name, d);
    let hwm = field(&stdout, "VMHWM=").unwrap_or_else(|| panic!("{name} did not report its peak RSS:
{stdout}"));
    (hwm, field(&stdout, "PEAK=").unwrap_or(0))
}

#[test]
fn lu_memory_parent() {
    if !measurable() {
        return;
    }
    let d = scratch("lu-rss");
    let gen = run_child("child_generate", &d);
    let (solve, peak) = run_child_peaks("child_solve", &d);
    let each = (N * N * 8) as u64;
    eprintln!(
        "A {} MiB ({BLOCK}-blocks), limit {} MiB: peak RSS generate {} MiB, solve {} MiB (executor held at most {} MiB)",
        each >> 20,
        LIMIT >> 20,
        gen >> 20,
        solve >> 20,
        peak >> 20
    );
    // residual of the stored solution, against the stored inputs
    let a = floe::open_zarr::<f64>(d.join("a.zarr")).unwrap().compute().unwrap().into_dimensionality::<ndarray::Ix2>().unwrap();
    let b = floe::open_zarr::<f64>(d.join("b.zarr")).unwrap().compute().unwrap().into_dimensionality::<ndarray::Ix2>().unwrap();
    let x = floe::open_zarr::<f64>(d.join("x.zarr")).unwrap().compute().unwrap().into_dimensionality::<ndarray::Ix2>().unwrap();
    let resid = (a.dot(&x) - &b).iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(resid < 1e-10, "max |a x - b| = {resid}");
    let _ = std::fs::remove_dir_all(&d);
    // the one-task LU would have needed three copies of the matrix in one task
    assert!(3 * each > LIMIT);
    assert!(peak <= LIMIT, "executor held {} MiB > limit {} MiB", peak >> 20, LIMIT >> 20);
    assert!(gen <= LIMIT + SLACK, "generate: peak RSS {} MiB > limit + {} MiB", gen >> 20, SLACK >> 20);
    assert!(solve <= LIMIT + SLACK, "solve: peak RSS {} MiB > limit + {} MiB", solve >> 20, SLACK >> 20);
}
