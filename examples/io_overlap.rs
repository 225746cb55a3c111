//! Does overlapping I/O with compute pay? Wall time of the same runs with
//! `io_threads(0)` (tasks read and write their chunks themselves) and
//! `io_threads(2).write_behind(true)` (read-ahead and write-behind), over a zstd Zarr store:
//!
//! - `read`: store → `sum(|sin(x) · cos(x)|, axis 0)` (decode + a moderately
//!   expensive per-chunk program);
//! - `copy`: store → `x · 2 + 1` → store (decode, encode with zstd 3, write);
//! - the same with a simulated slow store (`Executor::read_latency`: every
//!   chunk read waits first, as on a network file system or object store).
//!
//! ```text
//! cargo run --release --example io_overlap -- [--mb 256] [--latency-ms 20] [--repeat 3] [--threads N]
//! ```
//!
//! Prints one line per run: configuration, median seconds, blocks read
//! ahead / written behind.

#[global_allocator]
static ALLOC: floe::HugePageAlloc = floe::HugePageAlloc;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use floe::{Executor, ZarrCodec, ZarrWriteOptions};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Cleanup(PathBuf);
impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Median seconds of `repeat` runs of `f`, and the stats of the last.
fn time(repeat: u64, mut f: impl FnMut() -> floe::Result<floe::Stats>) -> floe::Result<(f64, floe::Stats)> {
    let mut secs = Vec::new();
    let mut last = None;
    for _ in 0..repeat {
        let t = Instant::now();
        let s = f()?;
        secs.push(t.elapsed().as_secs_f64());
        last = Some(s);
    }
    Ok((median(secs), last.unwrap_or_default()))
}

fn main() -> floe::Result<()> {
    let mb = arg("--mb", 256) as usize;
    let latency = Duration::from_millis(arg("--latency-ms", 20));
    let repeat = arg("--repeat", 3).max(1);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as u64;
    let threads = arg("--threads", cores) as usize;
    let dir = std::env::temp_dir().join(format!("floe-io-overlap-{}", std::process::id()));
    let _c = Cleanup(dir.clone());
    // f32 (n, 512, 512) in (8, 512, 512) chunks: 8 MiB each
    let n = (mb << 20) / (512 * 512 * 4);
    let input = dir.join("in.zarr");
    let field = floe::random::normal([n, 512, 512], 280.0, 5.0, [8, 512, 512], 3)?.cast::<f32>();
    Executor::cpu().to_zarr_with(&field, &input, &ZarrWriteOptions::new().codec(ZarrCodec::Zstd { level: 3 }))?;
    let stored: u64 = walk_bytes(&input);
    println!(
        "input: f32 ({n}, 512, 512) = {} MiB in {} chunks of 8 MiB, zstd 3 ({} MiB on disk); {threads} worker threads, median of {repeat}",
        mb,
        n / 8,
        stored >> 20
    );
    let x = floe::open_zarr::<f32>(&input)?;
    let reduced = (x.sin() * x.cos()).abs().sum(0)?;
    let copied = &(&x * 2.0) + 1.0;
    let out = dir.join("out.zarr");
    for lat in [Duration::ZERO, latency] {
        for io in [0, 2] {
            let e = Executor::cpu().threads(threads).io_threads(io).write_behind(io > 0).read_latency(lat);
            let (s, st) = time(repeat, || e.compute_with_stats(&reduced).map(|(_, s)| s))?;
            report("read", lat, io, s, &st);
            let o = ZarrWriteOptions::new().overwrite(true);
            let (s, st) = time(repeat, || e.to_zarr_with(&copied, &out, &o))?;
            report("copy", lat, io, s, &st);
        }
    }
    Ok(())
}

fn report(what: &str, lat: Duration, io: usize, s: f64, st: &floe::Stats) {
    println!(
        "{what:4}  latency {:3} ms  io_threads {io}  {s:7.3} s  (read ahead {}, written behind {})",
        lat.as_millis(),
        st.prefetched_blocks,
        st.written_behind_blocks
    );
}

fn walk_bytes(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else { return std::fs::metadata(p).map(|m| m.len()).unwrap_or(0) };
    rd.flatten().map(|e| walk_bytes(&e.path())).sum()
}
