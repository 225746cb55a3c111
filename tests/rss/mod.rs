//! Peak RSS measured in a child process, shared by the memory tests
//! (`memory_rss.rs`, `linalg_memory.rs`, ...). A parent test runs its own
//! test binary again with one ignored child test selected; the child does
//! the work and prints its peak RSS (VmHWM) with [`report_peak`]; the
//! parent reads it back from [`run_child`]. Files pass between them through
//! the scratch directory named by `FLOE_RSS_DIR`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The scratch directory the parent gave this child.
pub fn dir() -> PathBuf {
    PathBuf::from(std::env::var("FLOE_RSS_DIR").expect("set by the parent"))
}

/// This process's peak resident set size (VmHWM), in bytes; 0 where
/// /proc is missing.
pub fn vm_hwm_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<u64>().ok())
        .map(|k| k * 1024)
        .unwrap_or(0)
}

/// Print the peak RSS for the parent (the last thing a child does).
pub fn report_peak() {
    println!("VMHWM={}", vm_hwm_bytes());
}

/// Whether peak RSS can be measured here (Linux /proc); prints why not.
pub fn measurable() -> bool {
    let ok = Path::new("/proc/self/status").exists();
    if !ok {
        eprintln!("skipping: peak RSS is read from /proc (Linux only)");
    }
    ok
}

/// A fresh, empty scratch directory for one parent test.
pub fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("floe-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Run child test `name` of this binary with scratch directory `d`; its
/// standard output. A failing child fails the parent with its output.
pub fn run_child_output(name: &str, d: &Path) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--include-ignored", "--nocapture", "--test-threads", "1"])
        .env("FLOE_RSS_DIR", d)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{name} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// The number printed as `KEY=number` in a child's output.
pub fn field(stdout: &str, key: &str) -> Option<u64> {
    stdout.lines().find_map(|l| l.split(key).nth(1)).and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Run child test `name` with scratch directory `d`; its peak RSS in bytes.
pub fn run_child(name: &str, d: &Path) -> u64 {
    let stdout = run_child_output(name, d);
    field(&stdout, "VMHWM=").unwrap_or_else(|| panic!("{name} did not report its peak RSS:\n{stdout}"))
}
