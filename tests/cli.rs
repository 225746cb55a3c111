//! The `floe` command-line tool (`floe info`, `floe rechunk`, `floe demo`)
//! and the library function behind `floe rechunk`, `Executor::rechunk_zarr`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use floe::{Executor, ZarrArray};

const BIN: &str = env!("CARGO_BIN_EXE_floe");

/// A fresh directory for one test under cargo's per-target temporary directory.
fn tmp(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn floe(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env("RUST_BACKTRACE", "0").output().expect("run floe")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(args: &[&str]) -> String {
    let o = floe(args);
    assert!(o.status.success(), "floe {args:?} failed:\nstdout:\n{}\nstderr:\n{}", stdout(&o), stderr(&o));
    stdout(&o)
}

/// The command fails with status 1 and exactly one line `floe: error: ...` on stderr.
fn fails(args: &[&str]) -> String {
    let o = floe(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "floe {args:?} should fail with status 1; stderr: {err}");
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "floe {args:?} panicked: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "floe {args:?}: expected one error line, got:\n{err}");
    assert!(lines[0].starts_with("floe: error: "), "floe {args:?}: {err}");
    lines[0].to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// One small demo run shared by the tests that look at its outputs.
fn demo_out() -> &'static Path {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let out = tmp("demo").join("out");
        let t = std::time::Instant::now();
        let text = ok(&["demo", "--size", "small", "--out", s(&out)]);
        assert!(t.elapsed().as_secs() < 60, "the small demo took {:?}", t.elapsed());
        for word in ["summary", "peak RSS", "MB/s", "anomaly std", "global mean", "temperature.zarr"] {
            assert!(text.contains(word), "demo summary lacks `{word}`:\n{text}");
        }
        out
    })
}

#[test]
fn demo_writes_plausible_outputs() {
    let out = demo_out();
    let data = floe::open_zarr::<f32>(out.join("temperature.zarr")).unwrap();
    assert_eq!(data.shape(), &[5 * 365, 45, 90]);
    assert_eq!(data.chunks().axis(0)[0], 365);

    let clim = floe::open_zarr::<f32>(out.join("climatology.zarr")).unwrap();
    assert_eq!(clim.shape(), &[365, 45, 90]);

    let std_map = floe::open_zarr::<f32>(out.join("anomaly_std.zarr")).unwrap().compute().unwrap();
    assert_eq!(std_map.shape(), &[45, 90]);
    let mean = std_map.iter().map(|&v| v as f64).sum::<f64>() / std_map.len() as f64;
    // noise N(0, 2) minus a climatology of 5 years: 2·sqrt(1 - 1/5) ≈ 1.79 K
    assert!((mean - 1.79).abs() < 0.05, "mean anomaly std {mean}");
    assert!(std_map.iter().all(|&v| v.is_finite() && v > 1.3 && v < 2.4), "anomaly std out of range");

    let gm = floe::open_zarr::<f32>(out.join("global_mean.zarr")).unwrap().compute().unwrap();
    assert_eq!(gm.shape(), &[5 * 365]);
    assert!(gm.iter().all(|&v| v > 270.0 && v < 295.0), "global mean out of range");
    // the warming trend: last year warmer than the first
    let year = |y: usize| gm.iter().skip(y * 365).take(365).map(|&v| v as f64).sum::<f64>() / 365.0;
    assert!(year(4) > year(0), "{} vs {}", year(4), year(0));

    for png in ["anomaly_std.png", "global_mean.png"] {
        let bytes = std::fs::read(out.join(png)).unwrap();
        assert!(bytes.len() > 1000 && bytes.starts_with(b"\x89PNG"), "{png} is not a PNG");
    }
}

#[test]
fn info_describes_arrays_and_groups() {
    let out = demo_out();
    let text = ok(&["info", s(&out.join("temperature.zarr"))]);
    for want in
        ["Zarr v3 array", "1825 × 45 × 90", "float32", "365 × 45 × 90", "5 present on disk", "zstd", "fill value", "ratio"]
    {
        assert!(text.contains(want), "floe info lacks `{want}`:\n{text}");
    }
    let group = ok(&["info", s(out)]);
    for want in ["group", "temperature.zarr", "climatology.zarr", "anomaly_std.zarr", "global_mean.zarr", "45 × 90"] {
        assert!(group.contains(want), "floe info on the group lacks `{want}`:\n{group}");
    }
}

#[test]
fn demo_refuses_a_foreign_directory_and_reruns_its_own() {
    let d = tmp("demo-dirs");
    std::fs::write(d.join("precious.txt"), "keep me").unwrap();
    let e = fails(&["demo", "--out", s(&d)]);
    assert!(e.contains("not empty"), "{e}");
    assert!(d.join("precious.txt").exists());
    // under a regular file: cannot be created
    let e = fails(&["demo", "--out", s(&d.join("precious.txt").join("sub"))]);
    assert!(e.contains("cannot use output directory"), "{e}");
}

#[test]
fn demo_rerun_replaces_its_outputs() {
    let out = tmp("demo-rerun").join("out");
    ok(&["demo", "--size", "small", "--out", s(&out), "--threads", "1", "--memory-limit", "512MiB"]);
    ok(&["demo", "--size", "small", "--out", s(&out), "--threads", "2"]);
    assert!(out.join("global_mean.png").exists());
}

/// A 2-d array on disk with chunks `chunks`.
fn write_input<T: floe::Element>(dir: &Path, a: &floe::Array<T>, chunks: Vec<usize>) -> PathBuf {
    let p = dir.join("in.zarr");
    Executor::cpu().to_zarr_with(a, &p, &floe::ZarrWriteOptions::new().chunks(chunks)).unwrap();
    p
}

fn stored_chunks(p: &Path) -> Vec<usize> {
    ZarrArray::open(p).unwrap().chunks().max_block()
}

#[test]
fn rechunk_direct_copy_keeps_values() {
    let d = tmp("rechunk-direct");
    let a = floe::random::uniform([200, 300], 0.0, 1.0, [10, 300], 7).unwrap();
    let input = write_input(&d, &a, vec![10, 300]);
    let output = d.join("out.zarr");
    let text = ok(&["rechunk", s(&input), s(&output), "--chunks", "200,7"]);
    assert!(text.contains("direct copy"), "{text}");
    assert_eq!(stored_chunks(&output), vec![200, 7]);
    let (x, y) = (a.compute().unwrap(), floe::open_zarr::<f64>(&output).unwrap().compute().unwrap());
    assert_eq!(x, y);
    // the output exists: refused without --overwrite, replaced with it
    let e = fails(&["rechunk", s(&input), s(&output), "--chunks", "20,20"]);
    assert!(e.contains("already exists"), "{e}");
    ok(&["rechunk", s(&input), s(&output), "--chunks", "20,20", "--overwrite"]);
    assert_eq!(stored_chunks(&output), vec![20, 20]);
    assert_eq!(floe::open_zarr::<f64>(&output).unwrap().compute().unwrap(), x);
    // never onto the input itself
    let e = fails(&["rechunk", s(&input), s(&input), "--chunks", "20,20", "--overwrite"]);
    assert!(e.contains("same store"), "{e}");
}

#[test]
fn rechunk_through_an_intermediate_store_when_memory_is_tight() {
    let d = tmp("rechunk-via");
    let a = floe::arange(0i32, 60_000, 1, 3000).unwrap().rechunk(60_000).unwrap();
    let a = floe::from_ndarray(&a.compute().unwrap().into_shape_with_order(vec![200, 300]).unwrap(), [10, 300]).unwrap();
    let input = write_input(&d, &a, vec![10, 300]);
    let output = d.join("out.zarr");
    // a direct copy needs the whole 240 kB array per task; 96 KiB forces two stages
    let text = ok(&["rechunk", s(&input), s(&output), "--chunks", "200,7", "--max-mem", "96KiB", "--threads", "2"]);
    assert!(text.contains("intermediate"), "{text}");
    assert_eq!(stored_chunks(&output), vec![200, 7]);
    assert_eq!(floe::open_zarr::<i32>(&output).unwrap().compute().unwrap(), a.compute().unwrap());
    let leftovers: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("floe-rechunk-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "intermediate store left behind");
    // not even one task fits
    let e = fails(&["rechunk", s(&input), s(&d.join("never.zarr")), "--chunks", "200,7", "--max-mem", "1KiB"]);
    assert!(e.contains("memory limit"), "{e}");
    assert!(!d.join("never.zarr").exists());
}

#[test]
fn rechunk_zarr_library_function_reports_its_plan() {
    let d = tmp("rechunk-lib");
    let a = floe::random::normal([64, 48, 40], 0.0, 1.0, [64, 48, 1], 3).unwrap().cast::<f32>();
    let input = write_input(&d, &a, vec![64, 48, 1]);
    let ex = Executor::cpu().threads(2);
    let direct = ex.rechunk_zarr(&input, &d.join("direct.zarr"), &[1, 48, 40], 1 << 30, false).unwrap();
    assert!(!direct.uses_intermediate());
    assert_eq!(direct.stages.len(), 1);
    // orthogonal chunks under a small budget: two stages
    let budget = 160_000;
    let via = ex.rechunk_zarr(&input, &d.join("via.zarr"), &[1, 48, 40], budget, false).unwrap();
    assert!(via.uses_intermediate(), "{via:?}");
    assert_eq!(via.stages.len(), 2);
    assert!(via.estimated_peak <= budget, "{via:?}");
    assert!(!via.intermediate_path.as_ref().unwrap().exists());
    let want = a.compute().unwrap();
    for out in ["direct.zarr", "via.zarr"] {
        let p = d.join(out);
        assert_eq!(stored_chunks(&p), vec![1, 48, 40]);
        assert_eq!(floe::open_zarr::<f32>(&p).unwrap().compute().unwrap(), want, "{out}");
    }
    // wrong number of chunk sizes
    assert!(ex.rechunk_zarr(&input, &d.join("bad.zarr"), &[1, 2], 1 << 30, false).is_err());
}

#[test]
fn bad_arguments_give_one_line_errors() {
    let d = tmp("bad-args");
    let input = d.join("missing.zarr");
    let e = fails(&["frobnicate"]);
    assert!(e.contains("unknown command"), "{e}");
    let e = fails(&["demo", "--size", "huge"]);
    assert!(e.contains("--size"), "{e}");
    let e = fails(&["demo", "--bogus"]);
    assert!(e.contains("--bogus"), "{e}");
    let e = fails(&["demo", "--threads", "zero"]);
    assert!(e.contains("--threads"), "{e}");
    let e = fails(&["demo", "--memory-limit", "lots"]);
    assert!(e.contains("lots"), "{e}");
    let e = fails(&["rechunk", s(&input)]);
    assert!(e.contains("IN and OUT"), "{e}");
    let e = fails(&["rechunk", s(&input), s(&d.join("o.zarr"))]);
    assert!(e.contains("--chunks"), "{e}");
    let e = fails(&["rechunk", s(&input), s(&d.join("o.zarr")), "--chunks", "10,x"]);
    assert!(e.contains("chunk"), "{e}");
    let e = fails(&["rechunk", s(&input), s(&d.join("o.zarr")), "--chunks", "10,10", "--max-mem"]);
    assert!(e.contains("needs a value"), "{e}");
    let e = fails(&["info"]);
    assert!(e.contains("PATH"), "{e}");
    // a plan that cannot fit the memory limit is refused before it runs
    let e = fails(&["demo", "--out", s(&d.join("tiny")), "--memory-limit", "1MB"]);
    assert!(e.contains("memory limit"), "{e}");
}

#[test]
fn missing_or_corrupt_inputs_give_clear_errors() {
    let d = tmp("missing");
    let missing = d.join("nothing-here.zarr");
    let e = fails(&["info", s(&missing)]);
    assert!(e.contains("nothing-here.zarr") && e.contains("no such file"), "{e}");
    let e = fails(&["rechunk", s(&missing), s(&d.join("o.zarr")), "--chunks", "10"]);
    assert!(e.contains("nothing-here.zarr") && e.contains("no such file"), "{e}");
    // a plain directory
    let e = fails(&["info", s(&d)]);
    assert!(e.contains("not a Zarr array or group"), "{e}");
    // corrupt metadata
    let bad = d.join("bad.zarr");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("zarr.json"), "{ this is not json").unwrap();
    fails(&["info", s(&bad)]);
    fails(&["rechunk", s(&bad), s(&d.join("o.zarr")), "--chunks", "10"]);
    // wrong number of chunk sizes for the array
    let a = floe::zeros::<u8>([10, 10], 5).unwrap();
    let input = write_input(&d, &a, vec![5, 5]);
    let e = fails(&["rechunk", s(&input), s(&d.join("o.zarr")), "--chunks", "10"]);
    assert!(e.contains("chunk"), "{e}");
}

#[test]
fn help_and_usage() {
    for args in [&[][..], &["--help"], &["help"], &["-h"]] {
        let text = ok(args);
        assert!(text.contains("Usage") && text.contains("floe rechunk") && text.contains("floe demo"), "{text}");
    }
    for cmd in ["info", "rechunk", "demo"] {
        let text = ok(&[cmd, "--help"]);
        assert!(text.contains(&format!("floe {cmd}")), "{text}");
    }
}

/// `floe ARGS`, killed (and the test failed) when it runs over `secs` seconds.
fn floe_within(secs: u64, args: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run floe");
    let t = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed().as_secs() >= secs {
            let _ = child.kill();
            let _ = child.wait();
            panic!("floe {args:?} did not finish within {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn rechunk_into_a_group_holding_the_input_is_refused() {
    let d = tmp("rechunk-parent");
    let g = d.join("G");
    std::fs::create_dir_all(&g).unwrap();
    std::fs::write(g.join("zarr.json"), r#"{"zarr_format": 3, "node_type": "group", "attributes": {}}"#).unwrap();
    let a = floe::random::uniform([20, 20], 0.0, 1.0, [5, 20], 3).unwrap();
    let x = a.compute().unwrap();
    let input = g.join("a");
    Executor::cpu().to_zarr_with(&a, &input, &floe::ZarrWriteOptions::new().chunks(vec![5, 20])).unwrap();
    for out in [g.clone(), input.join("sub"), d.clone()] {
        let e = fails(&["rechunk", s(&input), s(&out), "--chunks", "10,10", "--overwrite"]);
        assert!(e.contains("input store") || e.contains("same store"), "{e}");
        assert_eq!(floe::open_zarr::<f64>(&input).unwrap().compute().unwrap(), x, "the input changed");
    }
    // and through an intermediate store (memory too tight for a direct copy)
    let e = fails(&["rechunk", s(&input), s(&g), "--chunks", "20,1", "--max-mem", "2KiB", "--overwrite"]);
    assert!(e.contains("contain"), "{e}");
    assert_eq!(floe::open_zarr::<f64>(&input).unwrap().compute().unwrap(), x, "the input changed");
    let left: Vec<_> = std::fs::read_dir(&d).unwrap().flatten().filter(|e| e.file_name() != "G").collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_huge_chunk_grid_is_described_and_refused_quickly() {
    let d = tmp("huge-grid");
    let z = d.join("huge.zarr");
    std::fs::create_dir_all(&z).unwrap();
    let meta = r#"{"zarr_format": 3, "node_type": "array", "shape": [1000000000000], "data_type": "float64",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0.0, "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}]}"#;
    std::fs::write(z.join("zarr.json"), meta).unwrap();
    let o = floe_within(20, &["info", s(&z)]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}{}", stderr(&o));
    assert!(text.contains("1000000000000") && text.contains("float64"), "{text}");
    let o = floe_within(20, &["rechunk", s(&z), s(&d.join("out.zarr")), "--chunks", "1000000"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("chunk"), "{}", stderr(&o));
    // a grid floe opens but too large to check chunk by chunk: described without the walk
    let w = d.join("wide.zarr");
    std::fs::create_dir_all(&w).unwrap();
    std::fs::write(w.join("zarr.json"), meta.replace("[1000000000000]", "[100000, 100000]").replace("[1]", "[1, 1]")).unwrap();
    let o = floe_within(20, &["info", s(&w)]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}{}", stderr(&o));
    assert!(text.contains("10000000000 chunks") && text.contains("not counted"), "{text}");
}

#[test]
fn rechunk_removes_intermediate_stores_of_killed_runs() {
    let d = tmp("rechunk-stale");
    let a = floe::random::uniform([20, 20], 0.0, 1.0, [1, 20], 5).unwrap();
    let input = write_input(&d, &a, vec![1, 20]);
    let output = d.join("out.zarr");
    let mut c = Command::new("true").spawn().unwrap();
    let dead = c.id();
    c.wait().unwrap();
    let stale = d.join(format!(".out.zarr.floe-rechunk-tmp-{dead}"));
    Executor::cpu().to_zarr_with(&a, &stale, &floe::ZarrWriteOptions::new().chunks(vec![4, 4])).unwrap();
    ok(&["rechunk", s(&input), s(&output), "--chunks", "20,1", "--max-mem", "4KiB"]);
    assert!(!stale.exists(), "the stale intermediate store was left");
    let names: Vec<String> = std::fs::read_dir(&d).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.contains("floe-rechunk-tmp")), "{names:?}");
    assert_eq!(floe::open_zarr::<f64>(&output).unwrap().compute().unwrap(), a.compute().unwrap());
}
