//! The CPU executor: worker threads pull the ready task with the smallest
//! priority (depth-first order), compute it, and drop each input chunk the
//! moment its last reader is done. Bytes held are kept under the memory limit
//! by not starting a task that would exceed it while others are running.

pub mod chunk;
pub mod interp;
pub mod linalg;
pub mod reduce;
pub mod run_task;
pub mod scalar_ops;
pub mod source;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use chunk::Chunk;
use run_task::{Output, Value};

use crate::error::{Error, Result};
use crate::exec::Stats;
use crate::task::order::Schedule;
use crate::task::TaskGraph;

struct State {
    ready: BinaryHeap<Reverse<(u32, u32)>>,
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
/// `sink(output, block index, block)`, called on the worker that made it.
pub type Sink<'a> = &'a (dyn Fn(usize, &[usize], &Chunk) -> Result<()> + Sync);

/// Settings of one run.
pub struct RunConfig<'a> {
    pub threads: usize,
    pub memory_limit: Option<u64>,
    pub progress: bool,
    /// When set, output blocks are handed to the sink and not kept.
    pub sink: Option<Sink<'a>>,
}

/// Run the needed tasks of `g`; returns the output arrays, assembled (empty
/// placeholders when a sink took the blocks).
pub fn run(g: &TaskGraph, s: &Schedule, cfg: &RunConfig) -> Result<(Vec<Chunk>, Stats)> {
    let n = g.ntasks();
    let t0 = Instant::now();
    // results are written into preallocated arrays as their blocks finish
    // (an output of one block is its block; larger ones are assembled)
    let outputs: Vec<Mutex<Option<Chunk>>> = g.outputs.iter().map(|_| Mutex::new(None)).collect();
    let mut ready = BinaryHeap::new();
    for &t in &s.order {
        if s.n_deps[t as usize] == 0 {
            ready.push(Reverse((s.priority[t as usize], t)));
        }
    }
    let state = Mutex::new(State {
        ready,
        values: vec![None; n],
        remaining: s.consumers.clone(),
        waiting: s.n_deps.clone(),
        running: 0,
        done: 0,
        error: None,
        held_bytes: 0,
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
    let worker = || {
        let mut deps = Vec::new();
        let mut block = Vec::new();
        let mut inputs: Vec<Arc<Value>> = Vec::new();
        loop {
            let (task, layer);
            {
                let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    if st.error.is_some() || st.done == total {
                        return;
                    }
                    if let Some(&Reverse((_, t))) = st.ready.peek() {
                        let need = g.layers[g.locate(t as usize, &mut block)].block_bytes;
                        let fits = match cfg.memory_limit {
                            Some(lim) => st.held_bytes + need <= lim || st.running == 0,
                            None => true,
                        };
                        if fits {
                            st.ready.pop();
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
            }
            // a bug in a kernel must not take the process down or hang the other workers
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_task::run(g, layer, &block, &deps, &inputs)))
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
                let v = match out {
                    Output::New(v) => Arc::new(v),
                    Output::Same(v) => v,
                };
                for &(l, i) in &output_layers {
                    if l == layer {
                        if let Some(sink) = cfg.sink {
                            sink(i, &block, v.block()?)?;
                            continue;
                        }
                        let chunks = g.layers[l].chunks.as_ref().expect("output layers have chunks");
                        let start: Vec<usize> = (0..block.len()).map(|k| chunks.offset(k, block[k])).collect();
                        let mut o = outputs[i].lock().unwrap_or_else(|e| e.into_inner());
                        if g.layers[l].ntasks() == 1 {
                            *o = Some(v.block()?.clone());
                        } else {
                            let out = o.get_or_insert_with(|| Chunk::zeros(g.layers[l].dtype, &chunks.shape()));
                            out.assign_at(&start, v.block()?)?;
                        }
                    }
                }
                Ok(v)
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
                    if keep > 0 {
                        st.held_bytes += v.nbytes();
                        st.count(&v, 1);
                        st.values[task] = Some(v);
                    }
                    for &d in &deps {
                        st.remaining[d] -= 1;
                        if st.remaining[d] == 0 {
                            if let Some(old) = st.values[d].take() {
                                st.held_bytes -= old.nbytes();
                                st.count(&old, -1);
                            }
                        }
                    }
                    for &r in s.readers(task) {
                        let r = r as usize;
                        st.waiting[r] -= 1;
                        if st.waiting[r] == 0 && s.priority[r] != u32::MAX {
                            st.ready.push(Reverse((s.priority[r], r as u32)));
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
    let threads = cfg.threads.max(1).min(total.max(1));
    if threads == 1 {
        worker();
    } else {
        std::thread::scope(|sc| {
            for _ in 0..threads {
                sc.spawn(worker);
            }
        });
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let st = state.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = st.error {
        return Err(e);
    }
    let mut stats = st.stats;
    stats.seconds = t0.elapsed().as_secs_f64();
    if cfg.sink.is_some() {
        return Ok((Vec::new(), stats));
    }
    let outs = outputs
        .into_iter()
        .zip(&g.outputs)
        .map(|(m, &l)| {
            let layer = &g.layers[l];
            m.into_inner().unwrap_or_else(|e| e.into_inner()).unwrap_or_else(|| {
                Chunk::zeros(layer.dtype, &layer.chunks.as_ref().map(|c| c.shape()).unwrap_or_default())
            })
        })
        .collect();
    Ok((outs, stats))
}
