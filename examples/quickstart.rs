//! floe's main job in miniature: a lazy expression over arrays larger than a
//! chunk, fused and run in parallel, with its plan and timing.
//!
//! `cargo run --release --example quickstart`

use std::time::Instant;

use floe::{random, Executor};

fn main() -> floe::Result<()> {
    let n = 8000;
    let t0 = Instant::now();
    // two 8000 x 8000 f64 arrays (512 MB each), generated chunk by chunk, never whole
    let x = random::uniform([n, n], 0.0, 1.0, 1000, 42)?;
    let y = random::uniform([n, n], 0.0, 1.0, 1000, 7)?;
    // W1 of BENCHMARKS.md: one fused program per chunk feeding a tree reduction
    let total = ((x.sin() * 2.0 + &y * &y - 1.0).abs()).sum(..)?;
    let column_means = (&x - &y).mean(0)?;

    println!("plan of the total:\n{}", total.explain());
    let ex = Executor::cpu().progress(true);
    let (t, stats) = ex.compute_with_stats(&total)?;
    let m = ex.compute(&column_means)?;
    let total = t.first().copied().unwrap_or(f64::NAN);
    println!("sum(|sin(x)*2 + y*y - 1|) over {n}x{n} = {total:.6}  (mean {:.6})", total / (n * n) as f64);
    println!("mean over axis 0 of x - y: first values {:?}", &m.as_slice().unwrap_or(&[])[..4.min(m.len())]);
    println!(
        "{} tasks (random blocks are generated inside the fused tasks), peak {} chunks + {} partials held ({:.1} MB), total time {:.2} s",
        stats.tasks,
        stats.peak_live_chunks,
        stats.peak_live_partials,
        stats.peak_bytes as f64 / 1e6,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
