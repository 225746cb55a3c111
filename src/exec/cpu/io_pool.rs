//! The I/O pool: a few dedicated std threads (not compute workers) that run
//! storage jobs — block reads ahead of the tasks that need them
//! ([`super::prefetch`]) and block writes behind the tasks that made them
//! ([`super::write_behind`]) — so that I/O overlaps compute.
//!
//! The pool is a FIFO queue of jobs served by threads spawned into the run's
//! thread scope (`Executor::io_threads`), so jobs may borrow what the run
//! borrows (the graph, the sink). What it holds is bounded by its users:
//! read-ahead and write-behind each keep a byte budget. [`IoPool::close`]
//! lets the threads finish the queue and return; the scope then joins them.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};

/// One job: runs once on a pool thread.
pub type Job<'env> = Box<dyn FnOnce() + Send + 'env>;

#[derive(Default)]
struct Queue<'env> {
    jobs: VecDeque<Job<'env>>,
    closed: bool,
}

/// A queue of I/O jobs and the threads that serve it.
#[derive(Default)]
pub struct IoPool<'env> {
    queue: Mutex<Queue<'env>>,
    ready: Condvar,
}

impl<'env> IoPool<'env> {
    pub fn new() -> IoPool<'env> {
        IoPool::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue<'env>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queue a job; after [`IoPool::close`] it runs here instead.
    pub fn submit(&self, job: Job<'env>) {
        let mut q = self.lock();
        if q.closed {
            drop(q);
            job();
            return;
        }
        q.jobs.push_back(job);
        drop(q);
        self.ready.notify_one();
    }

    /// The loop of one pool thread: run jobs until the pool is closed and
    /// its queue empty. A job that panics does not end the thread (jobs
    /// report their own errors; see their modules).
    pub fn work(&self) {
        loop {
            let job = {
                let mut q = self.lock();
                loop {
                    if let Some(j) = q.jobs.pop_front() {
                        break j;
                    }
                    if q.closed {
                        return;
                    }
                    q = self.ready.wait(q).unwrap_or_else(|e| e.into_inner());
                }
            };
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        }
    }

    /// No more jobs are queued; the threads return once the queue is empty.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }
}

/// Closes the pool when dropped (also when unwinding), so its threads never
/// wait forever and the scope that joins them returns.
pub struct CloseOnDrop<'p, 'env>(pub &'p IoPool<'env>, pub Option<&'p super::prefetch::Prefetch>);

impl Drop for CloseOnDrop<'_, '_> {
    fn drop(&mut self) {
        if let Some(p) = self.1 {
            p.close();
        }
        self.0.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn runs_every_job_before_its_threads_return() {
        let n = AtomicUsize::new(0);
        let pool = IoPool::new();
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| pool.work());
            }
            for _ in 0..100 {
                pool.submit(Box::new(|| {
                    n.fetch_add(1, Ordering::Relaxed);
                }));
            }
            pool.close();
        });
        assert_eq!(n.load(Ordering::Relaxed), 100);
        // after close, a job runs on the caller
        pool.submit(Box::new(|| {
            n.fetch_add(1, Ordering::Relaxed);
        }));
        assert_eq!(n.load(Ordering::Relaxed), 101);
    }

    #[test]
    fn a_panicking_job_does_not_stop_the_pool() {
        let n = AtomicUsize::new(0);
        let pool = IoPool::new();
        std::thread::scope(|s| {
            s.spawn(|| pool.work());
            pool.submit(Box::new(|| panic!("job failed")));
            pool.submit(Box::new(|| {
                n.fetch_add(1, Ordering::Relaxed);
            }));
            pool.close();
        });
        assert_eq!(n.load(Ordering::Relaxed), 1);
    }
}
