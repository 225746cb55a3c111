//! Device chunks and host ↔ device transfers. A device chunk is a
//! row-major buffer of one element type; host chunks (`Chunk`) are the
//! only host type the GPU executor knows.

use std::sync::Arc;

use cudarc::driver::{CudaSlice, CudaStream};
use ndarray::{ArrayD, IxDyn};

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::exec::cpu::chunk::{Chunk, HostElement};

/// A block held in device memory (row-major, contiguous).
pub struct DevChunk {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub buf: CudaSlice<u8>,
}

impl DevChunk {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn nbytes(&self) -> u64 {
        (self.len() * self.dtype.size()) as u64
    }
}

impl std::fmt::Debug for DevChunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DevChunk({} {:?})", self.dtype, self.shape)
    }
}

pub(crate) fn drv(what: &str, e: impl std::fmt::Debug) -> Error {
    Error::Device(format!("{what}: {e:?}"))
}

/// A device buffer of `nbytes` (at least one byte: zero-size allocations are
/// not allowed by the driver), contents undefined.
pub fn alloc(stream: &Arc<CudaStream>, nbytes: usize) -> Result<CudaSlice<u8>> {
    // SAFETY: every kernel that gets this buffer writes all of it before it is read.
    unsafe { stream.alloc::<u8>(nbytes.max(1)) }.map_err(|e| drv("device allocation", e))
}

/// A new device chunk of `dtype` and `shape`, contents undefined.
pub fn empty(stream: &Arc<CudaStream>, dtype: DType, shape: &[usize]) -> Result<DevChunk> {
    let n: usize = shape.iter().product();
    Ok(DevChunk { dtype, shape: shape.to_vec(), buf: alloc(stream, n * dtype.size())? })
}

/// Copy a host chunk to the device.
pub fn upload(stream: &Arc<CudaStream>, c: &Chunk) -> Result<DevChunk> {
    let dtype = c.dtype();
    let shape = c.shape().to_vec();
    let bytes: Vec<u8> = crate::with_chunk!(c, a, T => {
        let std = a.as_standard_layout();
        let s = std.as_slice().ok_or_else(|| Error::Execution("internal: standard layout is not contiguous".into()))?;
        // SAFETY: plain old data of `s.len() * size_of::<T>()` bytes (bool is 0 or 1).
        unsafe { std::slice::from_raw_parts(s.as_ptr() as *const u8, std::mem::size_of_val(s)) }.to_vec()
    });
    let mut buf = alloc(stream, bytes.len())?;
    if !bytes.is_empty() {
        stream.memcpy_htod(&bytes, &mut buf).map_err(|e| drv("copy to the device", e))?;
    }
    Ok(DevChunk { dtype, shape, buf })
}

/// Copy a device chunk to the host.
pub fn download(stream: &Arc<CudaStream>, d: &DevChunk) -> Result<Chunk> {
    let n = d.len();
    let nbytes = n * d.dtype.size();
    let mut bytes = vec![0u8; d.buf.len().max(nbytes)];
    if nbytes > 0 {
        stream.memcpy_dtoh(&d.buf, &mut bytes).map_err(|e| drv("copy from the device", e))?;
        stream.synchronize().map_err(|e| drv("device synchronize", e))?;
    }
    from_bytes(d.dtype, &d.shape, &bytes[..nbytes])
}

/// A host chunk from row-major element bytes.
pub fn from_bytes(dtype: DType, shape: &[usize], bytes: &[u8]) -> Result<Chunk> {
    let n: usize = shape.iter().product();
    if bytes.len() != n * dtype.size() {
        return Err(Error::Execution("internal: device buffer size".into()));
    }
    if dtype == DType::Bool {
        let v: Vec<bool> = bytes.iter().map(|&b| b != 0).collect();
        return ArrayD::from_shape_vec(IxDyn(shape), v).map(Chunk::Bool).map_err(|e| Error::Execution(e.to_string()));
    }
    crate::dispatch_dtype!(dtype, T => {
        let mut v: Vec<T> = vec![T::default(); n];
        // SAFETY: `v` has exactly `bytes.len()` bytes; every bit pattern is a valid number.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), v.as_mut_ptr() as *mut u8, bytes.len()) };
        ArrayD::from_shape_vec(IxDyn(shape), v).map(T::wrap).map_err(|e| Error::Execution(e.to_string()))
    })
}
