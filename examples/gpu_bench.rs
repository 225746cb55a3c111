//! floe's GPU benchmarks (feature `cuda`; on a machine with an NVIDIA GPU):
//!
//! ```text
//! cargo run --release --features cuda --example gpu_bench [-- --quick]
//! ```
//!
//! Everything is measured in this one process on one card, so the ratios
//! compare like with like:
//!
//! 1. bandwidth — a device-to-device copy (the ceiling) beside floe's
//!    generated kernels for fused programs over inputs already on the device
//!    (`x*2 + y` in f64 and f32, and W1's chain `abs(sin(x)*2 + y*y - 1)`);
//! 2. matrix products — cuBLAS GEMM called directly on one n×n block beside
//!    floe's block product (the call a matmul task makes per pair of
//!    blocks, overwriting and accumulating) and floe's `(a @ b).sum()` end
//!    to end on `Executor::cuda(0)` (a, b
//!    generated on the device, blocked, the block products summed on the
//!    device), in f64 and f32.
//!
//! Prints a table and one JSON line per measurement (`"bench": ...`).

#[cfg(feature = "cuda")]
fn main() {
    if let Err(e) = gpu::main() {
        eprintln!("gpu_bench: {e}");
        std::process::exit(1);
    }
}

#[cfg(not(feature = "cuda"))]
fn main() {
    eprintln!("gpu_bench needs the GPU executor: cargo run --release --features cuda --example gpu_bench");
    std::process::exit(2);
}

#[cfg(feature = "cuda")]
mod gpu {
    use std::sync::Arc;
    use std::time::Instant;

    use floe::dtype::Scalar;
    use floe::exec::cuda::bench::{self, Measure};
    use floe::exec::cuda::Device;
    use floe::expr::{BinaryOp, Program, UnaryOp};
    use floe::{DType, Executor};

    type Res<T> = std::result::Result<T, Box<dyn std::error::Error>>;

    fn json(name: &str, m: &Measure, unit: &str, extra: &str) {
        println!(
            "{{\"bench\":\"{name}\",\"seconds\":{:.6e},\"best\":{:.6e},\"rate\":{:.2},\"host_seconds\":{:.6e},\"host_rate\":{:.2},\"unit\":\"{unit}\"{extra}}}",
            m.seconds,
            m.best,
            m.rate_g(),
            m.host_seconds,
            m.host_rate_g()
        );
    }

    /// x*2 + y over two inputs of type `d`.
    fn triad(d: DType) -> Program {
        let mut p = Program::with_inputs(vec![d, d]);
        let (x, y) = (p.input(0), p.input(1));
        let two = p.constant(Scalar::F64(2.0).cast(d));
        let t = p.binary(BinaryOp::Mul, x, two);
        let r = p.binary(BinaryOp::Add, t, y);
        p.finish(r)
    }

    /// W1's chain: abs(sin(x)*2 + y*y - 1) in f64.
    fn w1_chain() -> Program {
        let mut p = Program::with_inputs(vec![DType::F64, DType::F64]);
        let (x, y) = (p.input(0), p.input(1));
        let s = p.unary(UnaryOp::Sin, x);
        let two = p.constant(Scalar::F64(2.0));
        let s2 = p.binary(BinaryOp::Mul, s, two);
        let yy = p.binary(BinaryOp::Mul, y, y);
        let a = p.binary(BinaryOp::Add, s2, yy);
        let one = p.constant(Scalar::F64(1.0));
        let d = p.binary(BinaryOp::Sub, a, one);
        let r = p.unary(UnaryOp::Abs, d);
        p.finish(r)
    }

    /// floe's `(a @ b).sum()` on the GPU, a and b n×n U[0,1) in blocks of
    /// `chunk`: seconds of the second run (the first compiles the kernels
    /// and creates the cuBLAS handle), and the device tasks.
    fn floe_matmul(ex: &Executor, d: DType, n: usize, chunk: usize) -> Res<(f64, usize)> {
        let mut best = (f64::INFINITY, 0);
        for run in 0..3 {
            let t = Instant::now();
            let a = floe::random::uniform([n, n], 0.0, 1.0, chunk, 1)?;
            let b = floe::random::uniform([n, n], 0.0, 1.0, chunk, 2)?;
            let st = match d {
                DType::F32 => ex.compute_with_stats(&a.cast::<f32>().matmul(&b.cast::<f32>())?.sum(..)?)?.1,
                _ => ex.compute_with_stats(&a.matmul(&b)?.sum(..)?)?.1,
            };
            let s = t.elapsed().as_secs_f64();
            if run > 0 && s < best.0 {
                best = (s, st.device_tasks);
            }
        }
        Ok(best)
    }

    pub fn main() -> Res<()> {
        let quick = std::env::args().any(|a| a == "--quick");
        let dev = Device::open(0)?;
        println!("# card: {} ({} MiB)", dev.name(), dev.total_mem() >> 20);
        let (n, reps, batch) = if quick { (1 << 24, 5, 5) } else { (1 << 27, 11, 10) };

        // 1. bandwidth
        let copy = bench::copy(&dev, n * 8, reps, batch)?;
        json("copy_f64", &copy, "GB/s", &format!(",\"bytes\":{}", n * 8));
        let mut rows = vec![("device copy (read + write)".to_string(), copy.rate_g(), 1.0, copy.host_rate_g())];
        // the identity (one read, one write, as the copy) tells the kernel's
        // own cost from that of the traffic mix (two reads per write)
        let x = Arc::new(bench::random_block(&dev, DType::F64, &[n], 3)?);
        let m = bench::fused(&dev, &Program::identity(DType::F64), &[x], &[n], reps, batch)?;
        json("fused identity f64", &m, "GB/s", &format!(",\"of_copy\":{:.3}", m.rate_g() / copy.rate_g()));
        rows.push(("fused identity f64".to_string(), m.rate_g(), m.rate_g() / copy.rate_g(), m.host_rate_g()));
        for (name, d, prog) in [
            ("x*2+y f64", DType::F64, triad(DType::F64)),
            ("x*2+y f32", DType::F32, triad(DType::F32)),
            ("abs(sin(x)*2+y*y-1) f64", DType::F64, w1_chain()),
        ] {
            let x = Arc::new(bench::random_block(&dev, d, &[n], 1)?);
            let y = Arc::new(bench::random_block(&dev, d, &[n], 2)?);
            let m = bench::fused(&dev, &prog, &[x, y], &[n], reps, batch)?;
            json(&format!("fused {name}"), &m, "GB/s", &format!(",\"of_copy\":{:.3}", m.rate_g() / copy.rate_g()));
            rows.push((format!("fused {name}"), m.rate_g(), m.rate_g() / copy.rate_g(), m.host_rate_g()));
        }
        println!(
            "\n| {:<32} | {:>9} | {:>8} | {:>14} |",
            "bandwidth, elements: 2^".to_string() + &n.trailing_zeros().to_string(),
            "GB/s",
            "of copy",
            "host-timed GB/s"
        );
        println!("|{:-<34}|{:->11}|{:->10}|{:->16}|", "", "", "", "");
        for (name, r, f, h) in &rows {
            println!("| {name:<32} | {r:>9.0} | {:>7.0}% | {h:>14.0} |", f * 100.0);
        }

        // grid size: blocks of 256 threads, grid-stride (the executor caps at 8192)
        let x = Arc::new(bench::random_block(&dev, DType::F64, &[n], 1)?);
        let y = Arc::new(bench::random_block(&dev, DType::F64, &[n], 2)?);
        println!("\n| {:<32} | {:>9} | {:>8} |", "x*2+y f64, most blocks", "GB/s", "of copy");
        println!("|{:-<34}|{:->11}|{:->10}|", "", "", "");
        for blocks in [264, 1056, 2112, 8192, 65_535, usize::MAX] {
            let m = bench::fused_grid(&dev, &triad(DType::F64), &[x.clone(), y.clone()], &[n], reps, batch, blocks)?;
            let label = if blocks == usize::MAX { "n / 2 / 256 (one step)".to_string() } else { blocks.to_string() };
            json(&format!("fused x*2+y f64 blocks {label}"), &m, "GB/s", &format!(",\"of_copy\":{:.3}", m.rate_g() / copy.rate_g()));
            println!("| {label:<32} | {:>9.0} | {:>7.0}% |", m.rate_g(), 100.0 * m.rate_g() / copy.rate_g());
        }
        drop((x, y));

        // host <-> device: pinned copies (the ceiling) and floe end to end
        // on a block in host memory: x*2+1 of a from_ndarray array, the
        // result back on the host (uploads, kernels and downloads overlap
        // across blocks on two streams)
        let tb = if quick { 64 << 20 } else { 1 << 30 };
        let (up, down) = bench::host_copies(&dev, tb, reps.min(5))?;
        json("pinned_h2d", &up, "GB/s", "");
        json("pinned_d2h", &down, "GB/s", "");
        let ex = Executor::cuda(0)?;
        let host = ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[tb / 8]), |i| (i[0] % 1000) as f64 * 0.001);
        let mut rows_t = vec![
            ("pinned copy host -> device".to_string(), up.rate_g()),
            ("pinned copy device -> host".to_string(), down.rate_g()),
        ];
        for chunk in [tb / 8, tb / 8 / 16] {
            let x = floe::from_ndarray(&host, chunk)?;
            let y = &x * 2.0 + 1.0;
            let mut best = f64::INFINITY;
            for _ in 0..3 {
                let t = Instant::now();
                let r = ex.compute(&y)?;
                best = best.min(t.elapsed().as_secs_f64());
                assert_eq!(r.len(), tb / 8);
            }
            let gbs = 2.0 * tb as f64 / best / 1e9;
            println!("{{\"bench\":\"floe_host_roundtrip\",\"chunk\":{chunk},\"seconds\":{best:.6e},\"rate\":{gbs:.2},\"unit\":\"GB/s\"}}");
            rows_t.push((format!("floe x*2+1 host -> host, {} blocks", tb / 8 / chunk), gbs));
        }
        println!("\n| {:<40} | {:>9} |", format!("transfers, {} MiB each way", tb >> 20), "GB/s");
        println!("|{:-<42}|{:->11}|", "", "");
        for (name, r) in &rows_t {
            println!("| {name:<40} | {r:>9.1} |");
        }
        drop(ex);

        // 2. matrix products
        let ex = Executor::cuda(0)?;
        let (gn, gchunk) = if quick { (2048, 1024) } else { (8192, 4096) };
        println!("\n| {:<44} | {:>10} | {:>9} |", format!("GEMM, n = {gn}"), "TFLOP/s", "of cuBLAS");
        println!("|{:-<46}|{:->12}|{:->11}|", "", "", "");
        for d in [DType::F64, DType::F32] {
            let direct = bench::cublas_gemm(&dev, d, gn, reps.min(7), 3)?;
            json(&format!("cublas_{d}"), &direct, "GFLOP/s", &format!(",\"n\":{gn}"));
            let tf = |s: f64| 2.0 * (gn as f64).powi(3) / s / 1e12;
            println!("| {:<44} | {:>10.1} | {:>8.0}% |", format!("cuBLAS {d} direct, one {gn}² block"), direct.rate_g() / 1e3, 100.0);
            for beta in [0.0, 1.0] {
                let m = bench::floe_gemm(&dev, d, gn, beta, reps.min(7), 3)?;
                json(&format!("floe_gemm_{d}_beta{beta}"), &m, "GFLOP/s", &format!(",\"n\":{gn},\"of_cublas\":{:.3}", m.rate_g() / direct.rate_g()));
                println!(
                    "| {:<44} | {:>10.1} | {:>8.0}% |",
                    format!("floe block product {d}, beta {beta}"),
                    m.rate_g() / 1e3,
                    100.0 * m.rate_g() / direct.rate_g()
                );
            }
            for chunk in [gn, gchunk] {
                let (s, dt) = floe_matmul(&ex, d, gn, chunk)?;
                println!(
                    "{{\"bench\":\"floe_matmul_{d}\",\"n\":{gn},\"chunk\":{chunk},\"seconds\":{s:.6e},\"tflops\":{:.2},\"device_tasks\":{dt}}}",
                    tf(s)
                );
                println!(
                    "| {:<44} | {:>10.1} | {:>8.0}% |",
                    format!("floe (a@b).sum() {d}, blocks {chunk}², end to end"),
                    tf(s),
                    100.0 * tf(s) / (direct.rate_g() / 1e3)
                );
            }
        }
        Ok(())
    }
}
