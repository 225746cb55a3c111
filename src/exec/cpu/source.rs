//! Producing source blocks: in-memory arrays, constants, ranges, identity
//! matrices, counter-based random numbers and stored (Zarr) regions. A stored
//! block is taken from the read-ahead table when the I/O pool read it ahead
//! (see [`super::prefetch`]), else read here.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ndarray::{ArrayD, IxDyn};

use super::chunk::{Chunk, HostElement};
use crate::chunks::Chunks;
use crate::dtype::{Element, Prim, Scalar};
use crate::error::{Error, Result};
use crate::expr::{Distribution, Source, StoredArray};
use crate::rng;

use super::prefetch::Prefetch;

/// An in-memory array, split into its blocks once when it is created; a
/// source task hands out its block without copying.
pub struct InMemoryBlocks(pub Vec<std::sync::Arc<super::run_task::Value>>);

/// How a task reads stored blocks: from the read-ahead table when the run
/// has one, else itself, through the run's [`ReadIo`].
#[derive(Clone, Copy)]
pub struct Reads<'a> {
    pub prefetch: Option<&'a Prefetch>,
    pub io: &'a ReadIo,
}

/// What every stored block read of a run goes through: the simulated
/// latency (`Executor::read_latency`, a stand-in for a slow store in
/// benchmarks and tests) and a count of the reads in flight, whose peak the
/// run reports ([`crate::Stats::peak_reads_in_flight`]).
#[derive(Debug, Default)]
pub struct ReadIo {
    latency: Duration,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

impl ReadIo {
    pub fn new(latency: Duration) -> ReadIo {
        ReadIo { latency, ..ReadIo::default() }
    }
    /// Most reads that were in flight at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }
}

/// Counts one read in flight while it lives.
struct InFlight<'a>(&'a ReadIo);

impl<'a> InFlight<'a> {
    fn start(io: &'a ReadIo) -> InFlight<'a> {
        let now = io.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        io.peak.fetch_max(now, Ordering::Relaxed);
        InFlight(io)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One region of a stored array, as a block of a stored source reads it.
#[derive(Clone)]
pub struct ReadReq {
    pub array: Arc<dyn StoredArray>,
    /// First element in the store.
    pub at: Vec<usize>,
    pub shape: Vec<usize>,
    pub dtype: crate::DType,
}

/// What identifies a read: the store handle (the key holds it, so two keys
/// name the same handle only when they hold the same object), the region
/// and the element type.
#[derive(Clone)]
pub struct ReadKey(ReadReq);

impl PartialEq for ReadKey {
    fn eq(&self, o: &ReadKey) -> bool {
        Arc::ptr_eq(&self.0.array, &o.0.array) && self.0.at == o.0.at && self.0.shape == o.0.shape && self.0.dtype == o.0.dtype
    }
}
impl Eq for ReadKey {}
impl std::hash::Hash for ReadKey {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        // equal keys hold the same object, so its address hashes them
        (Arc::as_ptr(&self.0.array) as *const () as usize).hash(h);
        (&self.0.at, &self.0.shape, self.0.dtype).hash(h);
    }
}

impl ReadReq {
    pub fn key(&self) -> ReadKey {
        ReadKey(self.clone())
    }
    pub fn nbytes(&self) -> u64 {
        self.shape.iter().product::<usize>() as u64 * self.dtype.size() as u64
    }
    /// Read the region from the store (after the simulated latency, if any).
    pub fn read(&self, io: &ReadIo) -> Result<Chunk> {
        let _counted = InFlight::start(io);
        if !io.latency.is_zero() {
            std::thread::sleep(io.latency);
        }
        let z = self
            .array
            .as_any()
            .downcast_ref::<crate::store::ZarrArray>()
            .ok_or_else(|| Error::Execution("internal: stored array of an unknown kind".into()))?;
        crate::dispatch_dtype!(self.dtype, T => Ok(T::wrap(z.read::<T>(&self.at, &self.shape)?)))
    }
}

/// The read that block `block` of `src` makes, when `src` is stored.
pub fn stored_read(src: &Source, chunks: &Chunks, block: &[usize], dtype: crate::DType) -> Option<ReadReq> {
    match src {
        Source::Stored { array, origin } => Some(ReadReq {
            array: array.clone(),
            at: (0..block.len()).map(|k| chunks.offset(k, block[k]) + origin[k]).collect(),
            shape: chunks.block_shape(block),
            dtype,
        }),
        _ => None,
    }
}

/// The block at `block` of a source with the given full shape and chunks.
pub fn source_block(
    src: &Source,
    shape: &[usize],
    chunks: &Chunks,
    block: &[usize],
    dtype: crate::DType,
    reads: Reads<'_>,
) -> Result<Chunk> {
    let bshape = chunks.block_shape(block);
    let start = chunks.block_start(block);
    match src {
        // in-memory blocks are shared, not made: the executor hands them out
        Source::Data(_) => Err(Error::Execution("internal: in-memory blocks are not generated".into())),
        Source::Full(v) => Ok(Chunk::full(&bshape, *v)),
        Source::Stored { .. } => {
            let req = stored_read(src, chunks, block, dtype).expect("a stored source");
            match reads.prefetch.and_then(|p| p.take(&req)) {
                Some(r) => r,
                None => req.read(reads.io),
            }
        }
        Source::Arange { start: s0, step } => crate::dispatch_dtype!(dtype, T => {
            let n = bshape[0];
            let off = start[0];
            let v: Vec<T> = (0..n).map(|i| arange_value::<T>(*s0, *step, (off + i) as u64)).collect();
            Ok(T::wrap(ArrayD::from_shape_vec(IxDyn(&bshape), v).map_err(internal)?))
        }),
        Source::Linspace { start: a, stop, num } => {
            let step = if *num > 1 { (stop - a) / (*num - 1) as f64 } else { 0.0 };
            let v: Vec<f64> = (0..bshape[0])
                .map(|i| {
                    let g = start[0] + i;
                    if g + 1 == *num && *num > 1 { *stop } else { a + g as f64 * step }
                })
                .collect();
            Ok(Chunk::F64(ArrayD::from_shape_vec(IxDyn(&bshape), v).map_err(internal)?))
        }
        Source::Eye => crate::dispatch_dtype!(dtype, T => {
            let one = T::from_prim(Prim::I(1));
            let a = ArrayD::from_shape_fn(IxDyn(&bshape), |i| if i[0] + start[0] == i[1] + start[1] { one } else { T::default() });
            Ok(T::wrap(a))
        }),
        Source::Random { .. } => RandomBlock::new(src, shape, chunks, block).expect("a random source").to_chunk(),
    }
}

/// The values of a random source over one block, made on demand: the whole
/// block ([`source_block`]) or one tile of a fused program at a time (the
/// interpreter's generated inputs), so a random block read only by a fused
/// program is never stored.
#[derive(Clone, Debug)]
pub struct RandomBlock {
    dist: Distribution,
    a: f64,
    b: f64,
    seed: u64,
    /// Row-major strides of the whole array, in elements.
    strides: Vec<u64>,
    /// First element of the block in the whole array.
    start: Vec<usize>,
    /// The block's shape.
    shape: Vec<usize>,
}

impl RandomBlock {
    /// The generator of block `block` of `src`, when `src` is random.
    pub fn new(src: &Source, shape: &[usize], chunks: &Chunks, block: &[usize]) -> Option<RandomBlock> {
        let Source::Random { dist, a, b, seed } = src else { return None };
        let strides = crate::chunks::row_major_strides(shape).into_iter().map(|s| s as u64).collect();
        Some(RandomBlock {
            dist: *dist,
            a: *a,
            b: *b,
            seed: *seed,
            strides,
            start: chunks.block_start(block),
            shape: chunks.block_shape(block),
        })
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole block.
    pub fn to_chunk(&self) -> Result<Chunk> {
        let mut v = vec![0.0f64; self.len()];
        self.fill(0, &mut v);
        Ok(Chunk::F64(ArrayD::from_shape_vec(IxDyn(&self.shape), v).map_err(internal)?))
    }

    /// The values at positions `pos..pos + out.len()` of the block (row-major).
    pub fn fill(&self, pos: usize, out: &mut [f64]) {
        let nd = self.shape.len();
        if nd == 0 {
            self.fill_run(0, out);
            return;
        }
        let last = nd - 1;
        let row = self.shape[last];
        let mut done = 0;
        while done < out.len() {
            // multi-index of position pos + done within the block
            let mut rem = pos + done;
            let mut flat = 0u64;
            for k in (0..nd).rev() {
                let i = rem % self.shape[k];
                rem /= self.shape[k];
                flat += (self.start[k] + i) as u64 * self.strides[k];
            }
            let in_row = (pos + done) % row;
            let seg = (out.len() - done).min(row - in_row);
            self.fill_run(flat, &mut out[done..done + seg]);
            done += seg;
        }
    }

    /// The whole array of random source `src` (of shape `shape`) as one
    /// block, to read any region with [`RandomBlock::fill_run`].
    pub fn whole(src: &Source, shape: &[usize]) -> Option<RandomBlock> {
        let chunks = Chunks::new(shape, shape.iter().map(|&n| vec![n]).collect()).ok()?;
        RandomBlock::new(src, shape, &chunks, &vec![0; shape.len()])
    }

    /// Row-major strides of the whole array, in elements.
    pub fn strides(&self) -> &[u64] {
        &self.strides
    }

    /// Values at consecutive flat indices of the whole array from `flat`.
    pub fn fill_run(&self, flat: u64, out: &mut [f64]) {
        match self.dist {
            Distribution::Uniform => {
                rng::fill_uniform01(self.seed, flat, out);
                let (lo, w) = (self.a, self.b - self.a);
                if (lo, w) != (0.0, 1.0) {
                    for x in out.iter_mut() {
                        *x = lo + w * *x;
                    }
                }
            }
            Distribution::Normal => {
                for (j, x) in out.iter_mut().enumerate() {
                    *x = self.a + self.b * rng::standard_normal(self.seed, flat + j as u64);
                }
            }
        }
    }
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Execution(format!("internal: {e}"))
}

fn arange_value<T: Element>(start: Scalar, step: Scalar, i: u64) -> T {
    match (start.prim(), step.prim()) {
        (Prim::F(s), Prim::F(d)) => T::from_prim(Prim::F(s + i as f64 * d)),
        (Prim::U(s), Prim::U(d)) => T::from_prim(Prim::U(s.wrapping_add(i.wrapping_mul(d)))),
        (p, q) => T::from_prim(Prim::I(prim_i64(p).wrapping_add((i as i64).wrapping_mul(prim_i64(q))))),
    }
}

fn prim_i64(p: Prim) -> i64 {
    match p {
        Prim::I(v) => v,
        Prim::U(v) => v as i64,
        Prim::B(b) => b as i64,
        Prim::F(v) => v as i64,
    }
}
