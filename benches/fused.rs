//! Fused elementwise chains over in-memory f64 chunks.
//!
//! `cargo bench --bench fused`. Each chain is one fused program per chunk in
//! floe's plan, so its time should be close to one pass over the inputs and
//! the output; the `ndarray` rows are the same arithmetic done eagerly with
//! temporaries, as a reference measured in the same run. Throughput is in
//! elements of the output (4M per iteration).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndarray::Array2;

const N: usize = 2000; // 2000 x 2000 = 4M elements, 32 MB per array
const CHUNK: usize = 500; // 16 chunks of 2 MB

fn inputs() -> (Array2<f64>, Array2<f64>) {
    let a = Array2::from_shape_fn((N, N), |(i, j)| ((i * N + j) % 1009) as f64 * 1e-3);
    let b = Array2::from_shape_fn((N, N), |(i, j)| ((i + 7 * j) % 997) as f64 * 1e-3);
    (a, b)
}

fn bench_fused(c: &mut Criterion) {
    let (a, b) = inputs();
    let fa = floe::from_ndarray(&a, CHUNK).expect("from_ndarray a");
    let fb = floe::from_ndarray(&b, CHUNK).expect("from_ndarray b");

    let mut g = c.benchmark_group("fused_4M_f64");
    g.throughput(Throughput::Elements((N * N) as u64));

    // (a*2 + b).sin(): 2 inputs, 3 ops
    let chain = (&fa * 2.0 + &fb).sin();
    g.bench_function("floe (a*2+b).sin()", |bch| {
        bch.iter(|| black_box(chain.compute().expect("compute")))
    });
    g.bench_function("ndarray (a*2+b).sin()", |bch| {
        bch.iter(|| black_box((&a * 2.0 + &b).mapv(f64::sin)))
    });

    // triad a + 3*b: the bandwidth-bound case (compare with STREAM in the harness)
    let triad = &fa + &(&fb * 3.0);
    g.bench_function("floe a+b*3 (triad)", |bch| {
        bch.iter(|| black_box(triad.compute().expect("compute")))
    });
    g.bench_function("ndarray a+b*3 (triad)", |bch| {
        bch.iter(|| black_box(&a + &(&b * 3.0)))
    });

    // a longer chain ending in a reduction: nothing of size N*N is materialized
    let red = ((&fa * 2.0 + &fb).sin().abs() - 1.0).sum(..).expect("sum");
    g.bench_function("floe sum(abs(sin(a*2+b))-1)", |bch| {
        bch.iter(|| black_box(red.compute().expect("compute")))
    });
    g.bench_function("ndarray sum(abs(sin(a*2+b))-1)", |bch| {
        bch.iter(|| black_box(((&a * 2.0 + &b).mapv(|v| v.sin().abs() - 1.0)).sum()))
    });
    g.finish();
}

/// The element functions alone: floe's vectorized sin/cos/exp/ln (one fused
/// program per chunk) beside libm called per element by ndarray's `mapv`.
fn bench_element_fns(c: &mut Criterion) {
    let (a, _) = inputs();
    let pos = a.mapv(|v| v + 0.5);
    let fa = floe::from_ndarray(&a, CHUNK).expect("from_ndarray a");
    let fpos = floe::from_ndarray(&pos, CHUNK).expect("from_ndarray pos");
    let mut g = c.benchmark_group("element_fns_4M_f64");
    g.throughput(Throughput::Elements((N * N) as u64));
    let cases: [(&str, floe::Array<f64>, fn(f64) -> f64, &Array2<f64>); 4] = [
        ("sin", fa.sin(), f64::sin, &a),
        ("cos", fa.cos(), f64::cos, &a),
        ("exp", fa.exp(), f64::exp, &a),
        ("ln", fpos.ln(), f64::ln, &pos),
    ];
    for (name, expr, libm, x) in cases.iter() {
        g.bench_function(format!("floe {name}"), |bch| bch.iter(|| black_box(expr.compute().expect("compute"))));
        g.bench_function(format!("ndarray mapv {name} (libm)"), |bch| bch.iter(|| black_box(x.mapv(*libm))));
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench_fused, bench_element_fns
}
criterion_main!(benches);
