//! Interoperability with zarr-python (zarr 3.1.x + numpy).
//!
//! * `python_to_floe`: `tests/interop/zarr_cases.py write DIR` writes Zarr v2
//!   and v3 stores of every dtype with many codecs, fill values, missing
//!   chunks, sharding, big-endian data, F order / transpose, both chunk key
//!   separators, partial edge chunks, 0-d and zero-size arrays; floe opens
//!   each one and must produce exactly the values numpy computed.
//! * `floe_to_python`: floe writes arrays of every dtype (irregular chunks,
//!   partial edges, 0-d, zero-size, NaN, codecs none / zstd / gzip); then
//!   `zarr_cases.py read DIR` checks them with zarr-python.
//!
//! The Python interpreter is `$FLOE_PYTHON`, else `<repo>/.venv/bin/python`.
//! Where it is missing or lacks zarr >= 3.1 the tests print a note and pass,
//! unless `FLOE_REQUIRE_ZARR_PYTHON=1` (CI sets it), where they fail.
//! `FLOE_INTEROP_KEEP=1` keeps the temporary directories for inspection.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use floe::{DType, Element, Executor, ZarrCodec, ZarrWriteOptions};
use ndarray::{ArrayD, Dimension, IxDyn};

// ---------------------------------------------------------------------------
// environment
// ---------------------------------------------------------------------------

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn script() -> PathBuf {
    repo().join("tests").join("interop").join("zarr_cases.py")
}

/// The Python with zarr >= 3.1 and numpy, or None (after printing why) when
/// the test should be skipped.
fn python() -> Option<PathBuf> {
    let required = std::env::var("FLOE_REQUIRE_ZARR_PYTHON").map(|v| v == "1").unwrap_or(false);
    let py = match std::env::var_os("FLOE_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => repo().join(".venv").join("bin").join("python"),
    };
    let probe = Command::new(&py)
        .arg("-c")
        .arg(
            "import sys, zarr, numpy\n\
             v = tuple(int(x) for x in zarr.__version__.split('.')[:2])\n\
             sys.exit(0 if v >= (3, 1) else 3)",
        )
        .output();
    let why = match probe {
        Ok(o) if o.status.success() => return Some(py),
        Ok(o) if o.status.code() == Some(3) => "its zarr is older than 3.1".to_string(),
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            format!("`import zarr, numpy` failed: {}", err.trim().lines().last().unwrap_or(""))
        }
        Err(e) => format!("cannot run it: {e}"),
    };
    let msg = format!(
        "zarr-python not available at {} ({why}); set FLOE_PYTHON to a Python with \
         zarr>=3.1,<3.2 and numpy, or create {}/.venv with them",
        py.display(),
        repo().display()
    );
    if required {
        panic!("FLOE_REQUIRE_ZARR_PYTHON=1 but {msg}");
    }
    eprintln!("skipping: {msg}");
    None
}

/// A fresh temporary directory, removed when dropped (unless FLOE_INTEROP_KEEP=1).
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("floe-zarr-interop-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temporary directory");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var("FLOE_INTEROP_KEEP").map(|v| v == "1").unwrap_or(false) {
            eprintln!("keeping {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn run_script(py: &Path, cmd: &str, dir: &Path) -> (bool, String) {
    let out = Command::new(py)
        .arg(script())
        .arg(cmd)
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} {}: {e}", py.display(), script().display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

// ---------------------------------------------------------------------------
// element types: raw little-endian bytes, exact comparison, test data
// ---------------------------------------------------------------------------

trait Raw: Element {
    const NAME: &'static str;
    const SIZE: usize;
    fn from_le(b: &[u8]) -> Self;
    fn put_le(self, out: &mut Vec<u8>);
    /// Exact equality: bitwise for floats, except that any NaN equals any NaN.
    fn same(a: Self, b: Self) -> bool;
    /// A deterministic test value from a random word; `special` values
    /// (NaN, ±inf, -0.0, subnormals, min/max) for small indices.
    fn gen(r: u64, special: Option<usize>) -> Self;
    /// Extra checks that only some types have (float sums).
    fn derived(_a: &floe::Array<Self>, _want: &ArrayD<Self>) -> Result<(), String> {
        Ok(())
    }
}

impl Raw for bool {
    const NAME: &'static str = "bool";
    const SIZE: usize = 1;
    fn from_le(b: &[u8]) -> Self {
        b[0] != 0
    }
    fn put_le(self, out: &mut Vec<u8>) {
        out.push(self as u8);
    }
    fn same(a: Self, b: Self) -> bool {
        a == b
    }
    fn gen(r: u64, _special: Option<usize>) -> Self {
        r & 1 == 1
    }
}

macro_rules! raw_int {
    ($($t:ident),*) => {$(
        impl Raw for $t {
            const NAME: &'static str = stringify!($t);
            const SIZE: usize = std::mem::size_of::<$t>();
            fn from_le(b: &[u8]) -> Self {
                $t::from_le_bytes(b.try_into().unwrap())
            }
            fn put_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn same(a: Self, b: Self) -> bool {
                a == b
            }
            fn gen(r: u64, special: Option<usize>) -> Self {
                match special {
                    Some(0) => $t::MIN,
                    Some(1) => $t::MAX,
                    Some(2) => 0,
                    _ => r as $t,
                }
            }
        }
    )*};
}
raw_int!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! raw_float {
    ($($t:ident),*) => {$(
        impl Raw for $t {
            const NAME: &'static str = stringify!($t);
            const SIZE: usize = std::mem::size_of::<$t>();
            fn from_le(b: &[u8]) -> Self {
                $t::from_le_bytes(b.try_into().unwrap())
            }
            fn put_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn same(a: Self, b: Self) -> bool {
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
            }
            fn gen(r: u64, special: Option<usize>) -> Self {
                match special {
                    Some(0) => $t::NAN,
                    Some(1) => $t::INFINITY,
                    Some(2) => $t::NEG_INFINITY,
                    Some(3) => -0.0,
                    Some(4) => $t::from_bits(1),         // smallest subnormal
                    Some(5) => -$t::MIN_POSITIVE,
                    Some(6) => $t::MAX,
                    Some(7) => 1.0 / 3.0,
                    _ => ((r >> 11) % 2_000_001) as $t / 1000.0 - 1000.0,
                }
            }
            fn derived(a: &floe::Array<Self>, want: &ArrayD<Self>) -> Result<(), String> {
                // the sum over all axes, through floe's chunked tree reduction
                let s = a.sum(..).map_err(|e| format!("sum(..): {e}"))?;
                let got = s.compute().map_err(|e| format!("sum(..).compute(): {e}"))?;
                let got = got.iter().next().copied().ok_or("sum(..) returned no element")? as f64;
                let (mut sum, mut abs, mut nan, mut pinf, mut ninf) = (0f64, 0f64, false, false, false);
                for &x in want.iter() {
                    let x = x as f64;
                    if x.is_nan() {
                        nan = true;
                    } else if x == f64::INFINITY {
                        pinf = true;
                    } else if x == f64::NEG_INFINITY {
                        ninf = true;
                    } else {
                        sum += x;
                        abs += x.abs();
                    }
                }
                let ok = if nan || (pinf && ninf) {
                    got.is_nan()
                } else if pinf {
                    got == f64::INFINITY
                } else if ninf {
                    got == f64::NEG_INFINITY
                } else if abs > $t::MAX as f64 / 4.0 {
                    true // may overflow depending on the order of the additions
                } else {
                    let eps = $t::EPSILON as f64;
                    (got - sum).abs() <= 4.0 * eps * (want.len() as f64 + 1.0) * abs + 1e-30
                };
                if ok {
                    Ok(())
                } else {
                    Err(format!("sum(..) = {got:e}, expected {sum:e} (sum of |x| {abs:e})"))
                }
            }
        }
    )*};
}
raw_float!(f32, f64);

/// numpy's name of the type.
fn np_name<T: Raw>() -> &'static str {
    T::DTYPE.name()
}

fn read_expected<T: Raw>(file: &Path, shape: &[usize]) -> Result<ArrayD<T>, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let n: usize = shape.iter().product();
    if bytes.len() != n * T::SIZE {
        return Err(format!("{} holds {} bytes, shape {shape:?} of {} needs {}", file.display(), bytes.len(), T::NAME, n * T::SIZE));
    }
    let v: Vec<T> = bytes.chunks_exact(T::SIZE).map(T::from_le).collect();
    ArrayD::from_shape_vec(IxDyn(shape), v).map_err(|e| e.to_string())
}

/// None when equal (shape and every element, exactly), else what differs.
fn diff<T: Raw>(got: &ArrayD<T>, want: &ArrayD<T>) -> Option<String> {
    if got.shape() != want.shape() {
        return Some(format!("shape {:?}, expected {:?}", got.shape(), want.shape()));
    }
    let mut n = 0usize;
    let mut first = String::new();
    for ((ix, &g), &w) in got.indexed_iter().zip(want.iter()) {
        if !T::same(g, w) {
            if n < 4 {
                let _ = write!(first, "; at {:?}: got {g:?}, expected {w:?}", ix.slice());
            }
            n += 1;
        }
    }
    (n > 0).then(|| format!("{n} of {} elements differ{first}", want.len()))
}

/// Runs `$f::<T>($args)` for the element type named by a numpy dtype string.
macro_rules! dispatch {
    ($dtype:expr, $f:ident($($arg:expr),*)) => {
        match $dtype {
            "bool" => $f::<bool>($($arg),*),
            "int8" => $f::<i8>($($arg),*),
            "int16" => $f::<i16>($($arg),*),
            "int32" => $f::<i32>($($arg),*),
            "int64" => $f::<i64>($($arg),*),
            "uint8" => $f::<u8>($($arg),*),
            "uint16" => $f::<u16>($($arg),*),
            "uint32" => $f::<u32>($($arg),*),
            "uint64" => $f::<u64>($($arg),*),
            "float32" => $f::<f32>($($arg),*),
            "float64" => $f::<f64>($($arg),*),
            other => Err(format!("unknown dtype {other:?} in the manifest")),
        }
    };
}

// ---------------------------------------------------------------------------
// zarr-python → floe
// ---------------------------------------------------------------------------

struct Case {
    name: String,
    path: String,
    dtype: String,
    shape: Vec<usize>,
    expected: String,
}

fn parse_manifest(dir: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(dir.join("manifest.txt")).expect("manifest.txt");
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "bad manifest line {l:?}");
            Case {
                name: f[0].to_string(),
                path: f[1].to_string(),
                dtype: f[2].to_string(),
                shape: f[3].split(',').filter(|s| !s.is_empty()).map(|s| s.parse().expect("shape")).collect(),
                expected: f[4].to_string(),
            }
        })
        .collect()
}

fn check_python_case<T: Raw>(dir: &Path, c: &Case) -> Result<(), String> {
    let want = read_expected::<T>(&dir.join(&c.expected), &c.shape)?;
    let path = dir.join(&c.path);
    let a = floe::open_zarr::<T>(&path).map_err(|e| format!("open_zarr::<{}>: {e}", T::NAME))?;
    if a.shape() != c.shape.as_slice() {
        return Err(format!("open_zarr: shape {:?}, expected {:?}", a.shape(), c.shape));
    }
    if a.dtype() != T::DTYPE {
        return Err(format!("open_zarr: dtype {:?}, expected {:?}", a.dtype(), T::DTYPE));
    }
    let got = a.compute().map_err(|e| format!("compute: {e}"))?;
    if let Some(d) = diff(&got, &want) {
        return Err(format!("compute: {d}"));
    }
    // reads that straddle the store's chunks
    if a.size() > 0 && a.ndim() > 0 {
        let r = a.rechunk(3usize).map_err(|e| format!("rechunk(3): {e}"))?;
        let got = r.compute().map_err(|e| format!("rechunk(3).compute: {e}"))?;
        if let Some(d) = diff(&got, &want) {
            return Err(format!("rechunk(3).compute: {d}"));
        }
    }
    T::derived(&a, &want)?;
    // the wrong element type is an error, not a reinterpretation
    let wrong = if T::DTYPE == DType::F64 {
        floe::open_zarr::<i32>(&path).map(|_| "i32")
    } else {
        floe::open_zarr::<f64>(&path).map(|_| "f64")
    };
    if let Ok(t) = wrong {
        return Err(format!("open_zarr::<{t}> of a {} store succeeded", c.dtype));
    }
    Ok(())
}

/// A store floe must refuse: opening or computing it is an `Err`, not a panic.
fn check_reject<T: Raw>(dir: &Path, rel: &str) -> Result<String, String> {
    let path = dir.join(rel);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        floe::open_zarr::<T>(&path).map_err(|e| format!("open_zarr: {e}")).and_then(|a| {
            a.compute().map(|v| v.len()).map_err(|e| format!("compute: {e}"))
        })
    }));
    match r {
        Err(_) => Err("floe panicked".to_string()),
        Ok(Ok(n)) => Err(format!("floe opened and computed it ({n} elements) instead of failing")),
        Ok(Err(e)) => Ok(e),
    }
}

#[test]
fn python_to_floe() {
    let Some(py) = python() else { return };
    let tmp = TempDir::new("py2floe");
    let dir = &tmp.0;
    let (ok, out) = run_script(&py, "write", dir);
    assert!(ok, "zarr_cases.py write failed:\n{out}");
    let cases = parse_manifest(dir);
    assert!(cases.len() > 100, "only {} cases in the manifest", cases.len());

    // a missing array is an error
    assert!(floe::open_zarr::<f64>(dir.join("no-such-array.zarr")).is_err(), "open_zarr of a missing path succeeded");
    // a group is not an array
    assert!(floe::open_zarr::<f64>(dir.join("grp.zarr")).is_err(), "open_zarr of a group succeeded");

    let mut failures = Vec::new();
    for c in &cases {
        let r: Result<(), String> = dispatch!(c.dtype.as_str(), check_python_case(dir, c));
        match r {
            Ok(()) => println!("ok   {}", c.name),
            Err(e) => {
                println!("FAIL {}: {e}", c.name);
                failures.push(format!("{}: {e}", c.name));
            }
        }
    }
    println!("{} of {} zarr-python stores read exactly by floe", cases.len() - failures.len(), cases.len());

    // stores floe must refuse with an error
    let rejects = std::fs::read_to_string(dir.join("manifest_reject.txt")).expect("manifest_reject.txt");
    for line in rejects.lines().filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 4, "bad manifest_reject line {line:?}");
        let (name, rel, dtype, why) = (f[0], f[1], f[2], f[3]);
        let r: Result<String, String> = dispatch!(dtype, check_reject(dir, rel));
        match r {
            Ok(e) => println!("ok   refused {name} ({why}): {e}"),
            Err(e) => {
                println!("FAIL {name} ({why}): {e}");
                failures.push(format!("{name} ({why}): {e}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} zarr-python stores not read (or not refused) correctly by floe:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

// ---------------------------------------------------------------------------
// floe → zarr-python
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Write {
    /// `Array::to_zarr` (zstd by default).
    Default,
    /// `Executor::to_zarr_with` and this codec.
    With(ZarrCodec),
}

impl Write {
    /// What zarr-python should report as the compressor: "none", or NAME[:LEVEL].
    fn codec(self) -> String {
        match self {
            Write::Default => "zstd".into(),
            Write::With(ZarrCodec::None) => "none".into(),
            Write::With(ZarrCodec::Zstd { level }) => format!("zstd:{level}"),
            Write::With(ZarrCodec::Gzip { level }) => format!("gzip:{level}"),
        }
    }
}

struct Out {
    manifest_json: Vec<String>,
    manifest_txt: String,
    failures: Vec<String>,
    count: usize,
}

/// Test values for `shape`: specials at the first indices when `specials`.
fn values<T: Raw>(shape: &[usize], seed: u64, specials: bool) -> ArrayD<T> {
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let v: Vec<T> = (0..n)
        .map(|i| {
            // xorshift64*
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            let r = s.wrapping_mul(0x2545_F491_4F6C_DD1D);
            T::gen(r, if specials && i < 8 { Some((i * 5) % 8) } else { None })
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(shape), v).unwrap()
}

/// The chunk shape floe should store: the largest block per axis.
fn stored_chunks(chunks: &[Vec<usize>]) -> Vec<usize> {
    chunks.iter().map(|b| b.iter().copied().max().unwrap_or(0)).collect()
}

impl Out {
    /// Write `a` (whose values are `want`) with floe, read it back with floe,
    /// and list it for zarr-python.
    fn case<T: Raw>(&mut self, dir: &Path, name: &str, a: floe::Result<floe::Array<T>>, want: &ArrayD<T>, how: Write) {
        self.count += 1;
        if let Err(e) = self.try_case(dir, name, a, want, how) {
            println!("FAIL {name} (floe side): {e}");
            self.failures.push(format!("{name} (floe side): {e}"));
        }
    }

    fn try_case<T: Raw>(&mut self, dir: &Path, name: &str, a: floe::Result<floe::Array<T>>, want: &ArrayD<T>, how: Write) -> Result<(), String> {
        let a = a.map_err(|e| format!("building the array: {e}"))?;
        let rel = format!("{name}.zarr");
        let path = dir.join(&rel);
        let chunks = stored_chunks(&a.chunks().to_vec());
        match how {
            Write::Default => a.to_zarr(&path).map_err(|e| format!("to_zarr: {e}"))?,
            Write::With(codec) => {
                Executor::cpu()
                    .to_zarr_with(&a, &path, &ZarrWriteOptions::new().codec(codec))
                    .map_err(|e| format!("to_zarr_with({codec:?}): {e}"))?;
            }
        }
        let exp_rel = format!("expected/{name}.bin");
        let mut bytes = Vec::with_capacity(want.len() * T::SIZE);
        for &x in want.iter() {
            x.put_le(&mut bytes);
        }
        std::fs::write(dir.join(&exp_rel), bytes).map_err(|e| e.to_string())?;
        let shape: Vec<String> = want.shape().iter().map(|s| s.to_string()).collect();
        // zero-size arrays: which (nonzero) chunk length floe stores is its choice
        let chunks_json = if want.is_empty() && want.ndim() > 0 {
            "null".to_string()
        } else {
            format!("[{}]", chunks.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", "))
        };
        self.manifest_json.push(format!(
            "  {{\"name\": \"{name}\", \"path\": \"{rel}\", \"dtype\": \"{}\", \"shape\": [{}], \
             \"expected\": \"{exp_rel}\", \"zarr_format\": 3, \"chunks\": {chunks_json}, \"codec\": \"{}\"}}",
            np_name::<T>(),
            shape.join(", "),
            how.codec()
        ));
        let _ = writeln!(self.manifest_txt, "{name}\t{rel}\t{}\t{}\t{exp_rel}", np_name::<T>(), shape.join(","));
        // floe reads its own store back
        let back = floe::open_zarr::<T>(&path).map_err(|e| format!("open_zarr of floe's own store: {e}"))?;
        let got = back.compute().map_err(|e| format!("compute of floe's own store: {e}"))?;
        if let Some(d) = diff(&got, want) {
            return Err(format!("floe reads its own store back wrong: {d}"));
        }
        Ok(())
    }

    /// One dtype's cases.
    fn dtype_cases<T: Raw>(&mut self, dir: &Path, seed: u64) {
        let t = np_name::<T>();
        // irregular chunks: stored regularised as [5, 4]
        let x = values::<T>(&[10, 8], seed, true);
        self.case(dir, &format!("irregular_{t}"), floe::from_ndarray(&x, vec![vec![2, 5, 3], vec![4, 4]]), &x, Write::Default);
        // partial edge chunks, three codecs
        let x = values::<T>(&[7, 5, 3], seed + 1, true);
        self.case(dir, &format!("edges_none_{t}"), floe::from_ndarray(&x, vec![3usize, 2, 2]), &x, Write::With(ZarrCodec::None));
        let x = values::<T>(&[7, 5, 3], seed + 2, true);
        self.case(dir, &format!("edges_gzip5_{t}"), floe::from_ndarray(&x, vec![3usize, 2, 2]), &x, Write::With(ZarrCodec::Gzip { level: 5 }));
        let x = values::<T>(&[7, 5, 3], seed + 3, true);
        self.case(dir, &format!("edges_zstd7_{t}"), floe::from_ndarray(&x, vec![3usize, 2, 2]), &x, Write::With(ZarrCodec::Zstd { level: 7 }));
        // 0-d
        let x = values::<T>(&[], seed + 4, false);
        self.case(dir, &format!("scalar_{t}"), floe::from_ndarray(&x, Vec::<usize>::new()), &x, Write::Default);
        // zero-size
        let x = values::<T>(&[0, 4], seed + 5, false);
        self.case(dir, &format!("empty_{t}"), floe::from_ndarray(&x, vec![2usize, 2]), &x, Write::Default);
        // a store chunk that is not a block: rechunked before writing
        let x = values::<T>(&[9, 6], seed + 6, false);
        self.case(dir, &format!("rechunked_{t}"), floe::from_ndarray(&x, vec![9usize, 1]).and_then(|a| a.rechunk(vec![4usize, 4])), &x, Write::With(ZarrCodec::Gzip { level: 1 }));
    }
}

#[test]
fn floe_to_python() {
    let Some(py) = python() else { return };
    let tmp = TempDir::new("floe2py");
    let dir = &tmp.0;
    std::fs::create_dir_all(dir.join("expected")).unwrap();
    let mut o = Out { manifest_json: vec![], manifest_txt: String::new(), failures: vec![], count: 0 };

    o.dtype_cases::<bool>(dir, 10);
    o.dtype_cases::<i8>(dir, 20);
    o.dtype_cases::<i16>(dir, 30);
    o.dtype_cases::<i32>(dir, 40);
    o.dtype_cases::<i64>(dir, 50);
    o.dtype_cases::<u8>(dir, 60);
    o.dtype_cases::<u16>(dir, 70);
    o.dtype_cases::<u32>(dir, 80);
    o.dtype_cases::<u64>(dir, 90);
    o.dtype_cases::<f32>(dir, 100);
    o.dtype_cases::<f64>(dir, 110);

    // more shapes
    let x = values::<f64>(&[1000], 7, true);
    o.case(dir, "long_1d_float64", floe::from_ndarray(&x, 128usize), &x, Write::Default);
    let x = values::<f32>(&[3, 4, 5, 2], 8, true);
    o.case(dir, "4d_float32", floe::from_ndarray(&x, vec![2usize, 3, 2, 1]), &x, Write::With(ZarrCodec::Zstd { level: 1 }));
    let x = values::<i16>(&[3, 0, 2], 9, false);
    o.case(dir, "empty_mid_int16", floe::from_ndarray(&x, vec![2usize, 1, 2]), &x, Write::With(ZarrCodec::None));
    let x = values::<u8>(&[0], 10, false);
    o.case(dir, "empty_1d_uint8", floe::from_ndarray(&x, 4usize), &x, Write::Default);
    let x = values::<f64>(&[1, 7, 1], 11, true);
    o.case(dir, "len1_axes_float64", floe::from_ndarray(&x, vec![vec![1], vec![3, 1, 3], vec![1]]), &x, Write::Default);
    // lazily generated, never materialised as a whole on the floe side
    let x = ArrayD::from_elem(IxDyn(&[6, 7]), f32::NAN);
    o.case(dir, "full_nan_float32", floe::full([6usize, 7], f32::NAN, 4usize), &x, Write::Default);
    let x = ArrayD::from_shape_vec(IxDyn(&[25]), (0..25i64).map(|i| i * 3 - 20).collect()).unwrap();
    o.case(dir, "arange_int64", floe::arange(-20i64, 55, 3, 6usize), &x, Write::With(ZarrCodec::Gzip { level: 9 }));

    std::fs::write(dir.join("manifest.json"), format!("{{\"cases\": [\n{}\n]}}\n", o.manifest_json.join(",\n"))).unwrap();
    std::fs::write(dir.join("manifest.txt"), &o.manifest_txt).unwrap();

    let (ok, out) = run_script(&py, "read", dir);
    println!("{out}");
    let mut problems = o.failures.clone();
    if !ok {
        let fails: Vec<&str> = out.lines().filter(|l| l.starts_with("FAIL") || l.contains("Error")).collect();
        problems.push(format!("zarr-python rejects floe's stores:\n    {}", if fails.is_empty() { out.trim().to_string() } else { fails.join("\n    ") }));
    }
    assert!(
        problems.is_empty(),
        "floe → zarr-python: {} cases, problems:\n  {}",
        o.count,
        problems.join("\n  ")
    );
}
