//! Scheduling overhead: W7-like graphs of 10,000 tiny chunks.
//!
//! `cargo bench --bench scheduling`. `(ones((1000, 1000), chunks 10) + 1).sum()`
//! is 10,000 chunks of 100 elements: the arithmetic is negligible, so the
//! time is graph build + optimize + lower + schedule. Throughput is reported
//! in tasks (one per chunk): criterion's `elem/s` is tasks per second, and
//! the per-task overhead is printed once before the measurements.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use floe::Executor;

const N: usize = 1000;
const CHUNK: usize = 10;
const TASKS: usize = (N / CHUNK) * (N / CHUNK); // 10,000

fn w7() -> floe::Array<f64> {
    (floe::ones::<f64>([N, N], CHUNK).expect("ones") + 1.0)
        .sum(..)
        .expect("sum")
}

fn per_task_report() {
    let reps = 5;
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        let r = w7().compute().expect("compute");
        best = best.min(t.elapsed().as_secs_f64());
        assert_eq!(r.iter().next().copied(), Some(2.0 * (N * N) as f64));
    }
    eprintln!(
        "scheduling: W7 {TASKS} chunks, best of {reps}: {:.3} ms = {:.2} us per task ({:.0} tasks/s)",
        best * 1e3,
        best * 1e6 / TASKS as f64,
        TASKS as f64 / best
    );
}

fn bench_scheduling(c: &mut Criterion) {
    per_task_report();
    let mut g = c.benchmark_group("w7_10k_chunks");
    g.throughput(Throughput::Elements(TASKS as u64));

    g.bench_function("build only", |b| b.iter(|| black_box(w7())));
    g.bench_function("build + compute", |b| {
        b.iter(|| black_box(w7().compute().expect("compute")))
    });
    let built = w7();
    g.bench_function("compute (prebuilt graph)", |b| {
        b.iter(|| black_box(built.compute().expect("compute")))
    });
    let one = Executor::cpu().threads(1);
    g.bench_function("compute, 1 thread", |b| {
        b.iter(|| black_box(one.compute(&built).expect("compute")))
    });
    // elementwise only: 10,000 output chunks assembled into one array
    let ew = floe::ones::<f64>([N, N], CHUNK).expect("ones") + 1.0;
    g.bench_function("elementwise, no reduction", |b| {
        b.iter(|| black_box(ew.compute().expect("compute")))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench_scheduling
}
criterion_main!(benches);
