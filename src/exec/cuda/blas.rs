//! Matrix products of blocks through cuBLAS (cudarc's `cublas` module,
//! loaded at run time). Blocks are row-major; cuBLAS is column-major, so
//! C = A·B is computed as Cᵀ = Bᵀ·Aᵀ, which needs no transposes.

use std::sync::Arc;

use cudarc::cublas::sys::cublasOperation_t;
use cudarc::cublas::{CudaBlas, Gemm, GemmConfig};
use cudarc::driver::CudaStream;

use super::memory::{drv, DevChunk};
use crate::dtype::DType;
use crate::error::{Error, Result};

/// A cuBLAS handle on the executor's stream.
pub struct Blas {
    handle: CudaBlas,
}

/// Whether the cuBLAS library (`libcublas.so`) can be loaded.
pub fn cublas_available() -> bool {
    // SAFETY: only tries to dlopen the library by its usual names.
    std::panic::catch_unwind(|| unsafe { cudarc::cublas::sys::is_culib_present() }).unwrap_or(false)
}

impl Blas {
    pub fn new(stream: Arc<CudaStream>) -> Result<Blas> {
        if !cublas_available() {
            return Err(Error::Device("cuBLAS (libcublas.so.12) cannot be loaded".into()));
        }
        let handle = std::panic::catch_unwind(|| CudaBlas::new(stream))
            .map_err(|_| Error::Device("creating a cuBLAS handle panicked".into()))?
            .map_err(|e| drv("creating a cuBLAS handle", e))?;
        Ok(Blas { handle })
    }

    /// `c = a·b + beta·c` for row-major f32/f64 blocks a (m×k), b (k×n),
    /// c (m×n), all of the same type; `beta` is 0 (overwrite) or 1 (accumulate).
    pub fn gemm(&self, a: &DevChunk, b: &DevChunk, c: &mut DevChunk, beta: f64) -> Result<()> {
        let (m, k) = dims2(a)?;
        let (k2, n) = dims2(b)?;
        let (m2, n2) = dims2(c)?;
        if k != k2 || m != m2 || n != n2 || a.dtype != b.dtype || a.dtype != c.dtype {
            return Err(Error::Execution(format!(
                "internal: gemm of {:?} {} by {:?} {} into {:?} {}",
                a.shape, a.dtype, b.shape, b.dtype, c.shape, c.dtype
            )));
        }
        if m == 0 || n == 0 {
            return Ok(());
        }
        let int = |v: usize| i32::try_from(v).map_err(|_| Error::NotImplemented(format!("a GPU matrix block with a side of {v} (over 2^31)")));
        let (mi, ni, ki) = (int(m)?, int(n)?, int(k)?);
        let op = cublasOperation_t::CUBLAS_OP_N;
        // column-major view: Cᵀ (n×m, ld n) = Bᵀ (n×k, ld n) · Aᵀ (k×m, ld k)
        macro_rules! run {
            ($t:ty) => {{
                let cfg = GemmConfig::<$t> {
                    transa: op,
                    transb: op,
                    m: ni,
                    n: mi,
                    k: ki,
                    alpha: 1.0,
                    lda: ni,
                    ldb: ki.max(1),
                    beta: beta as $t,
                    ldc: ni,
                };
                // SAFETY: the views cover exactly the m·k, k·n and m·n elements the call reads and writes.
                unsafe {
                    let av = a.buf.transmute::<$t>(m * k).ok_or_else(|| Error::Execution("internal: gemm a size".into()))?;
                    let bv = b.buf.transmute::<$t>(k * n).ok_or_else(|| Error::Execution("internal: gemm b size".into()))?;
                    let mut cv = c.buf.transmute_mut::<$t>(m * n).ok_or_else(|| Error::Execution("internal: gemm c size".into()))?;
                    self.handle.gemm(cfg, &bv, &av, &mut cv).map_err(|e| drv("cuBLAS gemm", e))?;
                }
            }};
        }
        match a.dtype {
            DType::F32 => run!(f32),
            DType::F64 => run!(f64),
            d => return Err(Error::NotImplemented(format!("cuBLAS matrix products of {d} (f32 and f64 only)"))),
        }
        Ok(())
    }
}

fn dims2(c: &DevChunk) -> Result<(usize, usize)> {
    match c.shape[..] {
        [r, k] => Ok((r, k)),
        _ => Err(Error::Execution(format!("internal: gemm operand of shape {:?}", c.shape))),
    }
}
