//! The CPU executor: worker threads pull the ready task with the smallest
//! priority (depth-first order), compute it, and drop each input chunk the
//! moment its last reader is done. Bytes held are kept under the memory limit
//! by not starting a task that would exceed it while others are running.
//!
//! I/O overlaps compute through a small pool of I/O threads
//! ([`io_pool`], `Executor::io_threads`): each time a worker takes a task,
//! the scheduler looks at the next ready tasks in priority order and has the
//! pool read their stored blocks ahead ([`prefetch`]); with
//! `Executor::write_behind(true)`, output blocks handed to a sink
//! (`to_zarr`) are written by the pool behind the workers
//! ([`write_behind`]). Bytes read ahead and not yet taken, and bytes queued
//! for writing, are each bounded by the I/O buffer (`Executor::io_buffer`,
//! at most an eighth of the memory limit) and count against the memory
//! limit. The run returns after the last queued write has finished.
//!
//! A result of several blocks is allocated once, before the run, and each
//! block is written into its place by the task that makes it, without a lock
//! ([`out_buf`]); a fused program writes its tiles straight there, so the
//! block never exists on its own. Results larger than the caches are
//! written with non-temporal stores.

pub mod blockfn;
pub mod chunk;
pub mod gather;
pub mod interp;
pub mod io_pool;
pub mod prefetch;
pub mod linalg;
pub mod lu;
pub mod out_buf;
pub mod reduce;
pub mod run_task;
pub mod scalar_ops;
pub mod source;
pub mod vmath;
pub mod write_behind;

use std::collections::BTreeSet;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use chunk::Chunk;
use io_pool::{CloseOnDrop, IoPool};
use out_buf::OutSlot;
use prefetch::Prefetch;
use run_task::{Output, Value};
use source::{ReadIo, Reads};
use write_behind::WriteBehind;

use crate::error::{Error, Result};
use crate::exec::Stats;
use crate::task::order::Schedule;
use crate::task::TaskGraph;

struct State {
    /// Ready tasks as (priority, task): the first is taken next.
    ready: BTreeSet<(u32, u32)>,
    /// Tasks whose stored reads were registered for read-ahead (empty
    /// without read-ahead).
    prefetched: Vec<bool>,
    values: Vec<Option<Arc<Value>>>,
    remaining: Vec<u32>,
    waiting: Vec<u32>,
    running: usize,
    done: usize,
    error: Option<Error>,
    held_bytes: u64,
    live: usize,
    live_partials: usize,
    stats: Stats,
}

impl State {
    fn count(&mut self, v: &Value, d: isize) {
        match v {
            Value::Block(_) => self.live = self.live.wrapping_add_signed(d),
            Value::Partial(_) => self.live_partials = self.live_partials.wrapping_add_signed(d),
        }
    }
}

/// Where output blocks go instead of into assembled results:
/// `sink(output, block index, block)`, called on an I/O thread (write-behind)
/// or on the worker that made the block.
pub type Sink<'a> = &'a (dyn Fn(usize, &[usize], &Chunk) -> Result<()> + Sync);

/// Settings of one run.
pub struct RunConfig<'a> {
    pub threads: usize,
    pub memory_limit: Option<u64>,
    pub progress: bool,
    /// When set, output blocks are handed to the sink and not kept.
    pub sink: Option<Sink<'a>>,
    /// I/O threads for read-ahead and write-behind (0: none; tasks read
    /// and write themselves).
    pub io_threads: usize,
    /// Most bytes read ahead and not yet taken; also the most bytes queued
    /// for writing (each further limited to an eighth of `memory_limit`).
    pub io_buffer: u64,
    /// Whether the I/O threads write sink blocks (`to_zarr`) behind the
    /// workers (else each worker writes the block it made).
    pub write_behind: bool,
    /// Simulated latency added to every stored block read (0 in real runs).
    pub read_latency: Duration,
}

/// Whether a task of `g` reads a stored array (and so read-ahead may help).
fn reads_stores(g: &TaskGraph) -> bool {
    use crate::expr::Source;
    use crate::task::LayerKind;
    let stored = |s: &Source| matches!(s, Source::Stored { .. });
    g.layers.iter().any(|l| match &l.kind {
        LayerKind::Source { source, .. } => stored(source),
        LayerKind::Map { inputs, .. } | LayerKind::ReducePartial { inputs, .. } => {
            inputs.iter().any(|r| r.inline.as_ref().is_some_and(|s| stored(&s.source)))
        }
        _ => false,
    })
}

/// Run the needed tasks of `g`; returns the output arrays, assembled (empty
/// placeholders when a sink took the blocks).
pub fn run(g: &TaskGraph, s: &Schedule, cfg: &RunConfig) -> Result<(Vec<Chunk>, Stats)> {
    let n = g.ntasks();
    let t0 = Instant::now();
    // an output of several blocks, all made, is allocated now and its
    // blocks are written in place (a fused program's tiles go straight
    // there); an output of one block is its block
    let outputs: Vec<OutSlot> = g
        .outputs
        .iter()
        .map(|&l| {
            let first = g.first_task(l);
            let whole = cfg.sink.is_none() && (first..first + g.layers[l].ntasks()).all(|t| s.priority[t] != u32::MAX);
            OutSlot::new(&g.layers[l], whole)
        })
        .collect();
    // per layer: the output it alone makes, when that is written in place
    let in_place_of: Vec<Option<usize>> = (0..g.layers.len())
        .map(|l| {
            let mut of = g.outputs.iter().enumerate().filter(|&(_, &o)| o == l).map(|(i, _)| i);
            match (of.next(), of.next()) {
                (Some(i), None) if outputs[i].in_place().is_some() => Some(i),
                _ => None,
            }
        })
        .collect();
    // blocks of in-memory arrays (`from_ndarray`) are shared, not made: they
    // are held by the array whatever the run does, so they are not counted
    let resident: Vec<bool> = g
        .layers
        .iter()
        .map(|l| matches!(&l.kind, crate::task::LayerKind::Source { source: crate::expr::Source::Data(_), .. }))
        .collect();
    let mut ready = BTreeSet::new();
    for &t in &s.order {
        if s.n_deps[t as usize] == 0 {
            ready.insert((s.priority[t as usize], t));
        }
    }
    // I/O overlap: a pool when there is something to read or write
    let io_buffer = match cfg.memory_limit {
        Some(lim) => cfg.io_buffer.min(lim / 8),
        None => cfg.io_buffer,
    };
    let read_ahead = cfg.io_threads > 0 && io_buffer > 0 && reads_stores(g);
    let write_behind = cfg.write_behind && cfg.io_threads > 0 && io_buffer > 0 && cfg.sink.is_some();
    let read_io = Arc::new(ReadIo::new(cfg.read_latency));
    let prefetch = read_ahead.then(|| Prefetch::new(io_buffer, read_io.clone()));
    let writes = write_behind.then(|| WriteBehind::new(io_buffer));
    let io_bytes = || prefetch.as_ref().map_or(0, |p| p.bytes()) + writes.as_ref().map_or(0, |w| w.bytes());
    let reads = Reads { prefetch: prefetch.as_ref(), io: &read_io };
    // tasks looked at ahead of the one taken
    let lookahead = cfg.threads.max(1) + 2 * cfg.io_threads;
    let state = Mutex::new(State {
        ready,
        prefetched: if read_ahead { vec![false; n] } else { Vec::new() },
        values: vec![None; n],
        remaining: s.consumers.clone(),
        waiting: s.n_deps.clone(),
        running: 0,
        done: 0,
        error: None,
        // the results handed back are held from the start to the end
        held_bytes: if cfg.sink.is_none() { crate::exec::result_bytes(g) } else { 0 },
        live: 0,
        live_partials: 0,
        stats: Stats { tasks_by_layer: vec![0; g.layers.len()], layer_names: g.layers.iter().map(|l| l.kind.name()).collect(), ..Stats::default() },
    });
    let cv = Condvar::new();
    let total = s.n_needed();
    let bar = if cfg.progress && total > 1 {
        let pb = indicatif::ProgressBar::new(total as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} tasks ({per_sec}, eta {eta})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(pb)
    } else {
        None
    };
    let output_layers: Vec<(usize, usize)> = g.outputs.iter().enumerate().map(|(i, &l)| (l, i)).collect();
    // called by the pool after a queued write: memory was freed (workers
    // waiting for room may go on), or the write failed (the run fails)
    let write_done = |e: Option<Error>| {
        let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = e {
            st.error.get_or_insert(e);
        }
        drop(st);
        cv.notify_all();
    };
    let pool = IoPool::new();
    let worker = || {
        let mut deps = Vec::new();
        let mut block = Vec::new();
        let mut inputs: Vec<Arc<Value>> = Vec::new();
        let mut ahead_block = Vec::new();
        let mut ahead_reads = Vec::new();
        let mut start_reads = Vec::new();
        let mut dep_block = Vec::new();
        loop {
            let (task, layer);
            {
                let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    if st.error.is_some() || st.done == total {
                        return;
                    }
                    if let Some(&(_, t)) = st.ready.first() {
                        let l = g.locate(t as usize, &mut block);
                        let need = if resident[l] { 0 } else { g.layers[l].block_bytes };
                        let fits = match cfg.memory_limit {
                            Some(lim) => st.held_bytes + io_bytes() + need <= lim || st.running == 0,
                            None => true,
                        };
                        if fits {
                            st.ready.pop_first();
                            task = t as usize;
                            break;
                        }
                    }
                    st = cv.wait(st).unwrap_or_else(|e| e.into_inner());
                }
                layer = g.locate(task, &mut block);
                g.deps(layer, &block, &mut deps);
                inputs.clear();
                for &d in &deps {
                    match &st.values[d] {
                        Some(v) => inputs.push(v.clone()),
                        None => {
                            st.error = Some(Error::Execution(format!("internal: input {d} of task {task} is missing")));
                            cv.notify_all();
                            return;
                        }
                    }
                }
                st.running += 1;
                // read ahead: the stored blocks of the next ready tasks, while
                // the budget (and a quarter of the memory limit kept free for
                // task outputs) allows
                if let Some(pf) = &prefetch {
                    let mut room = match cfg.memory_limit {
                        Some(lim) => (lim - lim / 4).saturating_sub(st.held_bytes + io_bytes()),
                        None => u64::MAX,
                    };
                    let st = &mut *st;
                    for &(_, t) in st.ready.iter().take(lookahead) {
                        let t = t as usize;
                        if st.prefetched[t] {
                            continue;
                        }
                        let l = g.locate(t, &mut ahead_block);
                        ahead_reads.clear();
                        run_task::stored_reads(g, l, &ahead_block, &mut ahead_reads);
                        if !ahead_reads.is_empty() {
                            match pf.register(&ahead_reads, room, &mut start_reads) {
                                Some(new) => room = room.saturating_sub(new),
                                None => break,
                            }
                        }
                        st.prefetched[t] = true;
                    }
                }
            }
            if let Some(pf) = &prefetch {
                for id in start_reads.drain(..) {
                    pool.submit(Box::new(move || pf.run(id)));
                }
            }
            // a bug in a kernel must not take the process down or hang the other workers
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> Result<Option<Output>> {
                // a block only its output reads is made in its place there
                if let Some(buf) = in_place_of[layer].filter(|_| s.consumers[task] == 1).and_then(|i| outputs[i].in_place()) {
                    let region = buf.block_region(&g.layers[layer], &block)?;
                    // SAFETY: each task runs once, and blocks' regions are disjoint
                    if unsafe { run_task::run_into(g, layer, &block, &inputs, reads, &region)? } {
                        buf.wrote(region.shape.iter().product());
                        return Ok(None);
                    }
                }
                run_task::run(g, layer, &block, &deps, &inputs, reads).map(Some)
            }))
                .unwrap_or_else(|p| {
                    let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
                    Err(Error::Execution(format!(
                        "internal: task {} panicked: {}",
                        g.layers[layer].kind.name(),
                        msg.unwrap_or_default()
                    )))
                });
            inputs.clear();
            // write output blocks outside the state lock
            let result = result.and_then(|out| {
                let Some(out) = out else { return Ok(None) };
                let v = match out {
                    Output::New(v) => Arc::new(v),
                    Output::Same(v) => v,
                };
                for &(l, i) in &output_layers {
                    if l == layer {
                        if let Some(sink) = cfg.sink {
                            match &writes {
                                Some(w) => w.write(&pool, sink, i, &block, &v, &write_done)?,
                                None => sink(i, &block, v.block()?)?,
                            }
                            continue;
                        }
                        // SAFETY: each task runs once, so each block is put once
                        unsafe { outputs[i].put(&g.layers[l], &block, v.block()?)? };
                    }
                }
                Ok(Some(v))
            });
            let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
            st.running -= 1;
            match result {
                Err(e) => {
                    st.error = Some(e);
                    cv.notify_all();
                    return;
                }
                Ok(v) => {
                    let st = &mut *st;
                    st.stats.tasks += 1;
                    st.stats.tasks_by_layer[layer] += 1;
                    let outs = output_layers.iter().filter(|(l, _)| *l == layer).count() as u32;
                    let keep = st.remaining[task] - outs;
                    st.remaining[task] = keep;
                    if let Some(v) = v.filter(|_| keep > 0) {
                        if !resident[layer] {
                            st.held_bytes += v.nbytes();
                        }
                        st.count(&v, 1);
                        st.values[task] = Some(v);
                    }
                    for &d in &deps {
                        st.remaining[d] -= 1;
                        if st.remaining[d] == 0 {
                            if let Some(old) = st.values[d].take() {
                                if !resident[g.locate(d, &mut dep_block)] {
                                    st.held_bytes -= old.nbytes();
                                }
                                st.count(&old, -1);
                            }
                        }
                    }
                    for &r in s.readers(task) {
                        let r = r as usize;
                        st.waiting[r] -= 1;
                        if st.waiting[r] == 0 && s.priority[r] != u32::MAX {
                            st.ready.insert((s.priority[r], r as u32));
                        }
                    }
                    st.stats.peak_bytes = st.stats.peak_bytes.max(st.held_bytes);
                    st.stats.peak_live_chunks = st.stats.peak_live_chunks.max(st.live);
                    st.stats.peak_live_partials = st.stats.peak_live_partials.max(st.live_partials);
                    st.done += 1;
                    if let Some(b) = &bar {
                        b.inc(1);
                    }
                    cv.notify_all();
                }
            }
        }
    };
    // a worker that panics outside a task (a bug) fails the run instead of
    // leaving the others waiting for its task
    let worker = || {
        if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(worker)) {
            let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
            let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
            st.error.get_or_insert(Error::Execution(format!("internal: a worker panicked: {}", msg.unwrap_or_default())));
            drop(st);
            cv.notify_all();
        }
    };
    let threads = cfg.threads.max(1).min(total.max(1));
    let io_threads = if read_ahead || write_behind { cfg.io_threads } else { 0 };
    std::thread::scope(|sc| {
        for _ in 0..io_threads {
            sc.spawn(|| pool.work());
        }
        // the pool closes when the workers are done (or unwinding), then the
        // scope waits for the writes still queued
        let _close = CloseOnDrop(&pool, prefetch.as_ref());
        if threads == 1 {
            worker();
        } else {
            let handles: Vec<_> = (0..threads).map(|_| sc.spawn(worker)).collect();
            for h in handles {
                let _ = h.join(); // panics are caught in `worker`
            }
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    drop(pool); // its jobs borrowed the state
    let st = state.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = st.error {
        return Err(e);
    }
    if let Some(e) = writes.as_ref().and_then(|w| w.error()) {
        return Err(e);
    }
    let mut stats = st.stats;
    stats.prefetched_blocks = prefetch.as_ref().map_or(0, |p| p.used());
    stats.written_behind_blocks = writes.as_ref().map_or(0, |w| w.written());
    stats.peak_reads_in_flight = read_io.peak();
    stats.seconds = t0.elapsed().as_secs_f64();
    if cfg.sink.is_some() {
        return Ok((Vec::new(), stats));
    }
    let assembled: Vec<Option<Chunk>> = outputs.into_iter().map(OutSlot::finish).collect::<Result<_>>()?;
    Ok((crate::exec::outputs::collect(g, assembled), stats))
}
