//! Write-behind: output blocks handed to the run's sink (`to_zarr`) are
//! encoded and written by the I/O pool ([`super::io_pool`]) while the
//! workers go on computing. The queue is bounded in bytes: when a block
//! would take it over the bound, the worker that made the block writes it
//! itself (backpressure), so memory stays bounded and no one waits on a full
//! queue. The first write error is kept and reported to the run (which then
//! fails); the run returns only after every queued write has finished.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::io_pool::IoPool;
use super::run_task::Value;
use super::Sink;
use crate::error::{Error, Result};

/// Write-behind state of one run.
pub struct WriteBehind {
    /// Most bytes of blocks queued or being written.
    bound: u64,
    bytes: AtomicU64,
    written: AtomicUsize,
    error: Mutex<Option<Error>>,
}

impl WriteBehind {
    pub fn new(bound: u64) -> WriteBehind {
        WriteBehind { bound, bytes: AtomicU64::new(0), written: AtomicUsize::new(0), error: Mutex::new(None) }
    }

    /// Bytes of blocks queued or being written.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Blocks written by the pool.
    pub fn written(&self) -> usize {
        self.written.load(Ordering::Relaxed)
    }

    /// The first write error, if any.
    pub fn error(&self) -> Option<Error> {
        self.error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Hand block `block` of output `output` to `sink`: queued on `pool` when
    /// the queue has room, else written here. `done` is called by the pool
    /// after each queued write, with its error if it failed.
    #[allow(clippy::too_many_arguments)]
    pub fn write<'env>(
        &'env self,
        pool: &IoPool<'env>,
        sink: Sink<'env>,
        output: usize,
        block: &[usize],
        v: &Arc<Value>,
        done: &'env (dyn Fn(Option<Error>) + Sync),
    ) -> Result<()> {
        if let Some(e) = self.error() {
            return Err(e);
        }
        let n = v.nbytes();
        let before = self.bytes.fetch_add(n, Ordering::Relaxed);
        if before + n > self.bound {
            self.bytes.fetch_sub(n, Ordering::Relaxed);
            return sink(output, block, v.block()?);
        }
        let (block, v) = (block.to_vec(), v.clone());
        pool.submit(Box::new(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink(output, &block, v.block()?)))
                .unwrap_or_else(|_| Err(Error::Execution("internal: a block write panicked".into())));
            drop(v);
            self.bytes.fetch_sub(n, Ordering::Relaxed);
            match r {
                Ok(()) => {
                    self.written.fetch_add(1, Ordering::Relaxed);
                    done(None);
                }
                Err(e) => {
                    self.error.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(|| e.clone());
                    done(Some(e));
                }
            }
        }));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::cpu::chunk::Chunk;

    fn block(n: usize) -> Arc<Value> {
        Arc::new(Value::Block(Chunk::F64(ndarray::ArrayD::zeros(ndarray::IxDyn(&[n])))))
    }

    #[test]
    fn writes_are_queued_within_the_bound_and_made_here_beyond_it() {
        let here = std::thread::current().id();
        let on_pool = AtomicUsize::new(0);
        let by_caller = AtomicUsize::new(0);
        let sink = |_: usize, _: &[usize], _: &Chunk| -> Result<()> {
            if std::thread::current().id() == here {
                by_caller.fetch_add(1, Ordering::Relaxed);
            } else {
                on_pool.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        };
        let done = |_: Option<Error>| {};
        let w = WriteBehind::new(100);
        let pool = IoPool::new();
        // no pool thread yet: queued blocks wait, the rest is written here
        for _ in 0..5 {
            w.write(&pool, &sink, 0, &[0], &block(4), &done).unwrap(); // 32 bytes each
        }
        assert_eq!((w.bytes(), by_caller.load(Ordering::Relaxed)), (96, 2));
        std::thread::scope(|s| {
            s.spawn(|| pool.work());
            pool.close();
        });
        assert_eq!((w.bytes(), w.written(), on_pool.load(Ordering::Relaxed)), (0, 3, 3));
    }

    #[test]
    fn the_first_error_is_kept_and_stops_later_writes() {
        let reported = Mutex::new(Vec::new());
        let done = |e: Option<Error>| reported.lock().unwrap().push(e);
        let sink = |i: usize, _: &[usize], _: &Chunk| -> Result<()> {
            if i == 1 {
                Err(Error::Storage("disk full".into()))
            } else {
                Ok(())
            }
        };
        let w = WriteBehind::new(1 << 20);
        let pool = IoPool::new();
        std::thread::scope(|s| {
            s.spawn(|| pool.work());
            w.write(&pool, &sink, 0, &[0], &block(1), &done).unwrap();
            w.write(&pool, &sink, 1, &[1], &block(1), &done).unwrap();
            pool.close();
        });
        assert_eq!(w.error(), Some(Error::Storage("disk full".into())));
        assert_eq!(reported.lock().unwrap().iter().filter(|e| e.is_some()).count(), 1);
        assert!(w.write(&pool, &sink, 2, &[2], &block(1), &done).is_err());
    }
}
