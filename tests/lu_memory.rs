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

use std::path::PathBuf;
use std::process::Command;

use floe::{Executor, ZarrWriteOptions};

/// A: N × N f64 (18 MiB), blocks of 192 × 192 (288 KiB), 8 block columns.
const N: usize = 1536;
const BLOCK: usize = 192;
/// Right-hand sides.
const NRHS: usize = 32;
const LIMIT: u64 = 28 << 20;
const SLACK: u64 = 48 << 20;

fn dir() -> PathBuf {
    PathBuf::from(std::env::var("FLOE_RSS_DIR").expect("set by the parent"))
}

fn vm_hwm_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<u64>().ok())
        .map(|k| k * 1024)
        .unwrap_or(0)
}

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
    println!("VMHWM={}", vm_hwm_bytes());
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

fn run_child(name: &str, d: &std::path::Path) -> (u64, u64) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--include-ignored", "--nocapture", "--test-threads", "1"])
        .env("FLOE_RSS_DIR", d)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{name} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let field = |key: &str| -> Option<u64> { stdout.lines().find_map(|l| l.split(key).nth(1)).and_then(|v| v.split_whitespace().next()?.parse().ok()) };
    let hwm = field("VMHWM=").unwrap_or_else(|| panic!("{name} did not report its peak RSS:\n{stdout}"));
    (hwm, field("PEAK=").unwrap_or(0))
}

#[test]
fn lu_memory_parent() {
    if !std::path::Path::new("/proc/self/status").exists() {
        eprintln!("skipping: peak RSS is read from /proc (Linux only)");
        return;
    }
    let d = std::env::temp_dir().join(format!("floe-lu-rss-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let (gen, _) = run_child("child_generate", &d);
    let (solve, peak) = run_child("child_solve", &d);
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
