//! floe's side of the benchmark workloads (shared/BENCHMARKS.md).
//!
//! ```text
//! cargo run --release --example workloads -- W1 --size small|full [--threads N] [--data DIR] [--explain] [--device cpu|cuda]
//! ```
//!
//! `--device cuda` runs on `Executor::cuda(0)` (build with `--features cuda`).
//!
//! Runs ONE workload in this process and prints ONE JSON line on stdout:
//! `{"engine":"floe","workload":"W1","size":"small","seconds":0.12,"result":...,"chunks":16,...}`.
//! A workload floe cannot do yet (an `Err`, or a panic) prints
//! `{"engine":"floe","workload":..,"error":"..."}` and still exits 0, so the
//! harness (`benches/harness/run.py`) can put it in its table.
//!
//! Workloads: W1 W2a W2b W3 W4 W5 W6 W7 W7M FUSED. What is timed follows
//! BENCHMARKS.md: graph build is inside the timer for every workload except
//! FUSED, which times only the compute over arrays already in memory.



#[global_allocator]
static ALLOC: floe::HugePageAlloc = floe::HugePageAlloc;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use floe::{Array, Boundary, Executor};
use ndarray::{ArrayD, ArrayViewD, IxDyn};

type Res<T> = std::result::Result<T, Box<dyn std::error::Error>>;

// ------------------------------------------------------------------ JSON out
enum Val {
    Num(f64),
    Int(u64),
    Str(String),
    Null,
}

impl From<f64> for Val {
    fn from(x: f64) -> Self {
        Val::Num(x)
    }
}
impl From<usize> for Val {
    fn from(x: usize) -> Self {
        Val::Int(x as u64)
    }
}
impl From<&str> for Val {
    fn from(x: &str) -> Self {
        Val::Str(x.to_string())
    }
}
impl From<String> for Val {
    fn from(x: String) -> Self {
        Val::Str(x)
    }
}
impl From<Option<f64>> for Val {
    fn from(x: Option<f64>) -> Self {
        x.map_or(Val::Null, Val::Num)
    }
}

#[derive(Default)]
struct Out(Vec<(String, Val)>);

impl Out {
    fn put(&mut self, k: &str, v: impl Into<Val>) -> &mut Self {
        self.0.retain(|(key, _)| key != k);
        self.0.push((k.to_string(), v.into()));
        self
    }
    fn json(&self) -> String {
        let mut s = String::from("{");
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, "{}:", quote(k));
            match v {
                Val::Num(x) if x.is_finite() => {
                    let _ = write!(s, "{x:?}");
                }
                Val::Num(_) | Val::Null => s.push_str("null"),
                Val::Int(x) => {
                    let _ = write!(s, "{x}");
                }
                Val::Str(t) => s.push_str(&quote(t)),
            }
        }
        s.push('}');
        s
    }
}

fn quote(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\t' => q.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(q, "\\u{:04x}", c as u32);
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

// ------------------------------------------------------------------ settings
#[derive(Clone, Copy, PartialEq)]
enum Size {
    Small,
    Full,
}

struct Cfg {
    workload: String,
    size: Size,
    threads: Option<usize>,
    data: PathBuf,
    explain: bool,
    chunk: Option<usize>,
    /// `--device cuda`: the GPU executor (feature `cuda`) instead of the CPU.
    cuda: bool,
}

impl Cfg {
    fn pick<T>(&self, small: T, full: T) -> T {
        match self.size {
            Size::Small => small,
            Size::Full => full,
        }
    }
    fn executor(&self) -> Executor {
        if self.cuda {
            return Executor::cuda(0).unwrap_or_else(|e| {
                println!("{{\"engine\":\"floe-cuda\",\"workload\":\"{}\",\"error\":\"{}\"}}", self.workload, e.to_string().replace('"', "'"));
                std::process::exit(0)
            });
        }
        match self.threads {
            Some(n) => Executor::cpu().threads(n),
            None => Executor::cpu(),
        }
    }
    fn size_name(&self) -> &'static str {
        self.pick("small", "full")
    }
    fn show<T: floe::Element>(&self, a: &Array<T>) {
        if self.explain {
            eprintln!("{}", a.explain());
        }
    }
}

const USAGE: &str = "usage: workloads W1|W2a|W2b|W3|W4|W5|W6|W7|W7M|FUSED [--size small|full] \
                     [--threads N] [--data DIR] [--chunk ELEMS] [--explain] [--device cpu|cuda]";

fn parse_args() -> std::result::Result<Cfg, String> {
    let mut args = std::env::args().skip(1);
    let mut cfg = Cfg {
        workload: String::new(),
        size: Size::Small,
        threads: None,
        data: Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("bench-out")
            .join("data"),
        explain: false,
        chunk: None,
        cuda: false,
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--size" => {
                cfg.size = match args.next().as_deref() {
                    Some("small") => Size::Small,
                    Some("full") => Size::Full,
                    other => return Err(format!("bad --size {other:?}")),
                }
            }
            "--threads" => {
                let n = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("bad --threads")?;
                cfg.threads = Some(n);
            }
            "--chunk" => {
                let n = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("bad --chunk")?;
                cfg.chunk = Some(n);
            }
            "--data" => cfg.data = PathBuf::from(args.next().ok_or("missing --data DIR")?),
            "--explain" => cfg.explain = true,
            "--device" => {
                cfg.cuda = match args.next().as_deref() {
                    Some("cpu") => false,
                    Some("cuda") => true,
                    other => return Err(format!("bad --device {other:?} (cpu or cuda)")),
                }
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            w if !w.starts_with('-') && cfg.workload.is_empty() => cfg.workload = w.to_string(),
            other => return Err(format!("unexpected argument {other:?}; {USAGE}")),
        }
    }
    if cfg.workload.is_empty() {
        return Err(USAGE.to_string());
    }
    Ok(cfg)
}

// ------------------------------------------------------------------ helpers
fn scalar<T: Copy + Into<f64>>(a: &ArrayD<T>) -> Option<f64> {
    a.iter().next().map(|&x| x.into())
}

fn sum_f64<T: Copy + Into<f64>>(a: &ArrayD<T>) -> f64 {
    a.iter().map(|&x| x.into()).sum()
}

fn nblocks<T: floe::Element>(a: &Array<T>) -> usize {
    a.numblocks().iter().product()
}

fn scratch(cfg: &Cfg, name: &str) -> PathBuf {
    let dir = cfg.data.parent().unwrap_or(Path::new(".")).join("tmp");
    let _ = std::fs::create_dir_all(&dir);
    let p = dir.join(format!("floe-{}-{name}.zarr", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    p
}

fn store(cfg: &Cfg, stem: &str) -> Res<PathBuf> {
    let p = cfg.data.join(format!("{stem}_{}.zarr", cfg.size_name()));
    if !p.join("zarr.json").exists() {
        return Err(format!(
            "input store {} missing: run `benches/harness/make_data.py --size {}` (run.py does)",
            p.display(),
            cfg.size_name()
        )
        .into());
    }
    Ok(p)
}

// ------------------------------------------------------------------ workloads
/// W1: sum(abs(sin(x)*2 + y*y - 1)), x, y ~ U[0,1) generated inside the graph.
fn w1(cfg: &Cfg, out: &mut Out) -> Res<f64> {
    let (n, c) = cfg.pick((2000, 500), (20000, 2000));
    let ex = cfg.executor();
    let t = Instant::now();
    let x = floe::random::uniform([n, n], 0.0, 1.0, c, 1)?;
    let y = floe::random::uniform([n, n], 0.0, 1.0, c, 2)?;
    let e = (x.sin() * 2.0 + &y * &y - 1.0).abs();
    let s = e.sum(..)?;
    cfg.show(&s);
    let r = ex.compute(&s)?;
    let secs = t.elapsed().as_secs_f64();
    out.put("result", scalar(&r))
        .put("chunks", nblocks(&x))
        .put("gbps", 2.0 * 8.0 * (n * n) as f64 / secs / 1e9);
    Ok(secs)
}

/// W2a: x - x.mean(0), then .std(0) of that anomaly, written to a new Zarr v3 store.
fn w2a(cfg: &Cfg, out: &mut Out) -> Res<f64> {
    let src = store(cfg, "w2")?;
    let dst = scratch(cfg, "w2a");
    let ex = cfg.executor();
    let t = Instant::now();
    let x = floe::open_zarr::<f32>(&src)?;
    let m = x.mean(0)?;
    let anom = x.try_sub(&m)?;
    let sd = anom.std(0, 0)?;
    cfg.show(&sd);
    ex.to_zarr(&sd, &dst)?;
    let secs = t.elapsed().as_secs_f64();
    let back = floe::open_zarr::<f32>(&dst).and_then(|a| ex.compute(&a));
    let _ = std::fs::remove_dir_all(&dst);
    out.put("result", sum_f64(&back?))
        .put("chunks", nblocks(&x));
    Ok(secs)
}

/// W2b: x.mean((1, 2)) -> a series along time.
fn w2b(cfg: &Cfg, out: &mut Out) -> Res<f64> {
    let src = store(cfg, "w2")?;
    let ex = cfg.executor();
    let t = Instant::now();
    let x = floe::open_zarr::<f32>(&src)?;
    let m = x.mean([1, 2])?;
    cfg.show(&m);
    let r = ex.compute(&m)?;
    let secs = t.elapsed().as_secs_f64();
    out.put("result", sum_f64(&r))
        .put("len", r.len())
        .put("chunks", nblocks(&x));
    Ok(secs)
}

/// 5-point Laplacian of the interior of a block grown by 1 on each side.
fn laplace_grown(b: ArrayViewD<f64>) -> ArrayD<f64> {
    let sh = b.shape().to_vec();
    let mut o = ArrayD::<f64>::zeros(IxDyn(&sh));
    if sh.len() == 2 && sh[0] >= 3 && sh[1] >= 3 {
        let b2 = b.into_dimensionality::<ndarray::Ix2>().expect("2-d block");
        let mut o2 = o
            .view_mut()
            .into_dimensionality::<ndarray::Ix2>()
            .expect("2-d block");
        // row slices, so the inner loop has no index checks and vectorizes
        // (the grown block is a standard-layout array)
        let m = sh[1];
        for i in 1..sh[0] - 1 {
            let (up, mid, dn) = (b2.row(i - 1), b2.row(i), b2.row(i + 1));
            let (up, mid, dn) = (
                up.as_slice().expect("contiguous rows"),
                mid.as_slice().expect("contiguous rows"),
                dn.as_slice().expect("contiguous rows"),
            );
            let mut row = o2.row_mut(i);
            let out = row.as_slice_mut().expect("contiguous rows");
            for j in 1..m - 1 {
                out[j] = up[j] + dn[j] + mid[j - 1] + mid[j + 1] - 4.0 * mid[j];
            }
        }
    }
    o
}

/// W5: 5-point Laplacian via map_overlap (depth 1, zero boundary), then sum.
fn w5(cfg: &Cfg, out: &mut Out) -> Res<f64> {
    let (n, c) = cfg.pick((2000, 500), (10000, 2500));
    let ex = cfg.executor();
    let t = Instant::now();
    let x = floe::random::uniform([n, n], 0.0, 1.0, c, 1)?;
    let lap: Array<f64> = x.map_overlap(&[1, 1], Boundary::Constant(0.0), laplace_grown)?;
    let s = lap.sum(..)?;
    cfg.show(&s);
    let r = ex.compute(&s)?;
    let secs = t.elapsed().as_secs_f64();
    out.put("result", scalar(&r)).put("chunks", nblocks(&x));
    Ok(secs)
}

/// W3 and W4: matrix product and TSQR-based SVD (`floe::linalg`).
mod linalg_workloads {
    use super::*;

    /// W3: (A @ B).sum(), A, B ~ U[0,1) in the graph.
    pub fn w3(cfg: &Cfg, out: &mut Out) -> Res<f64> {
        let (n, c) = cfg.pick((2000, 500), (8000, 2000));
        let ex = cfg.executor();
        let t = Instant::now();
        let a = floe::random::uniform([n, n], 0.0, 1.0, c, 1)?;
        let b = floe::random::uniform([n, n], 0.0, 1.0, c, 2)?;
        let s = a.matmul(&b)?.sum(..)?;
        cfg.show(&s);
        let r = ex.compute(&s)?;
        let secs = t.elapsed().as_secs_f64();
        out.put("result", scalar(&r))
            .put("gflops", 2.0 * (n as f64).powi(3) / secs / 1e9);
        Ok(secs)
    }

    /// W4: singular values of a tall-skinny X ~ U[0,1) (TSQR-based SVD).
    pub fn w4(cfg: &Cfg, out: &mut Out) -> Res<f64> {
        let (m, cm) = cfg.pick((200_000, 10_000), (2_000_000, 100_000));
        let ex = cfg.executor();
        let t = Instant::now();
        let x = floe::random::uniform([m, 64], 0.0, 1.0, [cm, 64], 1)?;
        let (_u, s, _vt) = floe::linalg::svd(&x)?;
        cfg.show(&s);
        let r = ex.compute(&s)?;
        let secs = t.elapsed().as_secs_f64();
        let first = r.iter().next().copied();
        let last = r.iter().last().copied();
        out.put("result", first)
            .put("s_min", last)
            .put("chunks", nblocks(&x));
        Ok(secs)
    }
}
use linalg_workloads::{w3, w4};

/// W6: rechunk a Zarr v3 f64 array from (n, k) column chunks to (k, n) row
/// chunks, write a new store — with `Executor::rechunk_zarr` under 512 MiB
/// (through an intermediate store when a direct copy cannot fit).
fn w6(cfg: &Cfg, out: &mut Out) -> Res<f64> {
    let src = store(cfg, "w6")?;
    let dst = scratch(cfg, "w6");
    let target = cfg.pick([20, 2000], [100, 10000]);
    let ex = cfg.executor();
    let t = Instant::now();
    let report = ex.rechunk_zarr(src.as_ref(), dst.as_ref(), &target, 512 << 20, true)?;
    let secs = t.elapsed().as_secs_f64();
    // checksum: the sum of the first row, as peers.py reports it (reading
    // only that row, so the peak RSS is the rechunk's)
    let row0 = floe::open_zarr::<f64>(&dst).and_then(|a| a.slice(floe::s![0, ..])?.sum(..)).and_then(|s| ex.compute(&s));
    let _ = std::fs::remove_dir_all(&dst);
    out.put("result", scalar(&row0?))
        .put("stages", report.stages.len())
        .put("intermediate", if report.intermediate_chunks.is_some() { "yes" } else { "no" });
    Ok(secs)
}

/// W7 / W7M: (ones((n, n), chunks 10) + 1).sum(): scheduling overhead per task.
fn w7(cfg: &Cfg, out: &mut Out, n: usize) -> Res<f64> {
    let ex = cfg.executor();
    let t = Instant::now();
    let a = floe::ones::<f64>([n, n], 10)? + 1.0;
    let s = a.sum(..)?;
    let built = t.elapsed().as_secs_f64();
    cfg.show(&s);
    let r = ex.compute(&s)?;
    let secs = t.elapsed().as_secs_f64();
    let k = nblocks(&a);
    out.put("result", scalar(&r))
        .put("chunks", k)
        .put("tasks_per_s", k as f64 / secs)
        .put("build_s", built);
    Ok(secs)
}

const FUSED_N: usize = 25_000_000; // 200 MB of f64 per array, as the STREAM triad
const FUSED_REPS: usize = 5;

/// FUSED: `b + c * 3.0` over two 200 MB in-memory f64 arrays; only the compute is timed.
/// GB/s counts 3 arrays x 8 bytes per element, as STREAM's triad does.
fn fused(cfg: &Cfg, out: &mut Out) -> Res<f64> {
    let n = FUSED_N;
    let chunk = cfg.chunk.unwrap_or(1_000_000);
    let b = ndarray::Array1::from_shape_fn(n, |i| (i % 1000) as f64 * 1e-3);
    let c = ndarray::Array1::from_shape_fn(n, |i| (i % 777) as f64 * 1e-3);
    let fb = floe::from_ndarray(&b, chunk)?;
    let fc = floe::from_ndarray(&c, chunk)?;
    let ex = cfg.executor();
    let triad = &fb + &(&fc * 3.0);
    cfg.show(&triad);
    let mut times = Vec::with_capacity(FUSED_REPS);
    let mut check = 0.0;
    for _ in 0..FUSED_REPS {
        let t = Instant::now();
        let r = ex.compute(&triad)?;
        times.push(t.elapsed().as_secs_f64());
        check = r[[n / 2]];
        drop(r);
    }
    let expect = b[n / 2] + 3.0 * c[n / 2];
    if (check - expect).abs() > 1e-9 {
        return Err(format!("FUSED wrong value at {}: {check} != {expect}", n / 2).into());
    }
    let first = times[0];
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let best = times[0];
    out.put("result", check)
        .put("gbps", 3.0 * 8.0 * n as f64 / best / 1e9)
        .put("first_s", first)
        .put("median_s", times[FUSED_REPS / 2])
        .put("chunks", nblocks(&fb))
        .put("chunk_elems", chunk);
    Ok(best)
}

fn run(cfg: &Cfg, out: &mut Out) -> Res<f64> {
    match cfg.workload.to_ascii_uppercase().as_str() {
        "W1" => w1(cfg, out),
        "W2A" => w2a(cfg, out),
        "W2B" => w2b(cfg, out),
        "W3" => w3(cfg, out),
        "W4" => w4(cfg, out),
        "W5" => w5(cfg, out),
        "W6" => w6(cfg, out),
        "W7" => w7(cfg, out, cfg.pick(200, 1000)),
        "W7M" => w7(cfg, out, 10_000), // 1,000,000 chunks at both sizes
        "FUSED" => fused(cfg, out),
        other => Err(format!("unknown workload {other}").into()),
    }
}

fn canonical(w: &str) -> String {
    match w.to_ascii_uppercase().as_str() {
        "W2A" => "W2a".into(),
        "W2B" => "W2b".into(),
        u => u.to_string(),
    }
}

static PANIC_MSG: Mutex<Option<String>> = Mutex::new(None);

fn main() {
    let cfg = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    // Keep the first panic message (any thread) for the error JSON instead of printing it.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let mut g = PANIC_MSG.lock().unwrap_or_else(|e| e.into_inner());
        if g.is_none() {
            *g = Some(format!("{msg}{at}"));
        }
    }));

    let mut out = Out::default();
    out.put("engine", if cfg.cuda { "floe-cuda" } else { "floe" })
        .put("workload", canonical(&cfg.workload))
        .put("size", cfg.size_name());
    if let Some(n) = cfg.threads {
        out.put("threads", n);
    }
    let mut extra = Out::default();
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&cfg, &mut extra)));
    match res {
        Ok(Ok(secs)) => {
            out.put("seconds", secs);
            out.0.append(&mut extra.0);
        }
        Ok(Err(e)) => {
            out.put("error", e.to_string());
        }
        Err(_) => {
            let msg = PANIC_MSG.lock().unwrap_or_else(|e| e.into_inner()).take();
            out.put(
                "error",
                format!("panic: {}", msg.unwrap_or_else(|| "unknown".into())),
            );
        }
    }
    println!("{}", out.json());
}
