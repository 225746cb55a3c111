//! What the memory limit covers, beyond chunks in flight: the results
//! `compute()` hands back, and stored chunks decoded whole although a block
//! needs only part of them. Either the plan fits or it is refused up front
//! with the bytes it needs.

use floe::{Error, Executor};
use ndarray::{ArrayD, IxDyn};

const MIB: u64 = 1 << 20;

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("floe-memlimit-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn a_result_larger_than_the_limit_is_refused() {
    // 8 MB result under a 1 MiB limit
    let x = floe::ones::<f64>([1000, 1000], 100).unwrap();
    let e = Executor::cpu().memory_limit(MIB).compute(&(&x * 2.0)).unwrap_err();
    match &e {
        Error::MemoryLimit { needed, limit, op } => {
            assert_eq!(*needed, 8_000_000);
            assert_eq!(*limit, MIB);
            assert!(op.contains("compute()"), "{op}");
        }
        other => panic!("expected a memory limit error, got {other:?}"),
    }
    // the same plan reduced to a small result fits, and is right
    let (s, stats) = Executor::cpu().memory_limit(MIB).compute_with_stats(&(&x * 2.0).sum(..).unwrap()).unwrap();
    assert_eq!(s[[]], 2e6);
    assert!(stats.peak_bytes <= MIB, "peak {}", stats.peak_bytes);
    // a result that fits counts against the limit for the whole run
    let (r, stats) = Executor::cpu().memory_limit(MIB).compute_with_stats(&floe::ones::<f64>([100, 100], 10).unwrap()).unwrap();
    assert_eq!(r, ArrayD::from_elem(IxDyn(&[100, 100]), 1.0));
    assert!(stats.peak_bytes >= 80_000 && stats.peak_bytes <= MIB, "peak {}", stats.peak_bytes);
}

/// A stored chunk far larger than the array (a 256 MiB chunk holding 10
/// values) is decoded whole by a read: a 64 MiB limit refuses the plan.
#[test]
fn a_stored_chunk_decoded_whole_counts_against_the_limit() {
    let p = tmp("padded");
    std::fs::create_dir_all(&p).unwrap();
    let meta = serde_json::json!({
        "zarr_format": 3, "node_type": "array", "shape": [10], "data_type": "float64",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1u64 << 25]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 1.5, "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
    });
    std::fs::write(p.join("zarr.json"), meta.to_string()).unwrap();
    let x = floe::open_zarr::<f64>(&p).unwrap();
    let e = Executor::cpu().memory_limit(64 * MIB).compute(&x.sum(..).unwrap()).unwrap_err();
    assert!(matches!(e, Error::MemoryLimit { needed, .. } if needed >= 256 * MIB), "{e:?}");
    // without a limit (or with room for the chunk) it reads the fill value
    let s = Executor::cpu().memory_limit(512 * MIB).compute(&x.sum(..).unwrap()).unwrap();
    assert_eq!(s[[]], 15.0);
    let _ = std::fs::remove_dir_all(&p);
}

/// A columns-to-rows rechunk of an in-memory array: the array's blocks are
/// its own (not made by the run, not counted again); what the run makes
/// stays under the limit.
#[test]
fn an_in_memory_rechunk_stays_under_the_limit() {
    let d = ArrayD::from_shape_fn(IxDyn(&[1000, 1000]), |ix| (ix[0] * 1000 + ix[1]) as f64);
    let x = floe::from_ndarray(&d, vec![1000, 10]).unwrap();
    let rows = x.rechunk(vec![10, 1000]).unwrap();
    let total = (&rows * 2.0).sum(1).unwrap();
    let (s, stats) = Executor::cpu().memory_limit(MIB).compute_with_stats(&total).unwrap();
    let want = d.sum_axis(ndarray::Axis(1)).mapv(|v| 2.0 * v);
    assert_eq!(s, want.into_dyn());
    assert!(stats.peak_bytes <= MIB, "peak {} bytes under a 1 MiB limit: {}", stats.peak_bytes, total.explain());
}
