//! Executors: configuration as a value (`Executor::cpu().threads(2)...`) and
//! the path from arrays to results: optimize → lower → order → run.
//!
//! Storage I/O overlaps compute: a few I/O threads
//! ([`Executor::io_threads`], default 2) read stored chunks ahead of the
//! tasks that need them and write `to_zarr` chunks behind the tasks that
//! made them, within a byte budget ([`Executor::io_buffer`]); see
//! [`cpu`] for how.

pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
mod outputs;
mod to_zarr;
pub mod rechunk_zarr;

use std::time::Duration;

use crate::error::{Error, Result};
use crate::expr::{ExprGraph, NodeRef};
use crate::lower::{lower, LowerOptions};
use crate::opt::Pipeline;
use crate::task::order::schedule_blocks;
use crate::task::TaskGraph;

/// What a run did: task counts, peak memory held in chunks, time.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Tasks run.
    pub tasks: usize,
    /// Tasks run per task-graph layer (see `layer_names`).
    pub tasks_by_layer: Vec<usize>,
    pub layer_names: Vec<String>,
    /// Most array chunks held at once (intermediates waiting for readers).
    pub peak_live_chunks: usize,
    /// Most reduction partials held at once (small; a tree reduction holds
    /// at most `split_every - 1` per level).
    pub peak_live_partials: usize,
    /// Most bytes held at once in intermediate chunks.
    pub peak_bytes: u64,
    /// Stored blocks read ahead by the I/O threads and used by a task
    /// (0 with `io_threads(0)`).
    pub prefetched_blocks: usize,
    /// Output blocks written by the I/O threads behind the workers
    /// (`to_zarr` with [`Executor::write_behind`]; the others were written
    /// by the worker that made them).
    pub written_behind_blocks: usize,
    /// Most stored-block reads in flight at once, by workers and I/O
    /// threads together (1 when reads never overlapped; 0 without reads).
    pub peak_reads_in_flight: usize,
    /// Tasks the GPU ran (the others ran on the host; always 0 on the CPU
    /// executor).
    pub device_tasks: usize,
    pub seconds: f64,
}

impl Stats {
    /// Tasks run in layers whose name starts with `prefix` (e.g. "random-uniform", "sum-partial").
    pub fn tasks_named(&self, prefix: &str) -> usize {
        self.layer_names.iter().zip(&self.tasks_by_layer).filter(|(n, _)| n.starts_with(prefix)).map(|(_, c)| c).sum()
    }
}

#[derive(Clone, Debug)]
enum Backend {
    Cpu,
    /// A GPU (feature `cuda`); tasks it cannot run go to the host.
    #[cfg(feature = "cuda")]
    Cuda(std::sync::Arc<cuda::Device>),
}

/// Where and how arrays are computed. Build with [`Executor::cpu`] and the
/// builder methods; an `Executor` is a plain value, cheap to clone.
#[derive(Clone, Debug)]
pub struct Executor {
    backend: Backend,
    threads: usize,
    memory_limit: Option<u64>,
    progress: bool,
    split_every: usize,
    io_threads: usize,
    io_buffer: u64,
    write_behind: bool,
    read_latency: Duration,
    device_memory_limit: Option<u64>,
}

impl Default for Executor {
    fn default() -> Self {
        Executor::cpu()
    }
}

impl Executor {
    /// The CPU executor on all cores, no memory limit, no progress bar, 2
    /// I/O threads reading ahead into a 64 MiB I/O buffer, no write-behind.
    pub fn cpu() -> Executor {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        Executor {
            backend: Backend::Cpu,
            threads,
            memory_limit: None,
            progress: false,
            split_every: 8,
            io_threads: 2,
            io_buffer: 64 << 20,
            write_behind: false,
            read_latency: Duration::ZERO,
            device_memory_limit: None,
        }
    }
    /// The GPU executor on CUDA device `ordinal` (needs floe built with the
    /// `cuda` feature). Fused elementwise programs, generated sources
    /// (constants, random numbers, identity blocks), reductions over whole
    /// blocks, block transposes and f32/f64 matrix products run on the GPU;
    /// every other task runs on the host with its data moved there, so
    /// results are those of [`Executor::cpu`] (to rounding: GPU sums add in
    /// a different order, and transcendental functions may differ in the
    /// last bit). Device blocks stay on the GPU between tasks; results are
    /// copied back.
    ///
    /// Errors (never panics) when floe was built without `cuda`
    /// ([`Error::NotImplemented`]), and when the CUDA driver, the device or
    /// NVRTC is missing ([`Error::Device`]).
    pub fn cuda(ordinal: usize) -> Result<Executor> {
        #[cfg(feature = "cuda")]
        {
            let dev = cuda::Device::open(ordinal)?;
            Ok(Executor { backend: Backend::Cuda(dev), threads: 1, ..Executor::cpu() })
        }
        #[cfg(not(feature = "cuda"))]
        {
            let _ = ordinal;
            Err(Error::NotImplemented("the GPU executor: build floe with `--features cuda`".into()))
        }
    }
    /// The GPU of an executor made by [`Executor::cuda`] (`None` for the CPU
    /// executor): its name, memory, and kernel-cache counters.
    #[cfg(feature = "cuda")]
    pub fn cuda_device(&self) -> Option<&std::sync::Arc<cuda::Device>> {
        match &self.backend {
            Backend::Cuda(d) => Some(d),
            Backend::Cpu => None,
        }
    }
    /// Most bytes of blocks held in GPU memory at once (GPU executor; default:
    /// 90% of the memory free when a run starts). Blocks the current task
    /// does not read are moved to the host to make room; a task that still
    /// does not fit runs on the host.
    pub fn device_memory_limit(mut self, bytes: u64) -> Executor {
        self.device_memory_limit = Some(bytes);
        self
    }
    /// Worker threads (at least 1).
    pub fn threads(mut self, n: usize) -> Executor {
        self.threads = n.max(1);
        self
    }
    /// Most bytes floe holds at once during a run: blocks and partial
    /// results in flight, blocks read ahead and queued for writing, stored
    /// chunks decoded whole (a stored chunk larger than the block read
    /// from it counts whole), and the results `compute()` hands back (held
    /// from the start: a result larger than the limit is refused — write
    /// it with `to_zarr`). Blocks of in-memory arrays (`from_ndarray`)
    /// belong to the array, not to the run, and are not counted again.
    /// A plan with a task that alone exceeds the limit is refused before
    /// anything runs, with the bytes it needs. Running under a
    /// limit also makes freed chunk memory go back to the system (on glibc
    /// the process's mmap threshold is fixed at 256 KiB; see
    /// `floe::alloc`), so the process's peak RSS follows the limit.
    pub fn memory_limit(mut self, bytes: u64) -> Executor {
        self.memory_limit = Some(bytes);
        self
    }
    /// Show a progress bar on runs of more than one task.
    pub fn progress(mut self, on: bool) -> Executor {
        self.progress = on;
        self
    }
    /// Most partial results merged by one task of a tree reduction (≥ 2; default 8).
    pub fn split_every(mut self, n: usize) -> Executor {
        self.split_every = n.max(2);
        self
    }
    /// Threads that do storage I/O so it overlaps compute (default 2; they
    /// are not compute workers and mostly wait on the disk):
    /// - *read-ahead*: when a worker takes a task, the stored (Zarr) blocks
    ///   of the next ready tasks, in the order they will run, are read by
    ///   these threads; a task takes its block when it is there, waits for
    ///   it when it is being read, and reads it itself otherwise;
    /// - *write-behind*, when turned on with [`Executor::write_behind`].
    ///
    /// Results are the same with any number; 0 turns both off (tasks read
    /// and write themselves). Errors of reads and writes fail the run as
    /// without I/O threads. Run statistics count the blocks read ahead
    /// ([`Stats::prefetched_blocks`]), the most reads in flight at once
    /// ([`Stats::peak_reads_in_flight`]) and the blocks written behind
    /// ([`Stats::written_behind_blocks`]).
    pub fn io_threads(mut self, n: usize) -> Executor {
        self.io_threads = n;
        self
    }
    /// Most bytes of blocks read ahead and not yet used, and most bytes of
    /// blocks queued for writing (each; default 64 MiB). With a memory
    /// limit, each is at most an eighth of it, and both count against it.
    /// 0 turns read-ahead and write-behind off.
    pub fn io_buffer(mut self, bytes: u64) -> Executor {
        self.io_buffer = bytes;
        self
    }
    /// Write `to_zarr` chunks on the I/O threads while the workers compute
    /// the next blocks (default off). When the write queue (the I/O
    /// buffer) is full, a worker writes its block itself; `to_zarr` returns
    /// after every write has finished. Turn it on for stores where a write
    /// waits (network file systems, object stores): on a local disk the
    /// encoding is CPU work that competes with the workers, and a
    /// CPU-bound copy measured ~20 % slower with it (BENCHMARKS.md).
    pub fn write_behind(mut self, on: bool) -> Executor {
        self.write_behind = on;
        self
    }
    /// Make every stored block read wait `latency` first: a stand-in for a
    /// slow store (network file system, object store) in benchmarks and
    /// tests of the I/O overlap. Zero (the default) in real use.
    pub fn read_latency(mut self, latency: Duration) -> Executor {
        self.read_latency = latency;
        self
    }

    /// The optimized expression graph of `roots`.
    pub fn optimize(&self, roots: &[NodeRef]) -> Result<ExprGraph> {
        Pipeline::default().run(ExprGraph::new(roots.to_vec()))
    }

    /// The task graph these roots run as.
    pub fn plan(&self, roots: &[NodeRef]) -> Result<TaskGraph> {
        self.lower_checked(&self.optimize(roots)?)
    }

    /// Lower an optimized graph and check every task against the memory limit.
    pub(crate) fn lower_checked(&self, g: &ExprGraph) -> Result<TaskGraph> {
        // a stored array may have more blocks than a plan can hold (it is
        // mostly read through slices); what is planned must fit, and task
        // numbers are 32-bit
        let mut tasks: u128 = 0;
        for n in g.topo() {
            crate::size::check_numblocks(&n.shape, &n.chunks.numblocks())?;
            tasks += n.chunks.numblocks().iter().map(|&b| b as u128).product::<u128>();
        }
        if tasks >= u32::MAX as u128 / 2 {
            return Err(Error::Chunks(format!(
                "the plan has about {tasks} blocks over its operations, more than {} tasks can be scheduled: use larger blocks",
                u32::MAX / 2
            )));
        }
        let tg = lower(g, &LowerOptions { split_every: self.split_every, bounded_memory: self.memory_limit.is_some() });
        if let Some(limit) = self.memory_limit {
            for l in &tg.layers {
                if l.block_bytes > limit {
                    return Err(Error::MemoryLimit { op: format!("{} ({})", l.kind.name(), l.node), needed: l.block_bytes, limit });
                }
            }
        }
        Ok(tg)
    }

    /// Compute the roots; results in order, as host chunks, with run statistics.
    pub(crate) fn run_nodes(&self, roots: &[NodeRef]) -> Result<(Vec<cpu::chunk::Chunk>, Stats)> {
        let tg = self.plan(roots)?;
        self.run_graph(&tg, &|_, _| true, None)
    }

    /// Run the output blocks of `tg` that `wanted(output, block)` keeps; with
    /// a sink, blocks go there instead of into assembled results.
    pub(crate) fn run_graph(
        &self,
        tg: &TaskGraph,
        wanted: &dyn Fn(usize, usize) -> bool,
        sink: Option<cpu::Sink<'_>>,
    ) -> Result<(Vec<cpu::chunk::Chunk>, Stats)> {
        let sched = schedule_blocks(tg, wanted);
        if let Some(limit) = self.memory_limit {
            // results that are handed back are held in memory: they count
            if sink.is_none() {
                let needed = result_bytes(tg);
                if needed > limit {
                    return Err(Error::MemoryLimit {
                        op: format!(
                            "the {} result(s) of compute() held in memory (write larger results with to_zarr)",
                            tg.outputs.len()
                        ),
                        needed,
                        limit,
                    });
                }
            }
            crate::alloc::bound_for_memory_limit(limit);
        }
        match &self.backend {
            #[cfg(feature = "cuda")]
            Backend::Cuda(dev) => cuda::run::run(
                dev,
                tg,
                &sched,
                &cuda::run::RunConfig { device_memory_limit: self.device_memory_limit, sink },
                &CpuTasks,
            ),
            Backend::Cpu => cpu::run(
                tg,
                &sched,
                &cpu::RunConfig {
                    threads: self.threads,
                    memory_limit: self.memory_limit,
                    progress: self.progress,
                    sink,
                    io_threads: self.io_threads,
                    io_buffer: self.io_buffer,
                    write_behind: self.write_behind,
                    read_latency: self.read_latency,
                },
            ),
        }
    }
}

/// Bytes of the arrays a run hands back (each output layer once), saturating.
pub(crate) fn result_bytes(tg: &TaskGraph) -> u64 {
    let mut layers: Vec<usize> = tg.outputs.clone();
    layers.sort_unstable();
    layers.dedup();
    layers
        .iter()
        .map(|&l| {
            let layer = &tg.layers[l];
            let elems = layer.chunks.as_ref().map_or(0u128, |c| c.shape().iter().map(|&v| v as u128).product());
            u64::try_from(elems * layer.dtype.size() as u128).unwrap_or(u64::MAX)
        })
        .fold(0u64, |a, b| a.saturating_add(b))
}

/// The CPU task kernels, for the tasks the GPU executor runs on the host.
#[cfg(feature = "cuda")]
struct CpuTasks;

#[cfg(feature = "cuda")]
impl cuda::run::HostTasks for CpuTasks {
    type Value = cpu::run_task::Value;
    fn run(
        &self,
        g: &TaskGraph,
        layer: crate::task::LayerId,
        block: &[usize],
        deps: &[crate::task::TaskId],
        inputs: &[std::sync::Arc<Self::Value>],
    ) -> Result<std::sync::Arc<Self::Value>> {
        let io = cpu::source::ReadIo::default();
        let reads = cpu::source::Reads { prefetch: None, io: &io };
        Ok(match cpu::run_task::run(g, layer, block, deps, inputs, reads)? {
            cpu::run_task::Output::New(v) => std::sync::Arc::new(v),
            cpu::run_task::Output::Same(v) => v,
        })
    }
    fn block<'a>(&self, v: &'a Self::Value) -> Option<&'a cpu::chunk::Chunk> {
        match v {
            cpu::run_task::Value::Block(c) => Some(c),
            cpu::run_task::Value::Partial(_) => None,
        }
    }
    fn from_block(&self, c: cpu::chunk::Chunk) -> Self::Value {
        cpu::run_task::Value::Block(c)
    }
    fn from_partial(&self, fields: Vec<cpu::chunk::Chunk>) -> Self::Value {
        cpu::run_task::Value::Partial(fields)
    }
    fn nbytes(&self, v: &Self::Value) -> u64 {
        v.nbytes()
    }
}
