//! Reductions over in-memory f64 chunks: sum / mean / var over one axis and all axes.
//!
//! `cargo bench --bench reductions`. 2000 x 2000 f64 (32 MB) in 500 x 500
//! chunks; the `ndarray` rows are the same reductions on the whole array, as
//! a reference measured in the same run. Throughput is in input elements.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndarray::{Array2, Axis};

const N: usize = 2000;
const CHUNK: usize = 500;

fn bench_reductions(c: &mut Criterion) {
    let a = Array2::from_shape_fn((N, N), |(i, j)| ((i * 31 + j * 17) % 1013) as f64 * 1e-3);
    let x = floe::from_ndarray(&a, CHUNK).expect("from_ndarray");

    let mut g = c.benchmark_group("reduce_4M_f64");
    g.throughput(Throughput::Elements((N * N) as u64));

    let cases: Vec<(&str, floe::Array<f64>)> = vec![
        ("sum(..)", x.sum(..).expect("sum all")),
        ("sum(0)", x.sum(0).expect("sum 0")),
        ("sum(1)", x.sum(1).expect("sum 1")),
        ("mean(..)", x.mean(..).expect("mean all")),
        ("mean(0)", x.mean(0).expect("mean 0")),
        ("var(.., 0)", x.var(.., 0).expect("var all")),
        ("var(0, 1)", x.var(0, 1).expect("var 0")),
        ("std(1, 0)", x.std(1, 0).expect("std 1")),
    ];
    for (name, r) in &cases {
        g.bench_function(format!("floe {name}"), |bch| {
            bch.iter(|| black_box(r.compute().expect("compute")))
        });
    }
    g.bench_function("ndarray sum()", |bch| bch.iter(|| black_box(a.sum())));
    g.bench_function("ndarray sum_axis(0)", |bch| {
        bch.iter(|| black_box(a.sum_axis(Axis(0))))
    });
    g.bench_function("ndarray var(0)", |bch| bch.iter(|| black_box(a.var(0.0))));
    g.bench_function("ndarray var_axis(0, 1)", |bch| {
        bch.iter(|| black_box(a.var_axis(Axis(0), 1.0)))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = bench_reductions
}
criterion_main!(benches);
