//! I/O overlapping compute (`Executor::io_threads`, `write_behind`):
//! results are identical with 0, 1 and 4 I/O threads over random shapes and
//! chunkings (store → computation, store → store); read-ahead and
//! write-behind really happen and reads really overlap (counted in
//! `Stats`); a corrupt chunk read ahead and a failed write behind are
//! errors, never panics or hangs, and a failed write leaves the store marked
//! unfinished.

#[macro_use]
mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use floe::{Error, Executor, ZarrArray, ZarrCodec, ZarrWriteOptions};
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;

static N: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory path (not created) under the system temp dir.
fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "floe-io-test-{}-{}-{}",
        std::process::id(),
        tag,
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

struct Cleanup(PathBuf);
impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ex(io: usize) -> Executor {
    Executor::cpu().threads(2).io_threads(io)
}

/// Same values, NaN equal to NaN, same bits otherwise.
fn same_bits(a: &ArrayD<f64>, b: &ArrayD<f64>) -> bool {
    a.shape() == b.shape() && a.iter().zip(b.iter()).all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

proptest! {
    #![proptest_config(config(16))]
    /// Store → computation: the same bits with 0, 1 and 4 I/O threads, with
    /// and without a compute-time rechunk (stored reads inline in fused
    /// tasks, or a read layer), and under a small memory limit.
    #[test]
    fn computations_do_not_depend_on_io_threads(
        (a, ch) in chunked_in::<f64>(shape_in(1, 3), grid_f64()),
        rc in 1usize..5,
        rechunk in any::<bool>(),
        limited in any::<bool>(),
    ) {
        let dir = scratch("compute");
        let _c = Cleanup(dir.clone());
        floe::from_ndarray(&a, ch.spec()).unwrap().to_zarr(&dir).unwrap();
        let mut x = floe::open_zarr::<f64>(&dir).unwrap();
        if rechunk {
            x = x.rechunk(rc).unwrap();
        }
        let s = (&(&x * 2.0) + 1.0).sum(0).unwrap();
        let anom = &x - &x.mean(0).unwrap();
        let mut results = Vec::new();
        for io in [0, 1, 4] {
            let mut e = ex(io);
            if limited {
                e = e.memory_limit(64 << 10);
            }
            let r = e.compute_many(&[&s, &anom]).unwrap();
            results.push(r);
        }
        for r in &results[1..] {
            prop_assert!(same_bits(&r[0], &results[0][0]), "{:?} vs {:?}", r[0], results[0][0]);
            prop_assert!(same_bits(&r[1], &results[0][1]), "{:?} vs {:?}", r[1], results[0][1]);
        }
    }

    /// Store → store (read-ahead of the input, with and without
    /// write-behind): the same stored bits with 0, 1 and 4 I/O threads, and
    /// the input's values.
    #[test]
    fn writes_do_not_depend_on_io_threads(
        (a, ch) in chunked_in::<f64>(shape_in(1, 3), grid_f64()),
        out_chunks in 1usize..5,
        behind in any::<bool>(),
    ) {
        let dir = scratch("write");
        let _c = Cleanup(dir.clone());
        floe::from_ndarray(&a, ch.spec()).unwrap().to_zarr(&dir).unwrap();
        let x = floe::open_zarr::<f64>(&dir).unwrap();
        let y = &(&x * 3.0) - 1.0;
        let expected = a.mapv(|v| v * 3.0 - 1.0);
        for io in [0, 1, 4] {
            let out = dir.with_extension(format!("out{io}"));
            let _o = Cleanup(out.clone());
            let o = ZarrWriteOptions::new().chunks(vec![out_chunks; a.ndim()]).codec(ZarrCodec::Zstd { level: 1 });
            ex(io).write_behind(behind).to_zarr_with(&y, &out, &o).unwrap();
            let back = floe::open_zarr::<f64>(&out).unwrap().compute().unwrap();
            prop_assert!(same_bits(&back, &expected), "io {}: {:?} vs {:?}", io, back, expected);
        }
    }
}

/// A (64, 16) f64 store in (4, 16) chunks: 16 chunks of 512 bytes.
fn sixteen_chunks(dir: &std::path::Path) -> ArrayD<f64> {
    let a = ArrayD::from_shape_fn(IxDyn(&[64, 16]), |i| (i[0] * 16 + i[1]) as f64);
    floe::from_ndarray(&a, vec![4, 16]).unwrap().to_zarr(dir).unwrap();
    a
}

#[test]
fn blocks_are_read_ahead_and_written_behind() {
    let dir = scratch("counted");
    let _c = Cleanup(dir.clone());
    let a = sixteen_chunks(&dir);
    // one worker, two I/O threads, a slow store: reads go ahead of the worker
    let slow = Executor::cpu().threads(1).io_threads(2).write_behind(true).read_latency(Duration::from_millis(5));
    let z = Arc::new(ZarrArray::open(&dir).unwrap());
    let x = floe::from_zarr::<f64>(z.clone()).unwrap();
    let (r, stats) = slow.compute_with_stats(&(&x * 2.0).sum(..).unwrap()).unwrap();
    assert_eq!(r.into_iter().next().unwrap(), a.sum() * 2.0);
    assert!(stats.prefetched_blocks > 0, "{stats:?}");
    // read ahead, never read twice
    assert_eq!(z.chunk_reads(), 16);
    // without I/O threads: nothing read ahead
    let (_, stats) = slow.clone().io_threads(0).compute_with_stats(&(&x * 2.0).sum(..).unwrap()).unwrap();
    assert_eq!(stats.prefetched_blocks, 0);
    // to_zarr: blocks written by the I/O threads, the result complete
    let out = dir.with_extension("out");
    let _o = Cleanup(out.clone());
    let stats = slow.to_zarr_with(&(&x + 1.0), &out, &ZarrWriteOptions::new()).unwrap();
    assert!(stats.written_behind_blocks > 0, "{stats:?}");
    assert!(stats.prefetched_blocks > 0, "{stats:?}");
    assert_eq!(floe::open_zarr::<f64>(&out).unwrap().compute().unwrap(), &a + 1.0);
    // without write-behind (the default), or with a zero I/O buffer,
    // workers write themselves
    let stats = slow.clone().write_behind(false).to_zarr_with(&(&x + 1.0), &out, &ZarrWriteOptions::new().overwrite(true)).unwrap();
    assert_eq!(stats.written_behind_blocks, 0);
    assert!(stats.prefetched_blocks > 0, "{stats:?}");
    let stats = slow.io_buffer(0).to_zarr_with(&(&x + 1.0), &out, &ZarrWriteOptions::new().overwrite(true)).unwrap();
    assert_eq!((stats.written_behind_blocks, stats.prefetched_blocks), (0, 0));
}

#[test]
fn reads_overlap_with_read_ahead_and_not_without() {
    let dir = scratch("overlap");
    let _c = Cleanup(dir.clone());
    let a = sixteen_chunks(&dir);
    let x = floe::open_zarr::<f64>(&dir).unwrap();
    let s = (&x * 2.0).sum(..).unwrap();
    // a slow store (20 ms a read): one worker alone reads one block at a
    // time; with 4 I/O threads reading ahead, several reads are in flight
    let e = Executor::cpu().threads(1).read_latency(Duration::from_millis(20));
    let (r0, without) = e.clone().io_threads(0).compute_with_stats(&s).unwrap();
    let (r4, with) = e.io_threads(4).compute_with_stats(&s).unwrap();
    assert_eq!((r0.sum(), r4.sum()), (2.0 * a.sum(), 2.0 * a.sum()));
    assert_eq!(without.peak_reads_in_flight, 1, "{without:?}");
    assert!(with.peak_reads_in_flight >= 2, "{with:?}");
    assert!(with.peak_reads_in_flight <= 5, "4 I/O threads and 1 worker: {with:?}");
    assert!(with.prefetched_blocks > 0, "{with:?}");
    // nothing stored, nothing read
    let (_, none) = Executor::cpu().compute_with_stats(&floe::ones::<f64>(&[8], 2).unwrap().sum(..).unwrap()).unwrap();
    assert_eq!(none.peak_reads_in_flight, 0);
}

#[test]
fn a_corrupt_chunk_read_ahead_is_an_error() {
    let dir = scratch("corrupt");
    let _c = Cleanup(dir.clone());
    sixteen_chunks(&dir);
    for k in [3, 9, 10] {
        std::fs::write(dir.join("c").join(k.to_string()).join("0"), b"garbage").unwrap();
    }
    let x = floe::open_zarr::<f64>(&dir).unwrap();
    for (threads, io) in [(1, 1), (1, 4), (2, 2)] {
        let e = Executor::cpu().threads(threads).io_threads(io).read_latency(Duration::from_millis(1));
        match e.compute(&(&x - &x.mean(0).unwrap())) {
            Err(Error::Storage(m)) => assert!(m.contains("reading"), "{m}"),
            other => panic!("expected a storage error, got {other:?}"),
        }
        let out = dir.with_extension(format!("out{threads}{io}"));
        let _o = Cleanup(out.clone());
        assert!(matches!(e.to_zarr(&(&x * 2.0), &out), Err(Error::Storage(_))));
        assert!(floe::open_zarr::<f64>(&out).is_err(), "a failed write must not read as complete");
    }
}

/// Once `dir/zarr.json` exists, put a file where the chunk directory `c`
/// goes, so every chunk write fails. Returns whether it got there before
/// the first chunk was written (else the scenario is tried again).
fn block_chunk_dir(dir: PathBuf) -> std::thread::JoinHandle<bool> {
    std::thread::spawn(move || {
        for _ in 0..50_000 {
            if dir.join("zarr.json").is_file() {
                return std::fs::write(dir.join("c"), b"not a directory").is_ok();
            }
            std::thread::sleep(Duration::from_micros(100));
        }
        false
    })
}

#[test]
fn a_failed_write_behind_fails_the_call_and_leaves_the_store_unfinished() {
    let dir = scratch("write-error");
    let _c = Cleanup(dir.clone());
    sixteen_chunks(&dir);
    let x = floe::open_zarr::<f64>(&dir).unwrap();
    for (io, behind) in [(0, false), (2, false), (2, true)] {
        let out = dir.with_extension(format!("out{io}{behind}"));
        let _o = Cleanup(out.clone());
        // slow reads: the chunk directory is normally blocked before the
        // first write; on a machine so loaded that it was not, try again
        let mut tries = 0;
        let r = loop {
            let _ = std::fs::remove_dir_all(&out);
            let e = Executor::cpu().threads(2).io_threads(io).write_behind(behind).read_latency(Duration::from_millis(40));
            let blocker = block_chunk_dir(out.clone());
            let r = e.to_zarr_with(&(&x * 2.0), &out, &ZarrWriteOptions::new());
            tries += 1;
            if blocker.join().unwrap() || tries == 5 {
                break r;
            }
        };
        match r {
            Err(Error::Storage(m)) => assert!(m.contains("writing chunk"), "{m}"),
            other => panic!("io {io}, write-behind {behind}: expected a storage error, got {other:?}"),
        }
        let meta = std::fs::read_to_string(out.join("zarr.json")).unwrap();
        assert!(meta.contains("floe_write_in_progress"), "io {io}: the store must stay marked unfinished");
        assert!(floe::open_zarr::<f64>(&out).is_err());
    }
}

#[test]
fn read_ahead_stays_within_the_memory_limit() {
    let dir = scratch("limit");
    let _c = Cleanup(dir.clone());
    let a = sixteen_chunks(&dir);
    let x = floe::open_zarr::<f64>(&dir).unwrap();
    // 4 KiB: an eighth (512 bytes) holds one chunk read ahead at a time
    let e = Executor::cpu().threads(1).io_threads(2).memory_limit(4 << 10).read_latency(Duration::from_millis(2));
    let (r, stats) = e.compute_with_stats(&(&x - &x.mean(0).unwrap()).std(0, 0).unwrap()).unwrap();
    assert!(stats.peak_bytes <= 4 << 10, "{stats:?}");
    assert!(stats.prefetched_blocks > 0, "{stats:?}");
    let m = a.mean_axis(ndarray::Axis(0)).unwrap();
    let sd = (&a - &m).mapv(|v| v * v).mean_axis(ndarray::Axis(0)).unwrap().mapv(f64::sqrt);
    assert!(r.iter().zip(sd.iter()).all(|(p, q)| (p - q).abs() < 1e-9), "{r:?} vs {sd:?}");
}
