//! Zarr storage: floe writes and reads back what it wrote (random shapes,
//! dtypes and chunkings, including irregular and zero-size blocks), reads
//! only the stored chunks it needs, refuses bad paths, wrong dtypes and
//! unfinished writes with clear errors, and resumes interrupted writes.
//! (zarr-python interoperability is in tests/zarr_interop.rs.)

#[macro_use]
mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use floe::{Error, Executor, ZarrArray, ZarrCodec, ZarrWriteOptions};
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;

static N: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory path (not created) under the system temp dir.
fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "floe-zarr-test-{}-{}-{}",
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

fn ex() -> Executor {
    Executor::cpu().threads(2)
}

fn codecs() -> BoxedStrategy<ZarrCodec> {
    prop_oneof![Just(ZarrCodec::None), Just(ZarrCodec::Zstd { level: 1 }), Just(ZarrCodec::Gzip { level: 1 })].boxed()
}

macro_rules! roundtrip {
    ($name:ident, $t:ty, $elem:expr) => {
        proptest! {
            #![proptest_config(config(12))]
            #[test]
            fn $name((a, ch) in chunked::<$t>($elem), codec in codecs()) {
                let dir = scratch(stringify!($name));
                let _c = Cleanup(dir.clone());
                let x = floe::from_ndarray(&a, ch.spec()).unwrap();
                ex().to_zarr_with(&x, &dir, &ZarrWriteOptions::new().codec(codec)).unwrap();
                let back = floe::open_zarr::<$t>(&dir).unwrap();
                prop_assert_eq!(back.shape(), a.shape());
                let got = back.compute().unwrap();
                prop_assert!(same_bits(&got, &a), "{:?} vs {:?}", got, a);
            }
        }
    };
}

/// Elementwise equality that treats NaN as equal to NaN.
fn same_bits<T: PartialEq + Copy>(a: &ArrayD<T>, b: &ArrayD<T>) -> bool {
    a.shape() == b.shape() && a.iter().zip(b.iter()).all(|(x, y)| x == y || (x != x && y != y))
}

roundtrip!(roundtrip_f64, f64, any_f64(true));
roundtrip!(roundtrip_f32, f32, any_f32(true));
roundtrip!(roundtrip_i32, i32, ints::i32::full());
roundtrip!(roundtrip_u8, u8, ints::u8::full());
roundtrip!(roundtrip_i64, i64, ints::i64::full());
roundtrip!(roundtrip_bool, bool, bools());

proptest! {
    #![proptest_config(config(12))]
    /// Expressions over a stored array equal the same computed with ndarray,
    /// whatever the stored chunks and the chunks the expression asks for.
    #[test]
    fn stored_anomaly_matches_oracle((a, ch) in chunked_in::<f64>(shape_in(1, 3), grid_f64()), rc in 1usize..6) {
        let dir = scratch("anom");
        let _c = Cleanup(dir.clone());
        floe::from_ndarray(&a, ch.spec()).unwrap().to_zarr(&dir).unwrap();
        let x = floe::open_zarr::<f64>(&dir).unwrap();
        let x = x.rechunk(rc).unwrap();
        let anom = (&x - &x.mean(0).unwrap()).abs().sum(..).unwrap();
        let got = ex().compute(&anom).unwrap().into_iter().next().unwrap();
        let expected = if a.shape()[0] == 0 {
            0.0
        } else {
            let m = a.mean_axis(ndarray::Axis(0)).unwrap();
            (&a - &m).mapv(f64::abs).sum()
        };
        prop_assert!((got - expected).abs() <= 1e-9 * (1.0 + expected.abs()), "{got} vs {expected}");
    }
}

#[test]
fn irregular_chunks_are_regularised_to_the_largest_block() {
    let dir = scratch("irregular");
    let _c = Cleanup(dir.clone());
    let a = ArrayD::from_shape_fn(IxDyn(&[10, 7]), |i| (i[0] * 7 + i[1]) as f64);
    let x = floe::from_ndarray(&a, vec![vec![2, 5, 3], vec![4, 0, 3]]).unwrap();
    x.to_zarr(&dir).unwrap();
    let back = floe::open_zarr::<f64>(&dir).unwrap();
    assert_eq!(back.chunks().to_vec(), vec![vec![5, 5], vec![4, 3]]);
    assert_eq!(back.compute().unwrap(), a);
}

#[test]
fn reads_only_the_chunks_needed() {
    let dir = scratch("reads");
    let _c = Cleanup(dir.clone());
    let a = ArrayD::from_shape_fn(IxDyn(&[40, 30]), |i| (i[0] * 30 + i[1]) as f32);
    floe::from_ndarray(&a, vec![10, 10]).unwrap().to_zarr(&dir).unwrap();
    // every block read once for a sum
    let z = Arc::new(ZarrArray::open(&dir).unwrap());
    let x = floe::from_zarr::<f32>(z.clone()).unwrap();
    let s = ex().compute(&x.sum(..).unwrap()).unwrap();
    assert_eq!(s.into_iter().next().unwrap(), a.sum());
    assert_eq!(z.chunk_reads(), 12);
    // x - x.mean(0): each block read twice (once for the mean, once for the
    // subtraction) instead of being held across the mean
    let z = Arc::new(ZarrArray::open(&dir).unwrap());
    let x = floe::from_zarr::<f32>(z.clone()).unwrap();
    let (_, stats) = ex().memory_limit(4 << 10).compute_with_stats(&(&x - &x.mean(0).unwrap()).std(0, 0).unwrap()).unwrap();
    assert_eq!(z.chunk_reads(), 24);
    // held: the mean's blocks and a few reduction partials, not the input (4800 bytes)
    assert!(stats.peak_live_chunks <= 3 && stats.peak_bytes < 4800, "{stats:?}");
}

#[test]
fn a_rechunked_store_reads_each_new_block_directly() {
    let dir = scratch("rechunk-read");
    let _c = Cleanup(dir.clone());
    let a = ArrayD::from_shape_fn(IxDyn(&[12, 12]), |i| (i[0] * 12 + i[1]) as i32);
    floe::from_ndarray(&a, vec![4, 4]).unwrap().to_zarr(&dir).unwrap();
    let x = floe::open_zarr::<i32>(&dir).unwrap().rechunk(vec![12, 3]).unwrap();
    let plan = x.explain();
    assert!(!plan.contains("= rechunk") && !plan.contains(": rechunk"), "the rechunk folds into the read:\n{plan}");
    assert_eq!(x.compute().unwrap(), a);
}

#[test]
fn zero_d_and_zero_size_arrays() {
    let dir = scratch("zero-d");
    let _c = Cleanup(dir.clone());
    let a = ArrayD::from_elem(IxDyn(&[]), 2.5f64);
    floe::from_ndarray(&a, 1).unwrap().to_zarr(&dir).unwrap();
    assert_eq!(floe::open_zarr::<f64>(&dir).unwrap().compute().unwrap(), a);
    let dir2 = scratch("zero-size");
    let _c2 = Cleanup(dir2.clone());
    let e = ArrayD::<i16>::zeros(IxDyn(&[3, 0, 2]));
    floe::from_ndarray(&e, 2).unwrap().to_zarr(&dir2).unwrap();
    let back = floe::open_zarr::<i16>(&dir2).unwrap();
    assert_eq!(back.shape(), &[3, 0, 2]);
    assert_eq!(back.compute().unwrap(), e);
}

#[test]
fn bad_paths_and_dtypes_are_clear_errors() {
    let missing = scratch("missing");
    match floe::open_zarr::<f64>(&missing) {
        Err(Error::Storage(m)) => assert!(m.contains("no such file"), "{m}"),
        other => panic!("expected a storage error, got {other:?}"),
    }
    let dir = scratch("dtype");
    let _c = Cleanup(dir.clone());
    floe::zeros::<f32>(&[4], 2).unwrap().to_zarr(&dir).unwrap();
    match floe::open_zarr::<f64>(&dir) {
        Err(Error::DType(m)) => assert!(m.contains("float32") && m.contains("float64"), "{m}"),
        other => panic!("expected a dtype error, got {other:?}"),
    }
    // not a Zarr array
    let plain = scratch("plain");
    let _p = Cleanup(plain.clone());
    std::fs::create_dir_all(&plain).unwrap();
    std::fs::write(plain.join("notes.txt"), "hello").unwrap();
    assert!(matches!(floe::open_zarr::<f64>(&plain), Err(Error::Storage(_))));
    // refusing to write into a non-empty directory that is not a Zarr array
    assert!(matches!(floe::zeros::<f64>(&[4], 2).unwrap().to_zarr(&plain), Err(Error::Storage(_))));
    assert!(plain.join("notes.txt").exists());
    // corrupt metadata
    let bad = scratch("corrupt");
    let _b = Cleanup(bad.clone());
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("zarr.json"), "{ not json").unwrap();
    assert!(matches!(floe::open_zarr::<f64>(&bad), Err(Error::Storage(_))));
}

#[test]
fn a_corrupt_chunk_is_an_error_not_garbage() {
    let dir = scratch("corrupt-chunk");
    let _c = Cleanup(dir.clone());
    let a = ArrayD::from_shape_fn(IxDyn(&[8]), |i| i[0] as f64 + 1.0);
    floe::from_ndarray(&a, 4).unwrap().to_zarr(&dir).unwrap();
    std::fs::write(dir.join("c").join("1"), b"garbage").unwrap();
    match floe::open_zarr::<f64>(&dir).unwrap().compute() {
        Err(Error::Storage(m)) => assert!(m.contains("reading"), "{m}"),
        other => panic!("expected a storage error, got {other:?}"),
    }
}

#[test]
fn existing_arrays_need_overwrite() {
    let dir = scratch("overwrite");
    let _c = Cleanup(dir.clone());
    floe::ones::<f64>(&[6], 3).unwrap().to_zarr(&dir).unwrap();
    match floe::zeros::<f64>(&[6], 3).unwrap().to_zarr(&dir) {
        Err(Error::Storage(m)) => assert!(m.contains("overwrite"), "{m}"),
        other => panic!("expected a storage error, got {other:?}"),
    }
    assert_eq!(floe::open_zarr::<f64>(&dir).unwrap().compute().unwrap().sum(), 6.0);
    let twos = floe::full::<f64>(&[6], 2.0, 3).unwrap();
    ex().to_zarr_with(&twos, &dir, &ZarrWriteOptions::new().overwrite(true)).unwrap();
    assert_eq!(floe::open_zarr::<f64>(&dir).unwrap().compute().unwrap().sum(), 12.0);
}

/// Mark a finished store as interrupted: the in-progress marker back in
/// zarr.json and some chunk files gone, as a crash would leave it.
fn interrupt(dir: &std::path::Path, remove: &[&str]) {
    let meta = dir.join("zarr.json");
    let text = std::fs::read_to_string(&meta).unwrap();
    let text = text.replacen('{', "{\n  \"floe_write_in_progress\": {\"must_understand\": true},", 1);
    std::fs::write(&meta, text).unwrap();
    for r in remove {
        std::fs::remove_file(dir.join(r)).unwrap();
    }
}

#[test]
fn interrupted_writes_read_as_incomplete_and_resume() {
    let dir = scratch("resume");
    let _c = Cleanup(dir.clone());
    let a = ArrayD::from_shape_fn(IxDyn(&[6, 6]), |i| (i[0] * 6 + i[1]) as f64 + 1.0);
    let x = floe::from_ndarray(&a, vec![3, 2]).unwrap();
    x.to_zarr(&dir).unwrap();
    interrupt(&dir, &["c/0/1", "c/1/2"]);
    match floe::open_zarr::<f64>(&dir) {
        Err(Error::Storage(m)) => assert!(m.contains("unfinished"), "{m}"),
        other => panic!("an unfinished store must not open, got {other:?}"),
    }
    // writing again without resume/overwrite is refused
    assert!(x.to_zarr(&dir).is_err());
    // resume computes only the two missing blocks
    let y = &x * 1.0; // a map layer per block, counted by name
    let stats = ex().to_zarr_with(&y, &dir, &ZarrWriteOptions::new().resume(true)).unwrap();
    assert_eq!(stats.tasks_named("fused"), 2, "{stats:?}");
    assert_eq!(floe::open_zarr::<f64>(&dir).unwrap().compute().unwrap(), &a * 1.0);
    // resuming a different array is refused
    let other = floe::zeros::<f64>(&[6, 5], 3).unwrap();
    interrupt(&dir, &[]);
    match ex().to_zarr_with(&other, &dir, &ZarrWriteOptions::new().resume(true)) {
        Err(Error::Storage(m)) => assert!(m.contains("cannot resume"), "{m}"),
        r => panic!("expected a storage error, got {r:?}"),
    }
}

#[test]
fn store_chunks_can_differ_from_blocks() {
    let dir = scratch("store-chunks");
    let _c = Cleanup(dir.clone());
    let a = ArrayD::from_shape_fn(IxDyn(&[9, 10]), |i| (i[0] * 10 + i[1]) as u16);
    let x = floe::from_ndarray(&a, vec![vec![2, 7], vec![10]]).unwrap();
    ex().to_zarr_with(&x, &dir, &ZarrWriteOptions::new().chunks(vec![4, 5])).unwrap();
    let back = floe::open_zarr::<u16>(&dir).unwrap();
    assert_eq!(back.chunks().to_vec(), vec![vec![4, 4, 1], vec![5, 5]]);
    assert_eq!(back.compute().unwrap(), a);
}

#[test]
fn a_plan_over_the_memory_limit_writes_nothing() {
    let dir = scratch("nolimit");
    let x = floe::ones::<f64>(&[1000, 1000], 1000).unwrap();
    let r = Executor::cpu().memory_limit(1 << 20).to_zarr(&x, &dir);
    assert!(matches!(r, Err(Error::MemoryLimit { .. })), "{r:?}");
    assert!(!dir.exists());
}

#[test]
fn a_slice_reads_only_the_stored_chunks_it_overlaps() {
    let dir = scratch("slice-reads");
    let _c = Cleanup(dir.clone());
    let a = ArrayD::from_shape_fn(IxDyn(&[40, 30]), |i| (i[0] * 30 + i[1]) as f64);
    floe::from_ndarray(&a, vec![10, 10]).unwrap().to_zarr(&dir).unwrap();
    let z = Arc::new(ZarrArray::open(&dir).unwrap());
    let x = floe::from_zarr::<f64>(z.clone()).unwrap();
    let y = (&x * 2.0 + 1.0).slice(ndarray::s![12..18, 5..15]).unwrap();
    let got = ex().compute(&y).unwrap();
    assert_eq!(got, (&a * 2.0 + 1.0).slice(ndarray::s![12..18, 5..15]).to_owned().into_dyn());
    assert_eq!(z.chunk_reads(), 2, "two stored chunks overlap rows 12..18, columns 5..15");
    let plan = y.explain();
    assert!(plan.contains("from [12, 5]"), "the slice is a region of the store:\n{plan}");
    // a strided, reversed slice reads the blocks holding selected elements
    let z = Arc::new(ZarrArray::open(&dir).unwrap());
    let x = floe::from_zarr::<f64>(z.clone()).unwrap();
    let y = x.slice(ndarray::s![..;-7, 3]).unwrap();
    assert_eq!(ex().compute(&y).unwrap(), a.slice(ndarray::s![..;-7, 3]).to_owned().into_dyn());
    assert_eq!(z.chunk_reads(), 4);
}

#[test]
fn a_group_is_not_an_array() {
    let dir = scratch("group");
    let _c = Cleanup(dir.clone());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("zarr.json"), r#"{"zarr_format": 3, "node_type": "group", "attributes": {}}"#).unwrap();
    match floe::open_zarr::<f64>(&dir) {
        Err(Error::Storage(m)) => assert!(m.contains("group"), "{m}"),
        other => panic!("expected a storage error, got {other:?}"),
    }
}

/// A v3 array whose metadata declares `shape` in chunks of `chunk` (no data written).
fn metadata_only(dir: &std::path::Path, shape: &[u64], chunk: &[u64]) {
    std::fs::create_dir_all(dir).unwrap();
    let meta = serde_json::json!({
        "zarr_format": 3, "node_type": "array", "shape": shape, "data_type": "float64",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": chunk}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0.0,
        "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}]
    });
    std::fs::write(dir.join("zarr.json"), meta.to_string()).unwrap();
}

/// `f` run on another thread; fails the test when it takes over `secs` seconds.
fn within<R: Send + 'static>(secs: u64, what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(secs)).unwrap_or_else(|_| panic!("{what} did not return within {secs} s"))
}

#[test]
fn a_huge_chunk_grid_is_refused_at_open_without_walking_it() {
    let dir = scratch("huge-grid");
    let _c = Cleanup(dir.clone());
    metadata_only(&dir, &[1_000_000_000_000], &[1]);
    let d = dir.clone();
    match within(10, "open_zarr of 10^12 chunks", move || floe::open_zarr::<f64>(&d).map(|_| ())) {
        Err(Error::Chunks(m)) => assert!(m.contains("1000000000000") && m.contains(&dir.display().to_string()), "{m}"),
        other => panic!("expected a chunk error, got {other:?}"),
    }
    let d = dir.clone();
    assert!(within(10, "ZarrArray::open", move || ZarrArray::open(&d).is_err()));
    // many chunks in all but few per axis open in time independent of their number
    let wide = scratch("wide-grid");
    let _w = Cleanup(wide.clone());
    metadata_only(&wide, &[1_000_000, 1_000_000], &[1, 1]);
    let d = wide.clone();
    let shape = within(10, "open_zarr of 10^6 × 10^6 chunks", move || floe::open_zarr::<f64>(&d).map(|a| a.shape().to_vec()));
    assert_eq!(shape.unwrap(), vec![1_000_000, 1_000_000]);
    // a slice of it reads a few blocks; the whole of it is more tasks than a plan can hold
    let x = floe::open_zarr::<f64>(&wide).unwrap();
    let corner = x.slice(ndarray::s![..2, ..3]).unwrap().compute().unwrap();
    assert_eq!(corner, ndarray::ArrayD::<f64>::zeros(ndarray::IxDyn(&[2, 3])));
    let d = wide.clone();
    match within(10, "planning 10^12 blocks", move || floe::open_zarr::<f64>(&d)?.sum(..)?.compute()) {
        Err(Error::Chunks(m)) => assert!(m.contains("blocks"), "{m}"),
        other => panic!("expected a chunk error, got {other:?}"),
    }
    // a shape whose element count does not fit is refused, naming the store
    let over = scratch("overflowing-shape");
    let _o = Cleanup(over.clone());
    metadata_only(&over, &[1 << 40, 1 << 40], &[1 << 30, 1 << 30]);
    match floe::open_zarr::<f64>(&over) {
        Err(Error::Storage(m)) => assert!(m.contains("elements") && m.contains(&over.display().to_string()), "{m}"),
        other => panic!("expected a storage error, got {:?}", other.map(|a| a.shape().to_vec())),
    }
}

/// A sharded v3 f64 array of 4 elements: one shard of two inner chunks of
/// 2, `bytes` codecs, the index (offset, length per inner chunk) at the end.
fn sharded_store(dir: &std::path::Path, index: [u64; 4]) {
    std::fs::create_dir_all(dir.join("c")).unwrap();
    let meta = serde_json::json!({
        "zarr_format": 3, "node_type": "array", "shape": [4], "data_type": "float64",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0.0,
        "codecs": [{"name": "sharding_indexed", "configuration": {
            "chunk_shape": [2],
            "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
            "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
            "index_location": "end"
        }}]
    });
    std::fs::write(dir.join("zarr.json"), meta.to_string()).unwrap();
    let mut shard: Vec<u8> = [1.0f64, 2.0, 3.0, 4.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    shard.extend(index.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(dir.join("c").join("0"), shard).unwrap();
}

#[test]
fn a_corrupt_shard_index_is_a_storage_error_naming_the_chunk() {
    let good = scratch("shard-good");
    let _g = Cleanup(good.clone());
    sharded_store(&good, [0, 16, 16, 16]);
    let got = floe::open_zarr::<f64>(&good).unwrap().compute().unwrap();
    assert_eq!(got.iter().copied().collect::<Vec<_>>(), vec![1.0, 2.0, 3.0, 4.0]);
    let m = u64::MAX;
    // (offset and length both u64::MAX mark a missing inner chunk: not corrupt)
    for index in [[0, 16, m - 8, 16], [0, 16, 16, m], [m, 16, m, 16], [m - 15, 16, 0, 16], [0, 16, 16, 1 << 20]] {
        let dir = scratch("shard-bad");
        let _c = Cleanup(dir.clone());
        sharded_store(&dir, index);
        let d = dir.clone();
        let r = within(20, "reading a corrupt shard", move || floe::open_zarr::<f64>(&d).unwrap().compute());
        match r {
            Err(Error::Storage(msg)) => {
                assert!(msg.contains(&dir.display().to_string()), "{index:?}: {msg}");
                assert!(msg.contains("chunk") || msg.contains("shard"), "{index:?}: {msg}");
                assert!(!msg.contains("internal"), "{index:?}: {msg}");
            }
            other => panic!("{index:?}: expected a storage error, got {other:?}"),
        }
    }
}
