//! The GPU executor (feature `cuda`): cudarc with the driver, NVRTC and
//! cuBLAS loaded at run time, so floe builds and its tests run on machines
//! without CUDA, and [`Executor::cuda`](crate::Executor::cuda) returns an
//! error there instead of panicking.
//!
//! - [`codegen`]: fused `Program`s → CUDA C (elementwise, and with a
//!   trailing full reduction);
//! - [`kernels`]: the hand-written kernels of `kernels/` (axis reductions,
//!   permutes, random numbers, fills);
//! - [`nvrtc`]: CUDA C → PTX at run time, cached in memory;
//! - [`memory`]: device chunks, pageable transfers;
//! - [`transfer`]: pinned transfers on a copy stream, overlapping the kernels;
//! - [`blas`]: matrix products through cuBLAS;
//! - [`mod@bench`]: the device ceilings (copy, direct cuBLAS) and a fused kernel timed alone, for `examples/gpu_bench.rs`;
//! - [`run`]: the task loop — what runs on the device, what on the host.
//!
//! The GPU executor shares only plain data with the CPU executor: the task
//! graph, `Program`s, and host chunks for transfers. Tasks it cannot run on
//! the device are handed back to the caller's host runner with their inputs
//! copied to the host.

pub mod bench;
pub mod blas;
pub mod codegen;
pub mod kernels;
pub mod memory;
pub mod nvrtc;
pub mod run;
pub mod transfer;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaStream};

use crate::error::{Error, Result};
use memory::drv;

/// Whether the CUDA driver library (`libcuda.so`) can be loaded.
pub fn driver_available() -> bool {
    // SAFETY: only tries to dlopen the library by its usual names.
    std::panic::catch_unwind(|| unsafe { cudarc::driver::sys::is_culib_present() }).unwrap_or(false)
}

/// One opened GPU: its context, the stream all work goes on, and the
/// compiled kernels.
pub struct Device {
    ordinal: usize,
    name: String,
    total_mem: u64,
    pub(crate) ctx: Arc<CudaContext>,
    pub(crate) stream: Arc<CudaStream>,
    /// The stream host ↔ device copies go on (see [`transfer`]).
    pub(crate) copy: Arc<CudaStream>,
    pub(crate) staging: transfer::Staging,
    ptx: nvrtc::PtxCache,
    /// Loaded modules by the CUDA C they were compiled from.
    modules: Mutex<HashMap<String, Arc<CudaModule>>>,
    /// Generated kernels by (program key, entry point): a fused program is
    /// generated and compiled once, not once per block.
    generated: Mutex<HashMap<(codegen::KernelKey, &'static str), CudaFunction>>,
    pub(crate) blas: Mutex<Option<Arc<blas::Blas>>>,
    /// Kernel `meta` arrays on the device by content (see `run`).
    pub(crate) metas: Mutex<HashMap<Vec<i64>, Arc<cudarc::driver::CudaSlice<i64>>>>,
}

/// Most `meta` arrays kept on the device (a few KiB).
pub(crate) const META_CACHE: usize = 4096;

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cuda:{} ({}, {} MiB)", self.ordinal, self.name, self.total_mem >> 20)
    }
}

impl Device {
    /// Open GPU `ordinal`. Errors (never panics) when the driver library is
    /// absent, there is no such device, or NVRTC cannot be loaded.
    pub fn open(ordinal: usize) -> Result<Arc<Device>> {
        if !driver_available() {
            return Err(Error::Device(
                "the CUDA driver library (libcuda.so) cannot be loaded: no NVIDIA driver on this machine".into(),
            ));
        }
        let count = std::panic::catch_unwind(|| {
            cudarc::driver::result::init()?;
            CudaContext::device_count()
        })
        .map_err(|_| Error::Device("the CUDA driver failed to initialize".into()))?
        .map_err(|e| drv("the CUDA driver failed to initialize", e))?;
        if ordinal >= count.max(0) as usize {
            return Err(Error::Device(format!("no CUDA device {ordinal}: this machine has {count}")));
        }
        if !nvrtc::nvrtc_available() {
            return Err(Error::Device(
                "NVRTC (libnvrtc.so.12) cannot be loaded: the GPU executor compiles its kernels at run time; install the CUDA toolkit or the `nvidia-cuda-nvrtc-cu12` wheel and put its lib folder on LD_LIBRARY_PATH".into(),
            ));
        }
        let ctx = std::panic::catch_unwind(|| CudaContext::new(ordinal))
            .map_err(|_| Error::Device(format!("creating a context on CUDA device {ordinal} panicked")))?
            .map_err(|e| drv(&format!("creating a context on CUDA device {ordinal}"), e))?;
        let name = ctx.name().unwrap_or_else(|_| "unknown GPU".into());
        let total_mem = ctx.total_mem().map_err(|e| drv("device memory size", e))? as u64;
        let stream = ctx.default_stream();
        let copy = ctx.new_stream().map_err(|e| drv("creating a copy stream", e))?;
        Ok(Arc::new(Device {
            ordinal,
            name,
            total_mem,
            ctx,
            stream,
            copy,
            staging: transfer::Staging::default(),
            ptx: nvrtc::PtxCache::with_disk(nvrtc::default_disk_dir()),
            modules: Mutex::new(HashMap::new()),
            generated: Mutex::new(HashMap::new()),
            blas: Mutex::new(None),
            metas: Mutex::new(HashMap::new()),
        }))
    }
    /// The card's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Device memory in bytes.
    pub fn total_mem(&self) -> u64 {
        self.total_mem
    }
    /// Kernel sources read from the disk PTX cache instead of compiled
    /// (see [`nvrtc`]).
    pub fn ptx_disk_hits(&self) -> usize {
        self.ptx.disk_hits()
    }
    /// Free device memory in bytes now.
    pub fn free_mem(&self) -> Result<u64> {
        self.ctx.mem_get_info().map(|(free, _)| free as u64).map_err(|e| drv("device memory info", e))
    }
    /// A kernel's `meta` array (shapes, strides) on the device. Blocks of a
    /// layer mostly share their layout, so these are cached by content and
    /// a launch mostly uploads nothing (an upload from pageable memory can
    /// wait for the stream, leaving the device idle between launches).
    pub(crate) fn meta(&self, v: &[i64]) -> Result<Arc<cudarc::driver::CudaSlice<i64>>> {
        let mut cache = self.metas.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = cache.get(v) {
            return Ok(b.clone());
        }
        // SAFETY: filled below before any kernel reads it (or never read when empty).
        let mut buf = unsafe { self.stream.alloc::<i64>(v.len().max(1)) }.map_err(|e| drv("device allocation", e))?;
        if !v.is_empty() {
            self.stream.memcpy_htod(v, &mut buf).map_err(|e| drv("copy to the device", e))?;
        }
        if cache.len() >= META_CACHE {
            // freed in stream order: kernels already launched still read theirs
            cache.clear();
        }
        let buf = Arc::new(buf);
        cache.insert(v.to_vec(), buf.clone());
        Ok(buf)
    }
    /// Function `entry` of a generated kernel with cache key `key` (from
    /// [`codegen::kernel_key`]); `source` makes its CUDA C on first use.
    pub(crate) fn generated(&self, key: &codegen::KernelKey, name: &str, entry: &'static str, source: impl FnOnce() -> Result<String>) -> Result<CudaFunction> {
        if let Some(f) = self.generated.lock().unwrap_or_else(|e| e.into_inner()).get(&(key.clone(), entry)) {
            return Ok(f.clone());
        }
        let f = self.function(name, &source()?, entry)?;
        self.generated.lock().unwrap_or_else(|e| e.into_inner()).insert((key.clone(), entry), f.clone());
        Ok(f)
    }
    /// Function `entry` of the CUDA C `body` (compiled and loaded on first use).
    pub(crate) fn function(&self, name: &str, body: &str, entry: &str) -> Result<CudaFunction> {
        let ptx = self.ptx.get(name, body)?;
        let module = {
            let mut m = self.modules.lock().unwrap_or_else(|e| e.into_inner());
            match m.get(body) {
                Some(md) => md.clone(),
                None => {
                    let md = self
                        .ctx
                        .load_module(cudarc::nvrtc::Ptx::from_src(ptx.as_str()))
                        .map_err(|e| drv(&format!("loading the PTX of {name}"), e))?;
                    m.insert(body.to_string(), md.clone());
                    md
                }
            }
        };
        module.load_function(entry).map_err(|e| drv(&format!("kernel {entry} of {name}"), e))
    }
}
