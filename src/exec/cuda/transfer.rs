//! Host ↔ device copies through page-locked (pinned) buffers on a copy
//! stream of their own, so that transfers overlap the kernels of the
//! compute stream:
//!
//! - an upload packs the block into a pinned buffer and queues the copy on
//!   the copy stream; the compute stream waits for it only where the block
//!   is read, so the host goes on to the next task meanwhile;
//! - a download ([`start`]) queues the copy after the kernel that made the
//!   block and returns a [`Pending`]; the host takes the chunk
//!   ([`Pending::finish`]) later, while the device computes the next tasks.
//!
//! Pinned buffers are kept for reuse by exact size (blocks of a layer are
//! mostly one size), up to [`POOL_BYTES`]; each buffer carries the event of
//! its last copy, and the host waits for that event before reusing it.
//! Blocks under [`PINNED_MIN`] bytes go through pageable memory on the
//! compute stream: there the setup costs more than the copy.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use cudarc::driver::{CudaContext, PinnedHostSlice};

use super::memory::{self, drv, DevChunk};
use super::Device;
use crate::error::{Error, Result};
use crate::exec::cpu::chunk::Chunk;

/// Blocks smaller than this are copied through pageable memory.
pub const PINNED_MIN: usize = 1 << 20;

/// Most bytes of pinned buffers kept for reuse.
pub const POOL_BYTES: usize = 512 << 20;

/// Pinned host buffers for reuse, by size.
#[derive(Default)]
pub struct Staging {
    free: Mutex<HashMap<usize, Vec<PinnedHostSlice<u8>>>>,
    pooled: AtomicUsize,
    allocated: AtomicUsize,
}

impl Staging {
    fn take(&self, ctx: &Arc<CudaContext>, n: usize) -> Result<PinnedHostSlice<u8>> {
        if let Some(p) = self.free.lock().unwrap_or_else(|e| e.into_inner()).get_mut(&n).and_then(|v| v.pop()) {
            self.pooled.fetch_sub(n, Ordering::Relaxed);
            return Ok(p);
        }
        self.allocated.fetch_add(1, Ordering::Relaxed);
        // SAFETY: plain bytes, written before they are read (by the host
        // packing an upload, or by the device copying a download). Flags 0:
        // cached memory, fast for the host to read back (write-combined is not).
        unsafe { ctx.alloc_pinned_with_flags::<u8>(n, 0) }.map_err(|e| drv("allocating pinned host memory", e))
    }

    fn give(&self, p: PinnedHostSlice<u8>) {
        let n = p.len();
        if self.pooled.load(Ordering::Relaxed) + n > POOL_BYTES {
            return; // dropped: waits for its last copy, then freed
        }
        self.pooled.fetch_add(n, Ordering::Relaxed);
        self.free.lock().unwrap_or_else(|e| e.into_inner()).entry(n).or_default().push(p);
    }

    /// Pinned buffers allocated so far (a measure of reuse).
    pub fn allocations(&self) -> usize {
        self.allocated.load(Ordering::Relaxed)
    }
}

/// The row-major bytes of a host chunk (a copy only when it is not in
/// standard layout).
fn with_bytes<R>(c: &Chunk, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
    crate::with_chunk!(c, a, T => {
        let std = a.as_standard_layout();
        let s = std.as_slice().ok_or_else(|| Error::Execution("internal: standard layout is not contiguous".into()))?;
        // SAFETY: plain old data of `size_of_val(s)` bytes (bool is 0 or 1).
        Ok(f(unsafe { std::slice::from_raw_parts(s.as_ptr() as *const u8, std::mem::size_of_val(s)) }))
    })
}

/// Copy a host chunk to the device (see the module docs).
pub fn upload(dev: &Device, c: &Chunk) -> Result<DevChunk> {
    let n = c.nbytes() as usize;
    if n < PINNED_MIN {
        return memory::upload(&dev.stream, c);
    }
    let mut out = memory::empty(&dev.stream, c.dtype(), c.shape())?;
    let mut p = dev.staging.take(&dev.ctx, n)?;
    {
        // waits for this buffer's previous copy, if any
        let dst = p.as_mut_slice().map_err(|e| drv("pinned host memory", e))?;
        with_bytes(c, |b| dst.copy_from_slice(b))?;
    }
    // the copy stream starts after the allocation (stream-ordered on the
    // compute stream); the compute stream reads the block after the copy
    let allocated = dev.stream.record_event(None).map_err(|e| drv("recording an event", e))?;
    dev.copy.wait(&allocated).map_err(|e| drv("stream wait", e))?;
    dev.copy.memcpy_htod(&p, &mut out.buf).map_err(|e| drv("copy to the device", e))?;
    let copied = dev.copy.record_event(None).map_err(|e| drv("recording an event", e))?;
    dev.stream.wait(&copied).map_err(|e| drv("stream wait", e))?;
    dev.staging.give(p);
    Ok(out)
}

/// A download in flight: the device block is kept until the copy is done.
pub struct Pending {
    inner: PendingInner,
}

enum PendingInner {
    Ready(Chunk),
    Copying { block: Arc<DevChunk>, pinned: PinnedHostSlice<u8> },
}

/// Queue the copy of device block `d` to the host after the work queued so
/// far on the compute stream (small blocks are copied at once).
pub fn start(dev: &Device, d: &Arc<DevChunk>) -> Result<Pending> {
    let n = d.nbytes() as usize;
    if n < PINNED_MIN {
        return Ok(Pending { inner: PendingInner::Ready(memory::download(&dev.stream, d)?) });
    }
    let mut p = dev.staging.take(&dev.ctx, n)?;
    let made = dev.stream.record_event(None).map_err(|e| drv("recording an event", e))?;
    dev.copy.wait(&made).map_err(|e| drv("stream wait", e))?;
    if d.buf.len() != n {
        return Err(Error::Execution("internal: device buffer size".into()));
    }
    dev.copy.memcpy_dtoh(&d.buf, &mut p).map_err(|e| drv("copy from the device", e))?;
    Ok(Pending { inner: PendingInner::Copying { block: d.clone(), pinned: p } })
}

impl Pending {
    /// Wait for the copy and make the host chunk.
    pub fn finish(self, dev: &Device) -> Result<Chunk> {
        match self.inner {
            PendingInner::Ready(c) => Ok(c),
            PendingInner::Copying { block, pinned } => {
                // as_slice waits for the copy's event
                let c = memory::from_bytes(block.dtype, &block.shape, pinned.as_slice().map_err(|e| drv("copy from the device", e))?);
                dev.staging.give(pinned);
                drop(block);
                c
            }
        }
    }
}

/// Copy device block `d` to the host now.
pub fn download(dev: &Device, d: &Arc<DevChunk>) -> Result<Chunk> {
    start(dev, d)?.finish(dev)
}
