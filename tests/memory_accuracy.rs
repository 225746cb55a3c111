//! Memory limit planning and the accuracy of large reductions.

use floe::{random, Error, Executor};

#[test]
fn a_task_larger_than_the_limit_is_refused_before_running() {
    let x = random::uniform([1000, 1000], 0.0, 1.0, 500, 1).unwrap(); // 2 MB blocks
    let s = (&x * 2.0).sum(..).unwrap();
    match Executor::cpu().memory_limit(1 << 20).compute(&s) {
        Err(Error::MemoryLimit { needed, limit, op }) => {
            assert_eq!(limit, 1 << 20);
            assert!(needed >= 2_000_000, "{needed}");
            assert!(op.contains("random-uniform") || op.contains("sum"), "{op}");
        }
        other => panic!("expected a memory-limit error, got {other:?}"),
    }
}

#[test]
fn held_bytes_stay_under_the_limit() {
    // 400 blocks of 80 KB; x - mean(x, 0) keeps every block alive in dask
    let x = random::uniform([4000, 1000], 0.0, 1.0, [100, 100], 2).unwrap();
    let anom = (&x - &x.mean(0).unwrap()).abs().sum(..).unwrap();
    let limit = 2 << 20;
    let (v, st) = Executor::cpu().threads(2).memory_limit(limit).compute_with_stats(&anom).unwrap();
    assert!(st.peak_bytes <= limit, "{st:?}");
    let (w, _) = Executor::cpu().threads(2).compute_with_stats(&anom).unwrap();
    assert!((v.first().unwrap() - w.first().unwrap()).abs() < 1e-9 * w.first().unwrap().abs());
}

fn neumaier(xs: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for x in xs {
        let t = s + x;
        c += if s.abs() >= x.abs() { (s - t) + x } else { (x - t) + s };
        s = t;
    }
    s + c
}

#[test]
fn sums_and_variances_of_ten_million_values_are_accurate() {
    let n = 10_000_000usize;
    let x = random::normal([n], 1e3, 1.0, 1_000_003, 5).unwrap();
    let ex = Executor::cpu().threads(2);
    let vals = ex.compute(&x).unwrap();
    let exact_sum = neumaier(vals.iter().copied());
    let mean = exact_sum / n as f64;
    let exact_m2 = neumaier(vals.iter().map(|v| (v - mean) * (v - mean)));
    let s = *ex.compute(&x.sum(..).unwrap()).unwrap().first().unwrap();
    let v = *ex.compute(&x.var(.., 1).unwrap()).unwrap().first().unwrap();
    assert!(((s - exact_sum) / exact_sum).abs() < 1e-12, "sum {s} vs {exact_sum}");
    let exact_var = exact_m2 / (n - 1) as f64;
    assert!(((v - exact_var) / exact_var).abs() < 1e-9, "var {v} vs {exact_var}");
    // a naive running sum would be off by far more than the tolerance above
    let naive: f64 = vals.iter().fold(0.0, |a, b| a + b);
    assert!(((naive - exact_sum) / exact_sum).abs() > ((s - exact_sum) / exact_sum).abs());
}
