//! The per-element kernels under the fused interpreter: `vmath` sin, cos,
//! exp and ln over a tile, against the standard library's scalar libm, and
//! the Philox uniform generator.
//!
//! `cargo bench --bench kernels`. Throughput is in elements (values) of one
//! L1-resident tile of 1024, the size the interpreter works on, so the
//! numbers are compute cost alone, one core.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use floe::exec::cpu::vmath::{eval_f64, VecFn};

const T: usize = 1024;

fn bench_vmath(c: &mut Criterion) {
    // W1's sin input is U[0,1); the wider range exercises every quadrant.
    let ranges: [(&str, f64, f64); 2] = [("[0,1)", 0.0, 1.0), ("[-100,100)", -100.0, 100.0)];
    let mut g = c.benchmark_group("vmath_tile_1024");
    g.throughput(Throughput::Elements(T as u64));
    for (name, lo, hi) in ranges {
        let mut x = vec![0.0; T];
        floe::rng::fill_uniform01(7, 0, &mut x);
        for v in x.iter_mut() {
            *v = lo + (hi - lo) * *v;
        }
        let mut o = vec![0.0; T];
        for (f, libm) in [
            (VecFn::Sin, f64::sin as fn(f64) -> f64),
            (VecFn::Cos, f64::cos),
            (VecFn::Exp, f64::exp),
        ] {
            g.bench_function(format!("floe {f:?} {name}"), |b| {
                b.iter(|| eval_f64(f, black_box(&x), black_box(&mut o)))
            });
            g.bench_function(format!("libm {f:?} {name}"), |b| {
                b.iter(|| {
                    for (y, v) in o.iter_mut().zip(black_box(&x)) {
                        *y = libm(*v);
                    }
                })
            });
        }
    }
    let mut x = vec![0.0; T];
    floe::rng::fill_uniform01(7, 0, &mut x);
    let x: Vec<f64> = x.iter().map(|v| v * 100.0 + 1e-3).collect();
    let mut o = vec![0.0; T];
    g.bench_function("floe Ln (0,100)", |b| {
        b.iter(|| eval_f64(VecFn::Ln, black_box(&x), black_box(&mut o)))
    });
    g.bench_function("libm Ln (0,100)", |b| {
        b.iter(|| {
            for (y, v) in o.iter_mut().zip(black_box(&x)) {
                *y = v.ln();
            }
        })
    });
    g.finish();
}

fn bench_rng(c: &mut Criterion) {
    let mut g = c.benchmark_group("rng_tile_1024");
    g.throughput(Throughput::Elements(T as u64));
    let mut o = vec![0.0; T];
    let mut start = 0u64;
    g.bench_function("philox uniform01", |b| {
        b.iter(|| {
            floe::rng::fill_uniform01(black_box(42), start, &mut o);
            start += T as u64;
        })
    });
    g.finish();
}

criterion_group!(benches, bench_vmath, bench_rng);
criterion_main!(benches);
