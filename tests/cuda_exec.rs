//! GPU oracle tests: the same computations on `Executor::cuda(0)` and on the
//! CPU executor must agree (exactly for integer and data-movement results,
//! to rounding for float sums and transcendental functions). Without a GPU
//! (no driver, no device) every test prints a skip message and passes;
//! `Executor::cuda` must then be an error, never a panic.
#![cfg(feature = "cuda")]

use floe::{Array, Error, Executor};
use ndarray::{ArrayD, IxDyn};

fn gpu() -> Option<Executor> {
    match Executor::cuda(0) {
        Ok(ex) => Some(ex),
        Err(e) => {
            assert!(matches!(e, Error::Device(_)), "no GPU must be Error::Device, got {e:?}");
            eprintln!("SKIP cuda_exec: no GPU here ({e})");
            None
        }
    }
}

fn cpu() -> Executor {
    Executor::cpu().threads(2)
}

fn close(a: &ArrayD<f64>, b: &ArrayD<f64>, rtol: f64) {
    assert_eq!(a.shape(), b.shape());
    for (x, y) in a.iter().zip(b.iter()) {
        if x.is_nan() && y.is_nan() {
            continue;
        }
        assert!((x - y).abs() <= rtol * (1.0 + x.abs().max(y.abs())), "{x} vs {y}");
    }
}

/// (GPU result, device tasks) and the CPU result of `a`.
fn both<T: floe::Element>(ex: &Executor, a: &Array<T>) -> (ArrayD<T>, usize, ArrayD<T>) {
    let (g, st) = ex.compute_with_stats(a).unwrap();
    let c = cpu().compute(a).unwrap();
    (g, st.device_tasks, c)
}

#[test]
fn without_a_gpu_cuda_is_an_error_not_a_panic() {
    let r = std::panic::catch_unwind(|| Executor::cuda(0).map(|_| ()));
    assert!(r.is_ok(), "Executor::cuda panicked");
    if let Err(e) = Executor::cuda(1 << 20) {
        assert!(matches!(e, Error::Device(_)), "{e:?}");
    }
}

#[test]
fn fused_elementwise_with_broadcasting_matches_the_cpu() {
    let Some(ex) = gpu() else { return };
    let x = floe::random::uniform([300, 200], -2.0, 2.0, [128, 64], 7).unwrap();
    let row = floe::from_ndarray(&ArrayD::from_shape_fn(IxDyn(&[200]), |i| i[0] as f64 * 0.01), 64).unwrap();
    let y = (&x * 2.0 + &row).abs().sin() - &x;
    let (g, dt, c) = both(&ex, &y);
    assert!(dt > 0, "nothing ran on the GPU");
    close(&g, &c, 1e-12);
    // maximum propagates NaN, round is half to even
    let z = floe::from_ndarray(&ndarray::arr1(&[0.5, 1.5, 2.5, -0.5, f64::NAN, -3.5]).into_dyn(), 4).unwrap();
    let m = z.round().maximum(0.0).unwrap();
    let (g, _, c) = both(&ex, &m);
    assert_eq!(format!("{g:?}"), format!("{c:?}"));
}

#[test]
fn integer_semantics_match_the_cpu_exactly() {
    let Some(ex) = gpu() else { return };
    let a = floe::from_ndarray(&ndarray::arr1(&[i32::MIN, -7, -1, 0, 7, i32::MAX, 3, 100]).into_dyn(), 3).unwrap();
    let b = floe::from_ndarray(&ndarray::arr1(&[-1, 2, 0, 0, -2, 1, 0, 7]).into_dyn(), 3).unwrap();
    for y in [&a / &b, &a * &b, &a - &b, (&a + &b).abs()] {
        let (g, _, c) = both(&ex, &y);
        assert_eq!(g, c);
    }
    // casts: float -> int saturates, NaN -> 0
    let f = floe::from_ndarray(&ndarray::arr1(&[1e300, -1e300, f64::NAN, -2.7, 2.7, 300.0]).into_dyn(), 4).unwrap();
    let (g, _, c) = both(&ex, &f.cast::<i8>());
    assert_eq!(g, c);
    let (g, _, c) = both(&ex, &f.cast::<u64>());
    assert_eq!(g, c);
}

#[test]
fn random_sources_match_the_cpu() {
    let Some(ex) = gpu() else { return };
    let u = floe::random::uniform([1000, 37], 0.0, 1.0, [300, 20], 42).unwrap();
    let (g, dt, c) = both(&ex, &u);
    assert!(dt > 0);
    assert_eq!(g, c, "uniform streams are bit-identical");
    let n = floe::random::normal([513, 9], 1.0, 2.0, [100, 9], 3).unwrap();
    let (g, _, c) = both(&ex, &n);
    close(&g, &c, 1e-13);
}

#[test]
fn reductions_match_the_cpu() {
    let Some(ex) = gpu() else { return };
    let x = floe::random::uniform([400, 300], -1.0, 1.0, [100, 100], 5).unwrap();
    let s = (&x * 3.0).sum(..).unwrap();
    let (g, _, c) = both(&ex, &s);
    close(&g, &c, 1e-10);
    for r in [x.max(..).unwrap(), x.min(0).unwrap(), x.mean(1).unwrap(), x.var(0, 1).unwrap(), x.nanmean(..).unwrap()] {
        let (g, _, c) = both(&ex, &r);
        close(&g, &c, 1e-10);
    }
    let i = floe::arange(0i64, 10_000, 1, 999).unwrap();
    for r in [i.sum(..).unwrap(), i.prod(..).unwrap()] {
        let (g, _, c) = both(&ex, &r);
        assert_eq!(g, c);
    }
    let (g, _, c) = both(&ex, &x.argmax(0).unwrap());
    assert_eq!(g, c);
    let (g, _, c) = both(&ex, &x.greater(0.5).unwrap().any(..).unwrap());
    assert_eq!(g, c);
}

#[test]
fn transpose_matmul_and_host_tasks_match_the_cpu() {
    let Some(ex) = gpu() else { return };
    let a = floe::random::uniform([300, 200], -1.0, 1.0, [128, 64], 1).unwrap();
    let b = floe::random::uniform([200, 150], -1.0, 1.0, [64, 100], 2).unwrap();
    let (g, _, c) = both(&ex, &a.t());
    assert_eq!(g, c);
    let p = a.matmul(&b).unwrap();
    let (g, dt, c) = both(&ex, &p);
    assert!(dt > 0);
    close(&g, &c, 1e-10);
    let pf = a.cast::<f32>().matmul(&b.cast::<f32>()).unwrap();
    let (g, _, c) = both(&ex, &pf);
    close(&g.mapv(|v| v as f64), &c.mapv(|v| v as f64), 1e-4);
    // host-only kinds (cumsum, rechunk, slices) with device inputs and outputs
    let y = (&a * 2.0).cumsum(0).unwrap().rechunk([50, 50]).unwrap().slice(floe::s![10..200;3, ..]).unwrap() + 1.0;
    let (g, _, c) = both(&ex, &y);
    close(&g, &c, 1e-12);
}

#[test]
fn a_small_device_memory_limit_moves_blocks_to_the_host() {
    let Some(ex) = gpu() else { return };
    let ex = ex.device_memory_limit(1 << 20);
    let x = floe::random::uniform([2000, 500], 0.0, 1.0, [250, 250], 9).unwrap();
    let y = (&x - &x.mean(0).unwrap()).sum(1).unwrap();
    let (g, st) = ex.compute_with_stats(&y).unwrap();
    let c = cpu().compute(&y).unwrap();
    close(&g, &c, 1e-9);
    assert!(st.peak_bytes <= 1 << 20, "{}", st.peak_bytes);
}

/// The vector loop (V elements per thread, 16-byte loads) and its tail:
/// lengths that are not a multiple of V, mixed element sizes (V set by the
/// widest type), a scalar input, and fused reductions over odd lengths.
#[test]
fn vector_loads_and_their_tails_match_the_cpu() {
    let Some(ex) = gpu() else { return };
    for (n, c) in [(1usize, 1usize), (7, 3), (1001, 333), (4099, 4099), (65_537, 10_000)] {
        let x = floe::random::uniform([n], -50.0, 50.0, c, n as u64).unwrap();
        let f = x.cast::<f32>();
        let i = x.cast::<i8>();
        let u = x.cast::<u16>();
        // f32 and i8 in, f64 out (V = 2), with a scalar
        let y = f.cast::<f64>() * 0.5 + i.cast::<f64>() - 3.0;
        let (g, dt, cc) = both(&ex, &y);
        assert!(dt > 0, "nothing ran on the GPU");
        assert_eq!(g, cc, "n = {n}");
        // one-byte output (V = 16 for bool, 8 with the u16 input)
        let b = u.greater(10u16).unwrap();
        let (g, _, cc) = both(&ex, &b);
        assert_eq!(g, cc, "n = {n}");
        let (g, _, cc) = both(&ex, &(&i * 2i8));
        assert_eq!(g, cc, "n = {n}");
        // fused reductions read their inputs with vector loads too
        for r in [(&f * 2.0f32).sum(..).unwrap(), f.max(..).unwrap()] {
            let (g, _, cc) = both(&ex, &r);
            close(&g.mapv(|v| v as f64), &cc.mapv(|v| v as f64), 1e-5);
        }
        let (g, _, cc) = both(&ex, &i.cast::<i64>().sum(..).unwrap());
        assert_eq!(g, cc, "n = {n}");
    }
}

/// A second executor (a new process, in effect) reads the kernels from the
/// disk cache instead of compiling them.
#[test]
fn kernels_are_read_back_from_the_disk_cache() {
    let dir = std::env::temp_dir().join(format!("floe-ptx-exec-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::env::set_var("FLOE_PTX_CACHE", &dir);
    let Some(_) = gpu() else { return };
    let x = floe::random::uniform([1000, 100], 0.0, 1.0, [300, 100], 1).unwrap();
    let y = ((&x * 3.0).exp() - &x).sum(0).unwrap();
    let first = Executor::cuda(0).unwrap();
    let a = first.compute(&y).unwrap();
    assert!(std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0) > 0, "nothing written to {}", dir.display());
    let second = Executor::cuda(0).unwrap();
    let b = second.compute(&y).unwrap();
    assert_eq!(a, b);
    let hits = second.cuda_device().map(|d| d.ptx_disk_hits()).unwrap_or(0);
    assert!(hits > 0, "the second executor compiled everything again");
    std::env::remove_var("FLOE_PTX_CACHE");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Blocks of 1 MiB and more go through pinned buffers on the copy stream:
/// uploads of host blocks, output downloads kept in flight, and device
/// blocks moved to the host for host tasks and under a device limit.
#[test]
fn large_blocks_through_pinned_transfers_match_the_cpu() {
    let Some(ex) = gpu() else { return };
    let host = ArrayD::from_shape_fn(IxDyn(&[1500, 1000]), |i| ((i[0] * 1000 + i[1]) % 977) as f64 * 0.5 - 100.0);
    // 4 MB and 2 MB blocks (irregular at the edges)
    let x = floe::from_ndarray(&host, [700, 600]).unwrap();
    let y = &x * 2.0 + 1.0;
    let (g, dt, c) = both(&ex, &y);
    assert!(dt > 0, "nothing ran on the GPU");
    assert_eq!(g, c);
    // a host task in the middle (cumsum): device blocks down, results back up
    let z = ((&x * 3.0).cumsum(0).unwrap() - 7.0).abs();
    let (g, _, c) = both(&ex, &z);
    assert_eq!(g, c);
    // a device limit of two blocks: blocks are moved to the host and back
    let small = ex.clone().device_memory_limit(12 << 20);
    let w = (&x - &x.mean(0).unwrap()) * 2.0;
    let g = small.compute(&w).unwrap();
    let c = cpu().compute(&w).unwrap();
    close(&g, &c, 1e-12);
}
