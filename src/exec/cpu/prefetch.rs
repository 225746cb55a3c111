//! Read-ahead of stored blocks: the table of reads the scheduler asked the
//! I/O pool ([`super::io_pool`]) to make before the tasks that need them run.
//!
//! The scheduler *registers* the stored reads of the next ready tasks (in
//! priority order) while there is room in the byte budget; each new read is
//! queued on the pool. A task then *takes* each block it reads:
//! - read and waiting: the task takes it (the last taker moves it out and
//!   frees its bytes);
//! - being read by the pool (or by another task): the task waits for that
//!   read instead of reading the block twice;
//! - still queued: the task claims the read and makes it itself, so no task
//!   waits behind the pool's queue;
//! - not registered: the task reads it itself, as without read-ahead.
//!
//! Reads are keyed by (store, region, element type), so the same block read
//! by two tasks (e.g. `x` in `x - x.mean(0)`) is one entry with two takers.
//! A read's error is kept in its entry and returned to its takers, so it
//! fails the task that needs it ([`crate::Error::Storage`]); a panic in a
//! read is turned into an error. Entries never taken (a run that fails) are
//! dropped with the table.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use super::chunk::Chunk;
use super::source::{ReadIo, ReadKey, ReadReq};
use crate::error::{Error, Result};

enum State {
    Queued,
    Reading,
    Done { result: Result<Chunk>, by_pool: bool },
}

struct Entry {
    req: ReadReq,
    /// Tasks registered to take this block that have not taken it yet.
    want: u32,
    state: State,
}

#[derive(Default)]
struct Table {
    ids: HashMap<ReadKey, u64>,
    entries: HashMap<u64, Entry>,
    next: u64,
    closed: bool,
}

/// The read-ahead table of one run.
pub struct Prefetch {
    table: Mutex<Table>,
    done: Condvar,
    /// Most bytes of registered reads not yet taken.
    budget: u64,
    /// Bytes of registered reads not yet taken (queued, in flight or read).
    bytes: AtomicU64,
    /// Blocks read by the pool and taken by a task.
    used: AtomicUsize,
    io: Arc<ReadIo>,
}

impl Prefetch {
    /// A table holding at most `budget` bytes; reads go through `io`.
    pub fn new(budget: u64, io: Arc<ReadIo>) -> Prefetch {
        Prefetch {
            table: Mutex::new(Table::default()),
            done: Condvar::new(),
            budget,
            bytes: AtomicU64::new(0),
            used: AtomicUsize::new(0),
            io,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes registered and not yet taken.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Blocks read ahead by the pool and taken by a task.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Register the reads of one task, all or none: the bytes of the new
    /// reads, or `None` (nothing registered) when they would take the bytes
    /// held over the budget or over `room`. Ids of new reads, to run on the
    /// pool with [`Prefetch::run`], are pushed to `start`.
    pub fn register(&self, reqs: &[ReadReq], room: u64, start: &mut Vec<u64>) -> Option<u64> {
        let mut t = self.lock();
        if t.closed {
            return None;
        }
        // bytes of the distinct reads not registered yet
        let mut keys: Vec<ReadKey> = Vec::with_capacity(reqs.len());
        let mut new = 0;
        for r in reqs {
            let k = r.key();
            if !t.ids.contains_key(&k) && !keys.contains(&k) {
                new += r.nbytes();
                keys.push(k);
            }
        }
        let held = self.bytes();
        if new > 0 && (held + new > self.budget || new > room) {
            return None;
        }
        for r in reqs {
            let key = r.key();
            if let Some(id) = t.ids.get(&key).copied() {
                if let Some(e) = t.entries.get_mut(&id) {
                    e.want += 1;
                    continue;
                }
            }
            let id = t.next;
            t.next += 1;
            t.ids.insert(key, id);
            t.entries.insert(id, Entry { req: r.clone(), want: 1, state: State::Queued });
            start.push(id);
        }
        self.bytes.fetch_add(new, Ordering::Relaxed);
        Some(new)
    }

    /// The pool's job for read `id`: read it unless a task claimed it, the
    /// table closed or it is gone.
    pub fn run(&self, id: u64) {
        let req = {
            let mut t = self.lock();
            if t.closed {
                return;
            }
            match t.entries.get_mut(&id) {
                Some(e) if matches!(e.state, State::Queued) => {
                    e.state = State::Reading;
                    e.req.clone()
                }
                _ => return,
            }
        };
        let result = read_caught(&req, &self.io);
        self.finish(id, result, true);
    }

    fn finish(&self, id: u64, result: Result<Chunk>, by_pool: bool) {
        let mut t = self.lock();
        if let Some(e) = t.entries.get_mut(&id) {
            e.state = State::Done { result, by_pool };
        }
        drop(t);
        self.done.notify_all();
    }

    /// The block `req` as registered: `None` when it was not (the caller
    /// reads it itself). Waits for a read in flight; makes a queued read here.
    pub fn take(&self, req: &ReadReq) -> Option<Result<Chunk>> {
        let key = req.key();
        let mut t = self.lock();
        let id = *t.ids.get(&key)?;
        loop {
            let e = t.entries.get_mut(&id)?;
            match e.state {
                State::Queued => {
                    e.state = State::Reading;
                    let req = e.req.clone();
                    drop(t);
                    let result = read_caught(&req, &self.io);
                    self.finish(id, result, false);
                    t = self.lock();
                }
                State::Reading => t = self.done.wait(t).unwrap_or_else(|e| e.into_inner()),
                State::Done { .. } => break,
            }
        }
        let e = t.entries.get_mut(&id)?;
        e.want = e.want.saturating_sub(1);
        let (result, by_pool) = if e.want == 0 {
            let e = t.entries.remove(&id)?;
            t.ids.remove(&key);
            self.bytes.fetch_sub(e.req.nbytes(), Ordering::Relaxed);
            match e.state {
                State::Done { result, by_pool } => (result, by_pool),
                _ => unreachable!("state checked above"),
            }
        } else {
            match &e.state {
                State::Done { result, by_pool } => (result.clone(), *by_pool),
                _ => unreachable!("state checked above"),
            }
        };
        if by_pool && result.is_ok() {
            self.used.fetch_add(1, Ordering::Relaxed);
        }
        Some(result)
    }

    /// No more reads start (queued ones are skipped); called when the run ends.
    pub fn close(&self) {
        self.lock().closed = true;
    }
}

/// Read `req`; a panic in the read becomes an error.
fn read_caught(req: &ReadReq, io: &ReadIo) -> Result<Chunk> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| req.read(io))).unwrap_or_else(|p| {
        let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
        Err(Error::Storage(format!("{}: read of {:?} panicked: {}", req.array.describe(), req.at, msg.unwrap_or_default())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::write::{ZarrWriteOptions, ZarrWriter};
    use crate::store::ZarrArray;
    use crate::DType;
    use std::path::PathBuf;
    use std::sync::Arc;

    /// A 1-d f64 store of 8 elements in chunks of 2 (element i is i), and
    /// the request for its chunk `k`.
    struct Store(PathBuf, Arc<ZarrArray>);
    impl Drop for Store {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn store(tag: &str) -> Store {
        let dir = std::env::temp_dir().join(format!("floe-prefetch-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let w = ZarrWriter::create(&dir, &[8], DType::F64, &[2], &ZarrWriteOptions::new()).unwrap();
        let a = ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[8]), |i| i[0] as f64);
        w.write_region(&[0], a.view()).unwrap();
        w.finish().unwrap();
        let z = Arc::new(ZarrArray::open(&dir).unwrap());
        Store(dir, z)
    }
    fn req(s: &Store, k: usize) -> ReadReq {
        ReadReq { array: s.1.clone(), at: vec![2 * k], shape: vec![2], dtype: DType::F64 }
    }
    impl Prefetch {
        fn register_ok(&self, reqs: &[ReadReq], room: u64, start: &mut Vec<u64>) -> bool {
            self.register(reqs, room, start).is_some()
        }
    }
    fn values(c: &Chunk) -> Vec<f64> {
        match c {
            Chunk::F64(a) => a.iter().copied().collect(),
            _ => panic!("not f64"),
        }
    }

    #[test]
    fn one_read_serves_every_registered_taker() {
        let s = store("shared");
        let p = Prefetch::new(1 << 20, Arc::default());
        let mut start = Vec::new();
        assert!(p.register_ok(&[req(&s, 1)], u64::MAX, &mut start));
        assert!(p.register_ok(&[req(&s, 1)], u64::MAX, &mut start));
        assert_eq!(start.len(), 1, "one read for two takers");
        assert_eq!(p.bytes(), 16);
        std::thread::scope(|sc| {
            sc.spawn(|| p.run(start[0]));
            // both takers get the block: waiting for the read if it is in flight
            let a = p.take(&req(&s, 1)).unwrap().unwrap();
            let b = p.take(&req(&s, 1)).unwrap().unwrap();
            assert_eq!((values(&a), values(&b)), (vec![2.0, 3.0], vec![2.0, 3.0]));
        });
        assert_eq!(p.bytes(), 0, "taken by the last taker: bytes freed");
        assert_eq!(s.1.chunk_reads(), 1);
        // not registered (any more): the caller reads it itself
        assert!(p.take(&req(&s, 1)).is_none());
    }

    #[test]
    fn a_queued_read_is_made_by_its_taker() {
        let s = store("claim");
        let p = Prefetch::new(1 << 20, Arc::default());
        let mut start = Vec::new();
        assert!(p.register_ok(&[req(&s, 0)], u64::MAX, &mut start));
        let a = p.take(&req(&s, 0)).unwrap().unwrap();
        assert_eq!(values(&a), vec![0.0, 1.0]);
        p.run(start[0]); // the pool's job, late: nothing left to do
        assert_eq!((s.1.chunk_reads(), p.used(), p.bytes()), (1, 0, 0));
    }

    #[test]
    fn the_budget_and_the_room_bound_registration() {
        let s = store("budget");
        let p = Prefetch::new(32, Arc::default());
        let mut start = Vec::new();
        assert!(p.register_ok(&[req(&s, 0), req(&s, 1)], u64::MAX, &mut start));
        // over the budget: all or nothing
        assert!(!p.register_ok(&[req(&s, 2)], u64::MAX, &mut start));
        // a block already registered needs no new bytes
        assert!(p.register_ok(&[req(&s, 1)], 0, &mut start));
        assert_eq!((start.len(), p.bytes()), (2, 32));
        let p = Prefetch::new(1 << 20, Arc::default());
        assert!(!p.register_ok(&[req(&s, 0)], 15, &mut Vec::new()), "no room");
        // closed: nothing more is registered, queued reads are skipped
        let mut start = Vec::new();
        assert!(p.register_ok(&[req(&s, 3)], u64::MAX, &mut start));
        p.close();
        p.run(start[0]);
        assert!(!p.register_ok(&[req(&s, 2)], u64::MAX, &mut Vec::new()));
        assert_eq!(s.1.chunk_reads(), 0);
    }

    #[test]
    fn a_failed_read_is_every_takers_error() {
        let s = store("error");
        std::fs::write(s.0.join("c").join("2"), b"garbage").unwrap();
        let p = Prefetch::new(1 << 20, Arc::default());
        let mut start = Vec::new();
        assert!(p.register_ok(&[req(&s, 2)], u64::MAX, &mut start));
        assert!(p.register_ok(&[req(&s, 2)], u64::MAX, &mut start));
        p.run(start[0]);
        for _ in 0..2 {
            assert!(matches!(p.take(&req(&s, 2)), Some(Err(Error::Storage(_)))));
        }
        assert_eq!((p.bytes(), p.used()), (0, 0));
    }
}
