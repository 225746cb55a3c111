//! Device measurements behind `examples/gpu_bench.rs`: the ceilings floe's
//! GPU path is compared with, measured in the same process on the same card.
//!
//! - [`copy`]: a device-to-device copy (bytes read + written per second),
//!   the bandwidth ceiling of an elementwise kernel;
//! - [`fused`]: the generated kernel of a fused [`Program`] over inputs
//!   already on the device, launched exactly as the executor launches it
//!   (a new output block per launch, its layout uploaded per launch);
//! - [`cublas_gemm`]: cuBLAS GEMM called directly on one square block
//!   (cudarc's handle, no floe code between), the ceiling of floe's matmul.
//!
//! Every figure is the median over `reps` repetitions of a batch of
//! `batch` launches, timed with device events around the batch, and also on
//! the host clock.

use std::sync::Arc;

use cudarc::cublas::sys::cublasOperation_t;
use cudarc::cublas::{CudaBlas, Gemm, GemmConfig};

use super::codegen::InputMode;
use super::memory::{self, drv, DevChunk};
use super::Device;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::exec::cpu::chunk::Chunk;
use crate::expr::Program;

/// One measurement: the median seconds of one launch, and the rate.
#[derive(Clone, Copy, Debug)]
pub struct Measure {
    /// Median seconds per launch.
    pub seconds: f64,
    /// Fastest seconds per launch.
    pub best: f64,
    /// Median seconds per launch on the host clock, the synchronization
    /// included (what a caller launching one after another sees).
    pub host_seconds: f64,
    /// Work per launch: bytes moved (read + written), or floating-point operations.
    pub work: f64,
}

impl Measure {
    /// Work per second at the median (GB/s for bytes, GFLOP/s for flops, in 1e9 units).
    pub fn rate_g(&self) -> f64 {
        self.work / self.seconds / 1e9
    }
    /// The same on the host clock.
    pub fn host_rate_g(&self) -> f64 {
        self.work / self.host_seconds / 1e9
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Time `launch` (asynchronous work on the device's stream): one warm-up
/// batch, then `reps` batches of `batch` launches, each timed by device
/// events around the batch (the host may run ahead; what is timed is the
/// device's work and the gaps between launches).
fn time(dev: &Device, reps: usize, batch: usize, work: f64, mut launch: impl FnMut() -> Result<()>) -> Result<Measure> {
    let sync = || dev.stream.synchronize().map_err(|e| drv("device synchronize", e));
    for _ in 0..batch {
        launch()?;
    }
    sync()?;
    let timing = Some(cudarc::driver::sys::CUevent_flags::CU_EVENT_DEFAULT);
    let mut times = Vec::with_capacity(reps.max(1));
    let mut host = Vec::with_capacity(reps.max(1));
    for _ in 0..reps.max(1) {
        let t = std::time::Instant::now();
        let start = dev.stream.record_event(timing).map_err(|e| drv("recording an event", e))?;
        for _ in 0..batch {
            launch()?;
        }
        let end = dev.stream.record_event(timing).map_err(|e| drv("recording an event", e))?;
        sync()?;
        host.push(t.elapsed().as_secs_f64() / batch as f64);
        let ms = start.elapsed_ms(&end).map_err(|e| drv("event time", e))?;
        times.push(ms as f64 / 1e3 / batch as f64);
    }
    let best = times.iter().copied().fold(f64::INFINITY, f64::min);
    Ok(Measure { seconds: median(times), best, host_seconds: median(host), work })
}

/// A device block of f64 (or f32) values in [0, 1) (never zeros: a
/// cheap hash of the index, made on the host and uploaded).
pub fn random_block(dev: &Device, dtype: DType, shape: &[usize], seed: u64) -> Result<DevChunk> {
    let val = |i: usize| {
        let mut z = (i as u64).wrapping_add(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let n: usize = shape.iter().product();
    let sh = ndarray::IxDyn(shape);
    let bad = |e: ndarray::ShapeError| Error::Execution(format!("benchmark block: {e}"));
    let c = match dtype {
        DType::F64 => Chunk::F64(ndarray::ArrayD::from_shape_vec(sh, (0..n).map(val).collect()).map_err(bad)?),
        DType::F32 => Chunk::F32(ndarray::ArrayD::from_shape_vec(sh, (0..n).map(|i| val(i) as f32).collect()).map_err(bad)?),
        d => return Err(Error::NotImplemented(format!("benchmark blocks of {d}"))),
    };
    memory::upload(&dev.stream, &c)
}

/// A device-to-device copy of `bytes` bytes.
pub fn copy(dev: &Device, bytes: usize, reps: usize, batch: usize) -> Result<Measure> {
    let src = random_block(dev, DType::F64, &[bytes / 8], 1)?;
    let mut dst = memory::alloc(&dev.stream, src.buf.len())?;
    let n = src.buf.len();
    time(dev, reps, batch, 2.0 * n as f64, || dev.stream.memcpy_dtod(&src.buf, &mut dst).map_err(|e| drv("device copy", e)))
}

/// The generated kernel of `program` (all inputs contiguous blocks of
/// `shape`) over `inputs` already on the device. Work: the bytes of every
/// input read once and the output written once.
pub fn fused(dev: &Device, program: &Program, inputs: &[Arc<DevChunk>], shape: &[usize], reps: usize, batch: usize) -> Result<Measure> {
    fused_grid(dev, program, inputs, shape, reps, batch, super::run::MAX_BLOCKS)
}

/// [`fused`] launched with at most `max_blocks` blocks of 256 threads
/// (the executor uses `run::MAX_BLOCKS`).
pub fn fused_grid(dev: &Device, program: &Program, inputs: &[Arc<DevChunk>], shape: &[usize], reps: usize, batch: usize, max_blocks: usize) -> Result<Measure> {
    if inputs.len() != program.n_inputs() || inputs.iter().any(|c| c.shape != shape) {
        return Err(Error::Value(format!("fused benchmark: {} inputs of shape {shape:?} wanted", program.n_inputs())));
    }
    let mut meta: Vec<i64> = shape.iter().map(|&s| s as i64).collect();
    let st: Vec<i64> = crate::chunks::row_major_strides(shape).into_iter().map(|s| s as i64).collect();
    for _ in inputs {
        meta.extend_from_slice(&st);
    }
    let modes = vec![InputMode::Contiguous; inputs.len()];
    let n: usize = shape.iter().product();
    let bytes = inputs.iter().map(|c| c.nbytes() as f64).sum::<f64>() + (n * program.output_dtype().size()) as f64;
    time(dev, reps, batch, bytes, || super::run::launch_map_grid(dev, program, &modes, &meta, inputs, shape, max_blocks).map(drop))
}

/// cuBLAS GEMM C = A·B of square `n`×`n` f32/f64 blocks, called directly.
/// Work: 2n³ flops.
pub fn cublas_gemm(dev: &Device, dtype: DType, n: usize, reps: usize, batch: usize) -> Result<Measure> {
    let a = random_block(dev, dtype, &[n, n], 1)?;
    let b = random_block(dev, dtype, &[n, n], 2)?;
    let mut c = memory::alloc(&dev.stream, n * n * dtype.size())?;
    let handle = std::panic::catch_unwind(|| CudaBlas::new(dev.stream.clone()))
        .map_err(|_| Error::Device("creating a cuBLAS handle panicked".into()))?
        .map_err(|e| drv("creating a cuBLAS handle", e))?;
    let ni = i32::try_from(n).map_err(|_| Error::Value(format!("GEMM side {n} over 2^31")))?;
    let op = cublasOperation_t::CUBLAS_OP_N;
    let flops = 2.0 * (n as f64).powi(3);
    macro_rules! run {
        ($t:ty) => {{
            let cfg = GemmConfig::<$t> { transa: op, transb: op, m: ni, n: ni, k: ni, alpha: 1.0, lda: ni, ldb: ni, beta: 0.0, ldc: ni };
            time(dev, reps, batch, flops, || {
                // SAFETY: the three views cover exactly n·n elements of their buffers.
                unsafe {
                    let av = a.buf.transmute::<$t>(n * n).ok_or_else(|| Error::Execution("gemm a size".into()))?;
                    let bv = b.buf.transmute::<$t>(n * n).ok_or_else(|| Error::Execution("gemm b size".into()))?;
                    let mut cv = c.transmute_mut::<$t>(n * n).ok_or_else(|| Error::Execution("gemm c size".into()))?;
                    handle.gemm(cfg, &bv, &av, &mut cv).map_err(|e| drv("cuBLAS gemm", e))
                }
            })
        }};
    }
    match dtype {
        DType::F32 => run!(f32),
        DType::F64 => run!(f64),
        d => Err(Error::NotImplemented(format!("cuBLAS GEMM of {d}"))),
    }
}

/// Host ↔ device copies of `bytes` bytes between pinned host memory and
/// the device: (host → device, device → host), the ceiling of transfers.
pub fn host_copies(dev: &Device, bytes: usize, reps: usize) -> Result<(Measure, Measure)> {
    let d = random_block(dev, DType::F64, &[bytes / 8], 4)?;
    let n = d.buf.len();
    // SAFETY: plain bytes, written by the copies before any read.
    let mut p = unsafe { dev.ctx.alloc_pinned_with_flags::<u8>(n, 0) }.map_err(|e| drv("pinned host memory", e))?;
    let mut buf = memory::alloc(&dev.stream, n)?;
    let up = time(dev, reps, 1, n as f64, || dev.stream.memcpy_htod(&p, &mut buf).map_err(|e| drv("copy to the device", e)))?;
    let down = time(dev, reps, 1, n as f64, || dev.stream.memcpy_dtoh(&d.buf, &mut p).map_err(|e| drv("copy from the device", e)))?;
    Ok((up, down))
}

/// floe's block product ([`super::blas::Blas::gemm`], what a matmul task
/// runs for each pair of blocks: row-major blocks, `beta` 0 for the first
/// contraction block and 1 to accumulate the others) on square `n`×`n`
/// blocks. Work: 2n³ flops.
pub fn floe_gemm(dev: &Device, dtype: DType, n: usize, beta: f64, reps: usize, batch: usize) -> Result<Measure> {
    let a = random_block(dev, dtype, &[n, n], 1)?;
    let b = random_block(dev, dtype, &[n, n], 2)?;
    let mut c = random_block(dev, dtype, &[n, n], 3)?;
    let blas = super::blas::Blas::new(dev.stream.clone())?;
    time(dev, reps, batch, 2.0 * (n as f64).powi(3), || blas.gemm(&a, &b, &mut c, beta))
}
