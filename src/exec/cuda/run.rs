//! The GPU task loop. Tasks run one at a time on one compute stream, in the
//! scheduler's priority order (the CPU executor's order with one worker);
//! host ↔ device copies go on a copy stream ([`transfer`]), so uploads and
//! output downloads overlap the kernels of the tasks around them.
//!
//! On the device: constant, random and identity-matrix sources; fused
//! elementwise programs (`Map`, with constant/random inputs generated
//! inline on the device); the first step of reductions (a block's partial:
//! over all axes of a block, sum, nansum, prod, min, max, any, all, mean and
//! nanmean are fused into the program's kernel; other kinds and axis
//! subsets run the program, then the axis kernels; the small partials are
//! merged on the host); block transposes; 2-d matrix
//! products in f32/f64 (cuBLAS, summed over the contraction blocks on the
//! device). Every other task — and any device task the device cannot take
//! (a type or kind the kernels do not cover, or no room under the device
//! memory limit) — runs on the host through the caller's [`HostTasks`],
//! with its inputs copied to the host. Results are the same either way.
//!
//! Device blocks stay on the device between tasks and are freed after
//! their last reader. With a device memory limit, blocks not needed by the
//! current task are moved to the host when the next one would not fit.

use std::borrow::Cow;
use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use cudarc::driver::{CudaFunction, LaunchConfig, PushKernelArg};

use super::codegen::{self, InputMode, FUSED_REDUCTIONS, REDUCE_THREADS};
use super::kernels;
use super::memory::{self, drv, DevChunk};
use super::transfer::{self, Pending};
use super::Device;
use crate::chunks::Chunks;
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};
use crate::exec::cpu::chunk::Chunk;
use crate::exec::{outputs, Stats};
use crate::expr::{Distribution, Program, Source};
use crate::task::linalg::LinalgLayer;
use crate::task::order::Schedule;
use crate::task::{InputRef, Inline, LayerId, LayerKind, TaskGraph, TaskId};

/// How the caller runs a task on the host (the CPU executor's task kernels,
/// given by `Executor`): the GPU executor knows host values only through this.
pub trait HostTasks: Sync {
    /// A task's result on the host (a block or a reduction partial).
    type Value: Send + Sync;
    /// Run task (`layer`, `block`) on the host from its inputs (in `TaskGraph::deps` order).
    fn run(&self, g: &TaskGraph, layer: LayerId, block: &[usize], deps: &[TaskId], inputs: &[Arc<Self::Value>]) -> Result<Arc<Self::Value>>;
    /// The block of a value (`None` for a partial).
    fn block<'a>(&self, v: &'a Self::Value) -> Option<&'a Chunk>;
    fn from_block(&self, c: Chunk) -> Self::Value;
    /// A reduction partial (the CPU's field arrays, keepdims shape).
    fn from_partial(&self, fields: Vec<Chunk>) -> Self::Value;
    fn nbytes(&self, v: &Self::Value) -> u64;
}

/// Where output blocks go instead of into assembled results.
pub type Sink<'a> = &'a (dyn Fn(usize, &[usize], &Chunk) -> Result<()> + Sync);

/// Settings of one GPU run.
pub struct RunConfig<'a> {
    /// Most bytes of device blocks held at once (`None`: 90% of the memory
    /// free when the run starts).
    pub device_memory_limit: Option<u64>,
    pub sink: Option<Sink<'a>>,
}

enum Val<V> {
    Dev(Arc<DevChunk>),
    Host(Arc<V>),
}

impl<V> Clone for Val<V> {
    fn clone(&self) -> Self {
        match self {
            Val::Dev(d) => Val::Dev(d.clone()),
            Val::Host(h) => Val::Host(h.clone()),
        }
    }
}

/// A device task could not take this block: run it on the host.
struct Unsupported;

type DevResult<T> = std::result::Result<T, DevErr>;

enum DevErr {
    Unsupported,
    Fail(Error),
}

impl From<Error> for DevErr {
    fn from(e: Error) -> Self {
        match e {
            Error::NotImplemented(_) => DevErr::Unsupported,
            e => DevErr::Fail(e),
        }
    }
}

impl From<Unsupported> for DevErr {
    fn from(_: Unsupported) -> Self {
        DevErr::Unsupported
    }
}

/// What a device task produced.
enum DevOut {
    Block(DevChunk),
    Partial(Vec<Chunk>),
}

const THREADS: u32 = 256;

/// Most blocks of a grid-stride launch.
pub(crate) const MAX_BLOCKS: usize = 8192;

fn grid_for(n: usize) -> LaunchConfig {
    grid_capped(n, MAX_BLOCKS)
}

fn grid_capped(n: usize, max_blocks: usize) -> LaunchConfig {
    let blocks = n.div_ceil(THREADS as usize).clamp(1, max_blocks.max(1)) as u32;
    LaunchConfig { grid_dim: (blocks, 1, 1), block_dim: (THREADS, 1, 1), shared_mem_bytes: 0 }
}

/// Row-major strides (in elements) of `shape`.
fn row_major(shape: &[usize]) -> Vec<i64> {
    crate::chunks::row_major_strides(shape).into_iter().map(|s| s as i64).collect()
}

/// The bits of a scalar in an unsigned integer of its size.
fn scalar_bits(s: Scalar) -> u64 {
    match s {
        Scalar::Bool(v) => v as u64,
        Scalar::I8(v) => v as u8 as u64,
        Scalar::I16(v) => v as u16 as u64,
        Scalar::I32(v) => v as u32 as u64,
        Scalar::I64(v) => v as u64,
        Scalar::U8(v) => v as u64,
        Scalar::U16(v) => v as u64,
        Scalar::U32(v) => v as u64,
        Scalar::U64(v) => v,
        Scalar::F32(v) => v.to_bits() as u64,
        Scalar::F64(v) => v.to_bits(),
    }
}

struct Gpu<'a> {
    dev: &'a Device,
}

impl Gpu<'_> {
    fn kernel(&self, file: &kernels::KernelFile, entry: &str) -> Result<CudaFunction> {
        self.dev.function(file.name, file.source, entry)
    }

    /// A filled block: every element `v`.
    fn fill(&self, shape: &[usize], v: Scalar) -> Result<DevChunk> {
        let d = v.dtype();
        let out = memory::empty(&self.dev.stream, d, shape)?;
        let n = out.len();
        if n == 0 {
            return Ok(out);
        }
        let f = self.kernel(&kernels::FILL, &format!("floe_fill_{}", kernels::bits_name(d)))?;
        let bits = scalar_bits(v);
        let n64 = n as i64;
        let mut b = self.dev.stream.launch_builder(&f);
        b.arg(&out.buf);
        let (v8, v16, v32) = (bits as u8, bits as u16, bits as u32);
        match d.size() {
            1 => b.arg(&v8),
            2 => b.arg(&v16),
            4 => b.arg(&v32),
            _ => b.arg(&bits),
        };
        b.arg(&n64);
        // SAFETY: the kernel writes n elements of out's size.
        unsafe { b.launch(grid_for(n)) }.map_err(|e| drv("launching floe_fill", e))?;
        Ok(out)
    }

    /// A generated source block on the device, or `Unsupported`.
    fn source(&self, src: &Source, full_shape: &[usize], chunks: &Chunks, block: &[usize], dtype: DType) -> DevResult<DevChunk> {
        let shape = chunks.block_shape(block);
        let start = chunks.block_start(block);
        match src {
            Source::Full(v) if v.dtype() == dtype => Ok(self.fill(&shape, *v)?),
            Source::Random { dist, a, b, seed } if dtype == DType::F64 => {
                let out = memory::empty(&self.dev.stream, DType::F64, &shape)?;
                let n = out.len();
                if n == 0 {
                    return Ok(out);
                }
                let mut meta: Vec<i64> = shape.iter().map(|&s| s as i64).collect();
                meta.extend(start.iter().map(|&s| s as i64));
                meta.extend(row_major(full_shape));
                let meta = self.dev.meta(&meta)?;
                let entry = match dist {
                    Distribution::Uniform => "floe_random_uniform",
                    Distribution::Normal => "floe_random_normal",
                };
                let f = self.kernel(&kernels::RANDOM, entry)?;
                let (n64, nd, seed, a, bb) = (n as i64, shape.len() as i32, *seed, *a, *b);
                let mut l = self.dev.stream.launch_builder(&f);
                l.arg(&out.buf).arg(&*meta).arg(&n64).arg(&nd).arg(&seed).arg(&a).arg(&bb);
                // SAFETY: writes n f64 of out; meta has 3·ndim values.
                unsafe { l.launch(grid_for(n)) }.map_err(|e| drv("launching a random kernel", e))?;
                Ok(out)
            }
            Source::Eye if shape.len() == 2 => {
                let one = Scalar::I64(1).cast(dtype);
                let out = memory::empty(&self.dev.stream, dtype, &shape)?;
                let n = out.len();
                if n == 0 {
                    return Ok(out);
                }
                let f = self.kernel(&kernels::FILL, &format!("floe_eye_{}", kernels::bits_name(dtype)))?;
                let bits = scalar_bits(one);
                let (v8, v16, v32) = (bits as u8, bits as u16, bits as u32);
                let (rows, cols, r0, c0) = (shape[0] as i64, shape[1] as i64, start[0] as i64, start[1] as i64);
                let mut l = self.dev.stream.launch_builder(&f);
                l.arg(&out.buf);
                match dtype.size() {
                    1 => l.arg(&v8),
                    2 => l.arg(&v16),
                    4 => l.arg(&v32),
                    _ => l.arg(&bits),
                };
                l.arg(&rows).arg(&cols).arg(&r0).arg(&c0);
                // SAFETY: writes rows·cols elements of out.
                unsafe { l.launch(grid_for(n)) }.map_err(|e| drv("launching floe_eye", e))?;
                Ok(out)
            }
            _ => Err(DevErr::Unsupported),
        }
    }

    /// The device inputs of a Map/ReducePartial task: generated inline
    /// sources and the dependencies (uploaded when on the host).
    fn program_inputs<V>(&self, refs: &[InputRef], block: &[usize], vals: &[Val<V>], host: &dyn HostView<V>) -> DevResult<Vec<Arc<DevChunk>>> {
        let mut out = Vec::with_capacity(refs.len());
        let mut it = vals.iter();
        for r in refs {
            match &r.inline {
                Some(Inline { source, shape, chunks, dtype }) => {
                    let b: Vec<usize> = r.bcast.iter().enumerate().map(|(k, &bc)| if bc { 0 } else { block[k + r.offset] }).collect();
                    out.push(Arc::new(self.source(source, shape, chunks, &b, *dtype)?));
                }
                None => {
                    let v = it.next().ok_or_else(|| Error::Execution("internal: missing program input".into()))?;
                    out.push(self.to_device(v, host)?);
                }
            }
        }
        Ok(out)
    }

    fn to_device<V>(&self, v: &Val<V>, host: &dyn HostView<V>) -> DevResult<Arc<DevChunk>> {
        match v {
            Val::Dev(d) => Ok(d.clone()),
            Val::Host(h) => {
                let c = host.block(h).ok_or(Unsupported)?;
                Ok(Arc::new(transfer::upload(self.dev, c)?))
            }
        }
    }

    /// Input modes and the `meta` array (output shape, then strides per input).
    fn layout(&self, refs: &[InputRef], ins: &[Arc<DevChunk>], out_shape: &[usize]) -> Result<(Vec<InputMode>, Vec<i64>)> {
        let nd = out_shape.len();
        let mut meta: Vec<i64> = out_shape.iter().map(|&s| s as i64).collect();
        let mut modes = Vec::with_capacity(ins.len());
        let n_out: usize = out_shape.iter().product();
        for (r, c) in refs.iter().zip(ins) {
            let off = nd.checked_sub(c.shape.len()).ok_or_else(|| bad_bcast(&c.shape, out_shape))?;
            let _ = r;
            let st = row_major(&c.shape);
            let mut strides = vec![0i64; nd];
            for (j, &len) in c.shape.iter().enumerate() {
                let k = j + off;
                if len == out_shape[k] {
                    strides[k] = if len == 1 { 0 } else { st[j] };
                } else if len != 1 {
                    return Err(bad_bcast(&c.shape, out_shape));
                }
            }
            meta.extend_from_slice(&strides);
            modes.push(if c.len() == 1 {
                InputMode::Scalar
            } else if c.len() == n_out && c.shape.len() == nd {
                InputMode::Contiguous
            } else {
                InputMode::Strided
            });
        }
        Ok((modes, meta))
    }

    fn map(&self, program: &Program, refs: &[InputRef], ins: &[Arc<DevChunk>], shape: &[usize]) -> DevResult<DevChunk> {
        let (modes, meta) = self.layout(refs, ins, shape)?;
        Ok(launch_map(self.dev, program, &modes, &meta, ins, shape)?)
    }

    /// A reduction over all elements of the program's block: the CPU partial's fields.
    fn map_reduce(&self, program: &Program, kind: crate::expr::ReduceKind, refs: &[InputRef], ins: &[Arc<DevChunk>], shape: &[usize]) -> DevResult<Vec<Chunk>> {
        use crate::expr::ReduceKind::*;
        if !FUSED_REDUCTIONS.contains(&kind) {
            return Err(DevErr::Unsupported);
        }
        let (modes, meta) = self.layout(refs, ins, shape)?;
        let key = codegen::kernel_key(program, &modes, Some(kind));
        let src = || codegen::map_reduce_source(program, &modes, kind);
        let f = self.dev.generated(&key, "fused_reduce.cu", "floe_map_reduce", src)?;
        let tree = self.dev.generated(&key, "fused_reduce.cu", "floe_map_reduce_tree", src)?;
        let d = program.output_dtype();
        // the accumulator's fields and size
        let fields: Vec<DType> = match kind {
            Sum | NanSum | Prod => vec![d.sum_dtype()],
            Min | Max => vec![d],
            Any | All => vec![DType::Bool],
            _ => vec![DType::F64, DType::F64],
        };
        let acc_size: usize = fields.iter().map(|f| f.size()).sum();
        let n: usize = shape.iter().product();
        let nblocks = n.div_ceil(REDUCE_THREADS as usize).clamp(1, 1024);
        let parts = memory::alloc(&self.dev.stream, nblocks * acc_size)?;
        let result = memory::alloc(&self.dev.stream, acc_size)?;
        let meta = self.dev.meta(&meta)?;
        let (n64, nd, np) = (n as i64, shape.len() as i32, nblocks as i64);
        let cfg = LaunchConfig { grid_dim: (nblocks as u32, 1, 1), block_dim: (REDUCE_THREADS, 1, 1), shared_mem_bytes: 0 };
        let mut l = self.dev.stream.launch_builder(&f);
        l.arg(&parts);
        for c in ins {
            l.arg(&c.buf);
        }
        l.arg(&*meta).arg(&n64).arg(&nd);
        // SAFETY: each block writes its partial; parts has nblocks accumulators.
        unsafe { l.launch(cfg) }.map_err(|e| drv("launching a fused reduction", e))?;
        let mut t = self.dev.stream.launch_builder(&tree);
        t.arg(&result).arg(&parts).arg(&np);
        let one = LaunchConfig { grid_dim: (1, 1, 1), block_dim: (REDUCE_THREADS, 1, 1), shared_mem_bytes: 0 };
        // SAFETY: one block merges nblocks partials into one accumulator.
        unsafe { t.launch(one) }.map_err(|e| drv("launching a reduction tree", e))?;
        let mut bytes = vec![0u8; result.len()];
        self.dev.stream.memcpy_dtoh(&result, &mut bytes).map_err(|e| drv("copy from the device", e))?;
        self.dev.stream.synchronize().map_err(|e| drv("device synchronize", e))?;
        let kshape = vec![1usize; shape.len()];
        let mut out = Vec::new();
        let mut at = 0;
        for fd in fields {
            out.push(memory::from_bytes(fd, &kshape, &bytes[at..at + fd.size()])?);
            at += fd.size();
        }
        // Mean's partial is (sum, count); the CPU's field order is the same
        Ok(out)
    }

    /// The partial of a reduction over some axes of a device block, by the
    /// axis kernels of `kernels/reduce_axis.cu` (the block is first permuted
    /// so the reduced axes are last when they are not one run of axes).
    fn reduce_axes(&self, x: &DevChunk, kind: crate::expr::ReduceKind, axes: &[usize], off: usize) -> DevResult<Vec<Chunk>> {
        use crate::expr::ReduceKind::*;
        let nd = x.shape.len();
        let mut axes = axes.to_vec();
        axes.sort_unstable();
        if axes.is_empty() || axes.iter().any(|&a| a >= nd) {
            return Err(DevErr::Unsupported);
        }
        let d = x.dtype;
        let name = match kind {
            Sum => "sum",
            NanSum => "nansum",
            Prod => "prod",
            Min => "min",
            Max => "max",
            NanMin => "nanmin",
            NanMax => "nanmax",
            Any => "any",
            All => "all",
            ArgMin => "argmin",
            ArgMax => "argmax",
            Mean => "mean",
            NanMean => "nanmean",
            Var | Std => "moments",
            NanVar | NanStd => "nanmoments",
        };
        if d == DType::Bool && matches!(kind, Sum | NanSum | Prod | Mean | NanMean | Var | Std | NanVar | NanStd) {
            return Err(DevErr::Unsupported);
        }
        if matches!(kind, ArgMin | ArgMax) && axes.len() != 1 {
            return Err(DevErr::Unsupported);
        }
        // (outer, len, inner) over a contiguous run of axes, else permute the reduced axes last
        let run = axes.windows(2).all(|w| w[1] == w[0] + 1);
        let permuted;
        let (src, outer, len, inner) = if run {
            let (a0, a1) = (axes[0], axes[axes.len() - 1] + 1);
            (x, x.shape[..a0].iter().product::<usize>(), x.shape[a0..a1].iter().product::<usize>(), x.shape[a1..].iter().product::<usize>())
        } else {
            let mut perm: Vec<usize> = (0..nd).filter(|k| !axes.contains(k)).collect();
            perm.extend_from_slice(&axes);
            permuted = self.permute(x, &perm)?;
            let outer: usize = (0..nd).filter(|k| !axes.contains(k)).map(|k| x.shape[k]).product();
            let len: usize = axes.iter().map(|&k| x.shape[k]).product();
            (&permuted, outer, len, 1)
        };
        let fields: Vec<DType> = match kind {
            Sum | NanSum | Prod => vec![d.sum_dtype()],
            Min | Max => vec![d],
            NanMin | NanMax => vec![d, DType::I64],
            Any | All => vec![DType::Bool],
            ArgMin | ArgMax => vec![d, DType::I64],
            Mean | NanMean => vec![DType::F64, DType::F64],
            Var | Std | NanVar | NanStd => vec![DType::F64, DType::F64, DType::F64],
        };
        let kshape: Vec<usize> = x.shape.iter().enumerate().map(|(k, &n)| if axes.contains(&k) { 1 } else { n }).collect();
        let nout = outer * inner;
        let outs: Vec<DevChunk> = fields.iter().map(|&fd| memory::empty(&self.dev.stream, fd, &kshape)).collect::<Result<_>>()?;
        if nout > 0 {
            let f = self.kernel(&kernels::REDUCE_AXIS, &format!("floe_axis_{name}_{}", codegen::ctype(d)))?;
            let (o64, l64, i64_, off64) = (outer as i64, len as i64, inner as i64, off as i64);
            let mut l = self.dev.stream.launch_builder(&f);
            for o in &outs {
                l.arg(&o.buf);
            }
            l.arg(&src.buf).arg(&o64).arg(&l64).arg(&i64_);
            if matches!(kind, ArgMin | ArgMax) {
                l.arg(&off64);
            }
            // SAFETY: one thread per output element reads its `len` inputs inside the block.
            unsafe { l.launch(grid_for(nout)) }.map_err(|e| drv("launching an axis reduction", e))?;
        }
        let mut host = Vec::with_capacity(outs.len());
        for o in &outs {
            host.push(memory::download(&self.dev.stream, o)?);
        }
        Ok(host)
    }

    /// Output axis k is input axis perm[k].
    fn permute(&self, x: &DevChunk, perm: &[usize]) -> DevResult<DevChunk> {
        if perm.len() != x.shape.len() {
            return Err(Error::Execution("internal: transpose rank".into()).into());
        }
        let shape: Vec<usize> = perm.iter().map(|&p| x.shape[p]).collect();
        let out = memory::empty(&self.dev.stream, x.dtype, &shape)?;
        let n = out.len();
        if n == 0 {
            return Ok(out);
        }
        let st = row_major(&x.shape);
        let mut meta: Vec<i64> = shape.iter().map(|&s| s as i64).collect();
        meta.extend(perm.iter().map(|&p| st[p]));
        let meta = self.dev.meta(&meta)?;
        let f = self.kernel(&kernels::PERMUTE, &format!("floe_permute_{}", kernels::bits_name(x.dtype)))?;
        let (n64, nd) = (n as i64, shape.len() as i32);
        let mut l = self.dev.stream.launch_builder(&f);
        l.arg(&out.buf).arg(&x.buf).arg(&*meta).arg(&n64).arg(&nd);
        // SAFETY: reads x through permuted strides inside its shape, writes n elements.
        unsafe { l.launch(grid_for(n)) }.map_err(|e| drv("launching floe_permute", e))?;
        Ok(out)
    }

    fn blas(&self) -> Result<Arc<super::blas::Blas>> {
        let mut b = self.dev.blas.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = b.as_ref() {
            return Ok(h.clone());
        }
        let h = Arc::new(super::blas::Blas::new(self.dev.stream.clone())?);
        *b = Some(h.clone());
        Ok(h)
    }
}

/// Launch the generated elementwise kernel of `program` over inputs `ins`
/// laid out as `modes`/`meta` (see `Gpu::layout`), into a new block of `shape`.
pub(crate) fn launch_map(dev: &Device, program: &Program, modes: &[InputMode], meta: &[i64], ins: &[Arc<DevChunk>], shape: &[usize]) -> Result<DevChunk> {
    launch_map_grid(dev, program, modes, meta, ins, shape, MAX_BLOCKS)
}

/// [`launch_map`] with at most `max_blocks` blocks (the benchmarks try other grids).
pub(crate) fn launch_map_grid(
    dev: &Device,
    program: &Program,
    modes: &[InputMode],
    meta: &[i64],
    ins: &[Arc<DevChunk>],
    shape: &[usize],
    max_blocks: usize,
) -> Result<DevChunk> {
    let key = codegen::kernel_key(program, modes, None);
    let f = dev.generated(&key, "fused.cu", "floe_map", || codegen::map_source(program, modes))?;
    let out = memory::empty(&dev.stream, program.output_dtype(), shape)?;
    let n = out.len();
    if n == 0 {
        return Ok(out);
    }
    let meta = dev.meta(meta)?;
    let (n64, nd) = (n as i64, shape.len() as i32);
    let mut l = dev.stream.launch_builder(&f);
    l.arg(&out.buf);
    for c in ins {
        l.arg(&c.buf);
    }
    l.arg(&*meta).arg(&n64).arg(&nd);
    // SAFETY: the generated kernel reads each input through its layout and writes n outputs.
    unsafe { l.launch(grid_capped(n, max_blocks)) }.map_err(|e| drv("launching a fused program", e))?;
    Ok(out)
}

fn bad_bcast(a: &[usize], b: &[usize]) -> Error {
    Error::Execution(format!("internal: block of shape {a:?} does not broadcast to {b:?}"))
}

/// Host-value access for the device side (the `HostTasks` without the run).
trait HostView<V> {
    fn block<'a>(&self, v: &'a V) -> Option<&'a Chunk>;
}

impl<H: HostTasks> HostView<H::Value> for H {
    fn block<'a>(&self, v: &'a H::Value) -> Option<&'a Chunk> {
        HostTasks::block(self, v)
    }
}

/// Run one task on the device, or say it cannot.
fn run_device<H: HostTasks>(gpu: &Gpu<'_>, g: &TaskGraph, layer: LayerId, block: &[usize], vals: &[Val<H::Value>], host: &H) -> DevResult<DevOut> {
    let l = &g.layers[layer];
    match &l.kind {
        LayerKind::Source { source, shape } => {
            let chunks = l.chunks.as_ref().ok_or(Unsupported)?;
            Ok(DevOut::Block(gpu.source(source, shape, chunks, block, l.dtype)?))
        }
        LayerKind::Map { program, inputs } => {
            let chunks = l.chunks.as_ref().ok_or(Unsupported)?;
            let ins = gpu.program_inputs(inputs, block, vals, host)?;
            Ok(DevOut::Block(gpu.map(program, inputs, &ins, &chunks.block_shape(block))?))
        }
        LayerKind::ReducePartial { program, inputs, spec, in_chunks, .. } => {
            let shape = in_chunks.block_shape(block);
            if shape.is_empty() {
                return Err(DevErr::Unsupported);
            }
            let ins = gpu.program_inputs(inputs, block, vals, host)?;
            if spec.axes.len() == shape.len() && FUSED_REDUCTIONS.contains(&spec.kind) {
                // the program's block never exists: one fused kernel
                return Ok(DevOut::Partial(gpu.map_reduce(program, spec.kind, inputs, &ins, &shape)?));
            }
            // the program's block on the device, then the axis kernels
            let data = if program.is_identity() && ins.len() == 1 && ins[0].shape == shape {
                ins[0].clone()
            } else {
                Arc::new(gpu.map(program, inputs, &ins, &shape)?)
            };
            let off = spec.axes.first().map(|&a| in_chunks.offset(a, block[a])).unwrap_or(0);
            Ok(DevOut::Partial(gpu.reduce_axes(&data, spec.kind, &spec.axes, off)?))
        }
        LayerKind::Transpose { perm, .. } => {
            let x = gpu.to_device(vals.first().ok_or(Unsupported)?, host)?;
            Ok(DevOut::Block(gpu.permute(&x, perm)?))
        }
        LayerKind::Linalg(LinalgLayer::Contract { nd_a: 2, nd_b: 2, axes_a, axes_b, a_inline: None, b_inline: None, out_chunks, .. })
            if axes_a[..] == [1] && axes_b[..] == [0] && matches!(l.dtype, DType::F32 | DType::F64) =>
        {
            let out_shape = out_chunks.block_shape(&block[..2]);
            if vals.is_empty() || vals.len() % 2 != 0 {
                return Err(DevErr::Unsupported);
            }
            // C starts at zero and every pair adds A_j·B_j (an empty contraction leaves zeros)
            let mut c = memory::empty(&gpu.dev.stream, l.dtype, &out_shape)?;
            gpu.dev.stream.memset_zeros(&mut c.buf).map_err(|e| drv("device memset", e))?;
            let blas = gpu.blas()?;
            for pair in vals.chunks(2) {
                let a = gpu.to_device(&pair[0], host)?;
                let b = gpu.to_device(&pair[1], host)?;
                if a.dtype != l.dtype || b.dtype != l.dtype {
                    return Err(DevErr::Unsupported);
                }
                blas.gemm(&a, &b, &mut c, 1.0)?;
            }
            Ok(DevOut::Block(c))
        }
        _ => Err(DevErr::Unsupported),
    }
}

/// Output downloads kept in flight at once.
const MAX_PENDING: usize = 2;

/// Output block `block` of output `i` (made by `layer`): to the sink, or
/// into the assembled result.
fn deliver(g: &TaskGraph, cfg: &RunConfig<'_>, results: &mut [Option<Chunk>], i: usize, layer: LayerId, block: &[usize], c: Chunk) -> Result<()> {
    match cfg.sink {
        Some(sink) => sink(i, block, &c),
        None => outputs::assemble(&mut results[i], &g.layers[layer], block, Cow::Owned(c)),
    }
}

/// Run the needed tasks of `g` on `dev` (and the host); results in output
/// order, with run statistics (`Stats::device_tasks` counts the tasks the
/// device ran; `peak_bytes` is the most device bytes held).
pub fn run<H: HostTasks>(dev: &Device, g: &TaskGraph, s: &Schedule, cfg: &RunConfig<'_>, host: &H) -> Result<(Vec<Chunk>, Stats)> {
    let t0 = Instant::now();
    let gpu = Gpu { dev };
    let limit = match cfg.device_memory_limit {
        Some(l) => l,
        None => dev.free_mem()? / 10 * 9,
    };
    let n = g.ntasks();
    let mut values: Vec<Option<Val<H::Value>>> = vec![None; n];
    let mut remaining = s.consumers.clone();
    let mut waiting = s.n_deps.clone();
    let mut ready: BTreeSet<(u32, u32)> = BTreeSet::new();
    for &t in &s.order {
        if s.n_deps[t as usize] == 0 {
            ready.insert((s.priority[t as usize], t));
        }
    }
    let mut stats = Stats {
        tasks_by_layer: vec![0; g.layers.len()],
        layer_names: g.layers.iter().map(|l| l.kind.name()).collect(),
        ..Stats::default()
    };
    let mut outputs: Vec<Option<Chunk>> = vec![None; g.outputs.len()];
    // output downloads in flight: (output, layer, block, bytes, copy)
    let mut pending: VecDeque<(usize, LayerId, Vec<usize>, u64, Pending)> = VecDeque::new();
    let mut pending_bytes: u64 = 0;
    let mut dev_bytes: u64 = 0;
    // tasks whose values are held on the device (candidates to move to the host)
    let mut on_dev: BTreeSet<usize> = BTreeSet::new();
    let mut block = Vec::new();
    let mut deps = Vec::new();
    let dev_size = |v: &Val<H::Value>| match v {
        Val::Dev(d) => d.nbytes(),
        Val::Host(_) => 0,
    };
    while let Some((_, t)) = ready.pop_first() {
        let task = t as usize;
        let layer = g.locate(task, &mut block);
        g.deps(layer, &block, &mut deps);
        let l = &g.layers[layer];
        // make room on the device: move blocks this task does not read to the host
        if dev_bytes + pending_bytes + 2 * l.block_bytes > limit {
            let held: Vec<usize> = on_dev.iter().copied().filter(|i| !deps.contains(i)).collect();
            for i in held {
                if dev_bytes + pending_bytes + 2 * l.block_bytes <= limit {
                    break;
                }
                if let Some(Val::Dev(d)) = values[i].clone() {
                    let c = transfer::download(dev, &d)?;
                    dev_bytes -= d.nbytes();
                    values[i] = Some(Val::Host(Arc::new(host.from_block(c))));
                    on_dev.remove(&i);
                }
            }
        }
        let ins: Vec<Val<H::Value>> = deps
            .iter()
            .map(|&d| values[d].clone().ok_or_else(|| Error::Execution(format!("internal: input {d} of task {task} is missing"))))
            .collect::<Result<_>>()?;
        let fits = dev_bytes + pending_bytes + 2 * l.block_bytes <= limit;
        let dev_out = if fits { run_device(&gpu, g, layer, &block, &ins, host) } else { Err(DevErr::Unsupported) };
        let out: Val<H::Value> = match dev_out {
            Ok(DevOut::Block(c)) => {
                stats.device_tasks += 1;
                Val::Dev(Arc::new(c))
            }
            Ok(DevOut::Partial(p)) => {
                stats.device_tasks += 1;
                Val::Host(Arc::new(host.from_partial(p)))
            }
            Err(DevErr::Fail(e)) => return Err(e),
            Err(DevErr::Unsupported) => {
                // on the host, with the inputs moved there
                let mut hin = Vec::with_capacity(ins.len());
                for v in &ins {
                    hin.push(match v {
                        Val::Host(h) => h.clone(),
                        Val::Dev(d) => Arc::new(host.from_block(transfer::download(dev, d)?)),
                    });
                }
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| host.run(g, layer, &block, &deps, &hin)))
                    .unwrap_or_else(|_| Err(Error::Execution(format!("internal: task {} panicked", l.kind.name()))))?;
                Val::Host(r)
            }
        };
        drop(ins);
        // output blocks: copied back (on the copy stream, while the next
        // tasks run) and assembled or handed to the sink
        let mut outs = 0;
        for (i, &ol) in g.outputs.iter().enumerate() {
            if ol != layer {
                continue;
            }
            outs += 1;
            let c = match &out {
                Val::Dev(d) => {
                    pending_bytes += d.nbytes();
                    pending.push_back((i, layer, block.clone(), d.nbytes(), transfer::start(dev, d)?));
                    while pending.len() > MAX_PENDING {
                        let (i, layer, b, nb, p) = pending.pop_front().expect("non-empty");
                        pending_bytes -= nb;
                        deliver(g, cfg, &mut outputs, i, layer, &b, p.finish(dev)?)?;
                    }
                    continue;
                }
                Val::Host(h) => host.block(h).cloned().ok_or_else(|| Error::Execution("internal: an output is a partial".into()))?,
            };
            deliver(g, cfg, &mut outputs, i, layer, &block, c)?;
        }
        stats.tasks += 1;
        stats.tasks_by_layer[layer] += 1;
        let keep = remaining[task] - outs;
        remaining[task] = keep;
        if keep > 0 {
            if let Val::Dev(d) = &out {
                dev_bytes += d.nbytes();
                on_dev.insert(task);
            }
            values[task] = Some(out);
        }
        for &d in &deps {
            remaining[d] -= 1;
            if remaining[d] == 0 {
                if let Some(old) = values[d].take() {
                    dev_bytes -= dev_size(&old);
                    on_dev.remove(&d);
                }
            }
        }
        stats.peak_bytes = stats.peak_bytes.max(dev_bytes + pending_bytes);
        for &r in s.readers(task) {
            let r = r as usize;
            waiting[r] -= 1;
            if waiting[r] == 0 && s.priority[r] != u32::MAX {
                ready.insert((s.priority[r], r as u32));
            }
        }
    }
    for (i, layer, b, _, p) in pending {
        deliver(g, cfg, &mut outputs, i, layer, &b, p.finish(dev)?)?;
    }
    dev.stream.synchronize().map_err(|e| drv("device synchronize", e))?;
    stats.seconds = t0.elapsed().as_secs_f64();
    if cfg.sink.is_some() {
        return Ok((Vec::new(), stats));
    }
    Ok((outputs::collect(g, outputs), stats))
}
