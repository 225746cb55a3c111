//! Writes never destroy the data they read: an output that is an input
//! store, a group holding one, or a path inside one is refused before
//! anything is deleted or written; codec settings nothing could read back
//! are refused before anything is written; a killed `rechunk_zarr` leaves
//! an intermediate store that the next run removes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use floe::{Error, Executor, ZarrCodec, ZarrWriteOptions};

static N: AtomicUsize = AtomicUsize::new(0);

/// A fresh, existing directory under the system temp dir, removed when dropped.
struct Scratch(PathBuf);
impl Scratch {
    fn new(tag: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!(
            "floe-overwrite-test-{}-{tag}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }
}
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ex() -> Executor {
    Executor::cpu().threads(2)
}

/// A 20×20 f64 store at `p` (element (i, j) = 20 i + j + 1), chunks 10×10.
fn write_input(p: &Path) -> ndarray::ArrayD<f64> {
    write_chunked(p, vec![10, 10])
}

fn write_chunked(p: &Path, chunks: Vec<usize>) -> ndarray::ArrayD<f64> {
    let a = ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[20, 20]), |i| (20 * i[0] + i[1] + 1) as f64);
    let x = floe::from_ndarray(&a, [10, 10]).unwrap();
    ex().to_zarr_with(&x, p, &ZarrWriteOptions::new().chunks(chunks)).unwrap();
    a
}

fn read(p: &Path) -> ndarray::ArrayD<f64> {
    floe::open_zarr::<f64>(p).unwrap().compute().unwrap()
}

/// A v3 group at `p` (its `zarr.json` only).
fn make_group(p: &Path) {
    std::fs::create_dir_all(p).unwrap();
    std::fs::write(p.join("zarr.json"), r#"{"zarr_format": 3, "node_type": "group", "attributes": {}}"#).unwrap();
}

fn storage_msg(e: Error) -> String {
    match e {
        Error::Storage(m) => m,
        other => panic!("expected a storage error, got {other:?}"),
    }
}

#[test]
fn overwriting_the_input_store_is_refused_and_keeps_it() {
    let d = Scratch::new("same");
    let p = d.0.join("a.zarr");
    let a = write_input(&p);
    let x = floe::open_zarr::<f64>(&p).unwrap();
    let e = ex().to_zarr_with(&(&x * 2.0), &p, &ZarrWriteOptions::new().overwrite(true)).unwrap_err();
    let m = storage_msg(e);
    assert!(m.contains("same store"), "{m}");
    assert_eq!(read(&p), a, "the input was changed");
    // the same store named another way (`.`, `..`, a symbolic link) is the same store
    let other = d.0.join("sub/../a.zarr/.");
    std::fs::create_dir_all(d.0.join("sub")).unwrap();
    let e = ex().to_zarr_with(&(&x * 2.0), &other, &ZarrWriteOptions::new().overwrite(true)).unwrap_err();
    assert!(storage_msg(e).contains("same store"));
    #[cfg(unix)]
    {
        let link = d.0.join("link.zarr");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        let e = ex().to_zarr_with(&(&x * 2.0), &link, &ZarrWriteOptions::new().overwrite(true)).unwrap_err();
        assert!(storage_msg(e).contains("same store"));
        // and reading through the link, writing the real path
        let y = floe::open_zarr::<f64>(&link).unwrap();
        let e = ex().to_zarr_with(&(&y + 1.0), &p, &ZarrWriteOptions::new().overwrite(true)).unwrap_err();
        assert!(storage_msg(e).contains("same store"));
    }
    assert_eq!(read(&p), a, "the input was changed");
    // an input used anywhere in the expression counts (here under a reduction and a concat)
    let z = floe::from_ndarray(&a, [10, 10]).unwrap();
    let both = floe::concatenate(0, &[&z, &(&x - x.mean(0).unwrap())]).unwrap();
    let e = ex().to_zarr_with(&both, &p, &ZarrWriteOptions::new().overwrite(true)).unwrap_err();
    assert!(storage_msg(e).contains("same store"));
    assert_eq!(read(&p), a, "the input was changed");
}

#[test]
fn overwriting_a_group_holding_the_input_is_refused() {
    let d = Scratch::new("group");
    let g = d.0.join("g");
    make_group(&g);
    let p = g.join("a");
    let a = write_input(&p);
    let x = floe::open_zarr::<f64>(&p).unwrap();
    let e = ex().to_zarr_with(&(&x * 2.0), &g, &ZarrWriteOptions::new().overwrite(true)).unwrap_err();
    let m = storage_msg(e);
    assert!(m.contains("contain"), "{m}");
    assert_eq!(read(&p), a, "the input was changed");
    // any ancestor directory of the input, group or not
    let e = ex().to_zarr_with(&(&x * 2.0), &d.0, &ZarrWriteOptions::new().overwrite(true)).unwrap_err();
    assert!(storage_msg(e).contains("contain"));
    assert_eq!(read(&p), a, "the input was changed");
    // a group that does not hold the input is not replaced by an array either
    let g2 = d.0.join("g2");
    make_group(&g2);
    let b = g2.join("b");
    write_input(&b);
    let e = ex().to_zarr_with(&(&x * 2.0), &g2, &ZarrWriteOptions::new().overwrite(true)).unwrap_err();
    assert!(storage_msg(e).contains("group"));
    assert!(b.join("zarr.json").is_file(), "the group's array was deleted");
}

#[test]
fn writing_inside_the_input_store_is_refused() {
    let d = Scratch::new("inside");
    let p = d.0.join("a.zarr");
    let a = write_input(&p);
    let x = floe::open_zarr::<f64>(&p).unwrap();
    for out in [p.join("c"), p.join("new/deeper"), p.join("c/0")] {
        let e = ex().to_zarr_with(&(&x * 2.0), &out, &ZarrWriteOptions::new().overwrite(true)).unwrap_err();
        let m = storage_msg(e);
        assert!(m.contains("inside"), "{m}");
    }
    assert!(!p.join("new").exists(), "a directory was created inside the input");
    assert_eq!(read(&p), a, "the input was changed");
    // a sibling whose name starts with the input's is not inside it
    let sib = d.0.join("a.zarr2");
    ex().to_zarr_with(&(&x * 2.0), &sib, &ZarrWriteOptions::new()).unwrap();
    assert_eq!(read(&sib), &a * 2.0);
}

#[test]
fn rechunk_zarr_refuses_overlapping_outputs() {
    let d = Scratch::new("rechunk");
    let g = d.0.join("g");
    make_group(&g);
    let p = g.join("a");
    let a = write_input(&p);
    for out in [g.clone(), p.clone(), p.join("inner")] {
        let e = ex().rechunk_zarr(&p, &out, &[5, 5], 1 << 30, true).unwrap_err();
        let _ = storage_msg(e);
        assert_eq!(read(&p), a, "the input was changed by a rechunk into {}", out.display());
    }
}

#[test]
fn codec_levels_out_of_range_are_refused_before_writing() {
    let d = Scratch::new("codec");
    let a = ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[8]), |i| i[0] as f64);
    let x = floe::from_ndarray(&a, 4).unwrap();
    let (lo, hi) = (*zstd::compression_level_range().start(), *zstd::compression_level_range().end());
    let bad = [
        ZarrCodec::Zstd { level: 1000 },
        ZarrCodec::Zstd { level: i32::MIN },
        ZarrCodec::Zstd { level: i32::MAX },
        ZarrCodec::Zstd { level: hi + 1 },
        ZarrCodec::Zstd { level: lo - 1 },
        ZarrCodec::Gzip { level: 10 },
        ZarrCodec::Gzip { level: u32::MAX },
    ];
    for (i, codec) in bad.into_iter().enumerate() {
        let p = d.0.join(format!("bad{i}"));
        match ex().to_zarr_with(&x, &p, &ZarrWriteOptions::new().codec(codec)) {
            Err(Error::Value(m)) => assert!(m.contains("level"), "{codec:?}: {m}"),
            other => panic!("{codec:?}: expected Error::Value, got {other:?}"),
        }
        assert!(!p.exists(), "{codec:?}: something was written");
    }
    // an existing array is not deleted by an overwrite with a bad codec
    let p = d.0.join("kept");
    ex().to_zarr(&x, &p).unwrap();
    let e = ex().to_zarr_with(&x, &p, &ZarrWriteOptions::new().codec(ZarrCodec::Zstd { level: 1000 }).overwrite(true));
    assert!(matches!(e, Err(Error::Value(_))), "{e:?}");
    assert_eq!(read(&p), a);
    // the limits themselves are fine and read back
    for (i, codec) in [ZarrCodec::Zstd { level: hi }, ZarrCodec::Zstd { level: -5 }, ZarrCodec::Gzip { level: 9 }, ZarrCodec::Gzip { level: 0 }]
        .into_iter()
        .enumerate()
    {
        let p = d.0.join(format!("good{i}"));
        ex().to_zarr_with(&x, &p, &ZarrWriteOptions::new().codec(codec)).unwrap();
        assert_eq!(read(&p), a, "{codec:?}");
    }
}

/// A process id that is not running (a child that has exited and been reaped).
fn dead_pid() -> u32 {
    let mut c = std::process::Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    pid
}

#[test]
fn stale_rechunk_intermediates_are_removed() {
    let d = Scratch::new("stale");
    let p = d.0.join("in.zarr");
    let a = write_input(&p);
    let out = d.0.join("out.zarr");
    // what a killed run leaves: an intermediate store named with its pid
    let stale = d.0.join(format!(".out.zarr.floe-rechunk-tmp-{}", dead_pid()));
    let x = floe::open_zarr::<f64>(&p).unwrap();
    ex().to_zarr_with(&x, &stale, &ZarrWriteOptions::new().chunks(vec![20, 1])).unwrap();
    // one of a running process (pid 1) is left alone, as are unrelated names
    let live = d.0.join(".out.zarr.floe-rechunk-tmp-1");
    std::fs::create_dir_all(&live).unwrap();
    let other = d.0.join(".out.zarr.floe-rechunk-tmp-x12");
    std::fs::create_dir_all(&other).unwrap();
    ex().rechunk_zarr(&p, &out, &[20, 1], 1 << 30, false).unwrap();
    assert_eq!(read(&out), a);
    assert!(!stale.exists(), "the stale intermediate store was left");
    assert!(live.exists() && other.exists());
    // a run through an intermediate store removes its own, also when it fails
    let rows = d.0.join("rows.zarr");
    write_chunked(&rows, vec![1, 20]);
    let out2 = d.0.join("out2.zarr");
    let r = ex().rechunk_zarr(&rows, &out2, &[20, 1], 4 << 10, false).unwrap();
    assert!(r.uses_intermediate(), "{r:?}");
    assert_eq!(read(&out2), a);
    let own = |name: &str| d.0.join(format!(".{name}.floe-rechunk-tmp-{}", std::process::id()));
    assert!(!own("out2.zarr").exists());
    // stage 2 fails (the output is a directory holding something else) after stage 1 wrote the intermediate
    let out3 = d.0.join("out3");
    std::fs::create_dir_all(&out3).unwrap();
    std::fs::write(out3.join("notes.txt"), b"keep me").unwrap();
    let r = ex().plan_rechunk_zarr(&rows, &out3, &[20, 1], 4 << 10).unwrap();
    assert!(r.uses_intermediate(), "{r:?}");
    assert!(ex().rechunk_zarr(&rows, &out3, &[20, 1], 4 << 10, false).is_err());
    assert!(!own("out3").exists(), "the failed run left its intermediate store");
    assert!(out3.join("notes.txt").is_file());
}
