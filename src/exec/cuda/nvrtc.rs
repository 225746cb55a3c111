//! CUDA C → PTX with NVRTC (loaded at run time), and the in-memory cache of
//! compiled PTX keyed by source hash (a generated program is compiled once
//! per process, whatever the number of blocks and runs).

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::nvrtc::{compile_ptx_with_opts, CompileError, CompileOptions};

use super::kernels::COMMON;
use crate::error::{Error, Result};

/// The virtual architecture PTX is generated for (sm_80 and newer run it;
/// the driver compiles it for the card when the module is loaded).
pub const ARCH: &str = "compute_80";

/// Whether the NVRTC library (`libnvrtc.so.12` ...) can be loaded.
pub fn nvrtc_available() -> bool {
    static PRESENT: OnceLock<bool> = OnceLock::new();
    // SAFETY: only tries to dlopen the library by its usual names.
    *PRESENT.get_or_init(|| std::panic::catch_unwind(|| unsafe { cudarc::nvrtc::sys::is_culib_present() }).unwrap_or(false))
}

/// Compile `body` (CUDA C without the common prelude, which is prepended)
/// to PTX text. Errors carry NVRTC's log.
pub fn compile(name: &str, body: &str) -> Result<String> {
    if !nvrtc_available() {
        return Err(Error::Device(
            "NVRTC (libnvrtc.so.12) cannot be loaded: install the CUDA toolkit or the `nvidia-cuda-nvrtc-cu12` wheel and put its lib folder on LD_LIBRARY_PATH".into(),
        ));
    }
    let src = format!("{COMMON}\n// ---- {name}\n{body}");
    if src.contains('\0') {
        return Err(Error::Device(format!("kernel source {name} contains a NUL byte")));
    }
    let opts = CompileOptions {
        // a * b + c rounds as on the CPU (no contraction into FMA)
        fmad: Some(false),
        ftz: Some(false),
        prec_div: Some(true),
        prec_sqrt: Some(true),
        arch: Some(ARCH),
        name: Some(name.to_string()),
        options: vec!["--std=c++17".into()],
        ..Default::default()
    };
    let res = std::panic::catch_unwind(|| compile_ptx_with_opts(&src, opts))
        .map_err(|_| Error::Device(format!("NVRTC failed (panicked) compiling {name}")))?;
    match res {
        Ok(ptx) => Ok(ptx.to_src()),
        Err(CompileError::CompileError { log, .. }) => {
            Err(Error::Device(format!("NVRTC could not compile {name}:\n{}", log.to_string_lossy())))
        }
        Err(e) => Err(Error::Device(format!("NVRTC failed on {name}: {e}"))),
    }
}

/// Compiled PTX by source hash.
#[derive(Default)]
pub struct PtxCache {
    map: Mutex<HashMap<u64, Arc<String>>>,
}

impl PtxCache {
    /// The PTX of `body`, compiled on first use.
    pub fn get(&self, name: &str, body: &str) -> Result<Arc<String>> {
        let mut h = DefaultHasher::new();
        body.hash(&mut h);
        let key = h.finish();
        if let Some(p) = self.map.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(p.clone());
        }
        let ptx = Arc::new(compile(name, body)?);
        self.map.lock().unwrap_or_else(|e| e.into_inner()).insert(key, ptx.clone());
        Ok(ptx)
    }
    /// Number of distinct sources compiled.
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
    /// Whether nothing was compiled yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
