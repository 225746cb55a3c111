//! Huge and overflowing sizes given to every constructor and shape
//! operation must give a clear error (or the right value) — never a wrapped
//! size accepted, a panic, an abort on allocation, a hang or memory
//! corruption.
//!
//! Each case runs in a child process, as a user's program would: the test
//! binary re-executes itself (`current_exe`) with `--exact <case>` and the
//! environment variable `FLOE_ADVERSARIAL_CASE` naming the case. The child
//! limits its address space (`RLIMIT_AS`, [`CHILD_MEMORY`]) before running
//! the case, so that an allocation in proportion to a huge size fails there
//! (an abort), and the parent kills it after [`CHILD_TIMEOUT`]. The parent
//! passes only when the child exits cleanly after printing [`PASSED`]; an
//! abort, a panic, a signal (double free), an out-of-memory or a timeout
//! fails the case with the child's output.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use floe::{Array, ChunkSpec, Error, Executor, PadMode};
use ndarray::{arr1, s, ArrayD, IxDyn};

const CASE_ENV: &str = "FLOE_ADVERSARIAL_CASE";
const PASSED: &str = "floe-adversarial-case-passed";
/// Address space of a child: a case that allocates in proportion to a huge
/// size runs out of it at once.
const CHILD_MEMORY: u64 = 2 << 30;
const CHILD_TIMEOUT: Duration = Duration::from_secs(20);

fn limit_memory(bytes: u64) {
    let lim = libc::rlimit { rlim_cur: bytes as libc::rlim_t, rlim_max: bytes as libc::rlim_t };
    // SAFETY: setrlimit with a valid struct; it only lowers this process's limit
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_AS, &lim) };
    assert_eq!(rc, 0, "setrlimit(RLIMIT_AS)");
}

/// Run `body` in a child process (see the module docs).
fn isolated(name: &str, body: impl FnOnce()) {
    if std::env::var(CASE_ENV).as_deref() == Ok(name) {
        limit_memory(CHILD_MEMORY);
        body();
        println!("{PASSED}");
        return;
    }
    let (status, stdout, stderr) = run_child(name);
    match status {
        None => panic!("case {name} did not finish in {CHILD_TIMEOUT:?} (hang?)\nstdout:\n{stdout}\nstderr:\n{stderr}"),
        Some(st) => assert!(
            st.success() && stdout.contains(PASSED),
            "case {name} failed in its child process ({st}: panic, abort, signal or out of memory)\nstdout:\n{stdout}\nstderr:\n{stderr}"
        ),
    }
}

/// Run test `name` of this binary in a child process with the case variable
/// set: its exit status (`None`: killed after the timeout) and output.
fn run_child(name: &str) -> (Option<std::process::ExitStatus>, String, String) {
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CASE_ENV, name)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the case's child process");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait for the child") {
            break Some(st);
        }
        if start.elapsed() > CHILD_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status, t_out.join().unwrap(), t_err.join().unwrap())
}

/// The harness itself: an allocation past the child's address-space limit
/// aborts the child, and that is seen as a failure (not a pass).
#[test]
fn harness_sees_an_allocation_abort_as_a_failure() {
    const NAME: &str = "harness_child_allocates_too_much";
    if std::env::var(CASE_ENV).as_deref() == Ok(NAME) {
        return; // only ever run through the parent below
    }
    let (status, stdout, _) = run_child(NAME);
    let st = status.expect("the child ends");
    assert!(!st.success() && !stdout.contains(PASSED), "an abort must not pass: {st}");
}

#[test]
fn harness_child_allocates_too_much() {
    isolated_raw("harness_child_allocates_too_much", || {
        let v = vec![1u8; (CHILD_MEMORY as usize) * 2];
        println!("{}", v[v.len() / 2]);
    });
}

/// Like [`isolated`] in the child; run directly (not as a child) it does nothing.
fn isolated_raw(name: &str, body: impl FnOnce()) {
    if std::env::var(CASE_ENV).as_deref() == Ok(name) {
        limit_memory(CHILD_MEMORY);
        body();
        println!("{PASSED}");
    }
}

macro_rules! case {
    ($(#[$m:meta])* $name:ident, $body:block) => {
        $(#[$m])*
        #[test]
        fn $name() {
            isolated(stringify!($name), || $body);
        }
    };
}

/// The error of `r`, which must be one of the build-time kinds and say something.
fn build_err<T>(r: floe::Result<T>, what: &str) -> Error {
    match r {
        Ok(_) => panic!("{what}: accepted, expected an error"),
        Err(e) => {
            assert!(
                matches!(e, Error::Shape(_) | Error::Chunks(_) | Error::Value(_)),
                "{what}: unexpected kind of error {e:?}"
            );
            let msg = e.to_string();
            assert!(msg.len() > 20, "{what}: unclear message {msg:?}");
            println!("{what}: {msg}");
            e
        }
    }
}

fn contains(e: &Error, needle: &str) {
    assert!(e.to_string().contains(needle), "message {:?} should name {needle:?}", e.to_string());
}

const MAX: usize = usize::MAX;

/// A lazy 1-byte array of 2^62 elements (4 M blocks).
fn huge_u8() -> Array<u8> {
    floe::zeros::<u8>([1usize << 62], 1usize << 40).unwrap()
}

// ---------------------------------------------------------------------------
// reproducers of issue #21
// ---------------------------------------------------------------------------

case!(zeros_with_chunks_that_wrap_to_the_length, {
    let e = build_err(floe::zeros::<f64>([1], vec![vec![MAX, 2]]), "zeros chunks [MAX, 2]");
    assert!(matches!(e, Error::Chunks(_)));
    contains(&e, &MAX.to_string());
});

case!(from_ndarray_with_chunks_that_wrap_never_writes_outside, {
    // [MAX, 3] sums to 2 with wrapping: once accepted, the block of MAX
    // elements was written before the output buffer
    for _ in 0..200 {
        let a = arr1(&[1.0f64, 2.0]);
        let r = floe::from_ndarray(&a, vec![vec![MAX, 3]]);
        let e = build_err(r.and_then(|x| x.compute()), "from_ndarray chunks [MAX, 3]");
        assert!(matches!(e, Error::Chunks(_)));
        let b = arr1(&[1.0f64]);
        build_err(floe::from_ndarray(&b, vec![vec![MAX, 2]]).and_then(|x| x.compute()), "from_ndarray chunks [MAX, 2]");
    }
});

case!(size_of_an_overflowing_shape_is_an_error, {
    let e = build_err(floe::zeros::<f64>([MAX, MAX], MAX), "zeros [MAX, MAX]");
    contains(&e, &MAX.to_string());
    build_err(floe::zeros::<u8>([1usize << 32, 1usize << 32], 1usize << 30), "zeros [2^32, 2^32]");
    // an empty array whose other lengths overflow (ndarray refuses it too)
    build_err(floe::zeros::<f64>([0, MAX, MAX], 1), "zeros [0, MAX, MAX]");
    let ok = floe::zeros::<u8>([1usize << 31, 1usize << 31], 1usize << 20).unwrap();
    assert_eq!(ok.size(), 1usize << 62);
    assert_eq!(ok.nbytes(), 1u64 << 62);
});

case!(reshape_to_a_shape_whose_product_wraps, {
    let x = floe::zeros::<u8>([1usize << 31, 1usize << 31], 1usize << 20).unwrap();
    build_err(x.reshape(&[0]), "reshape [2^31, 2^31] to [0]");
    build_err(x.reshape(&[1usize << 32, 1usize << 32]), "reshape to [2^32, 2^32]");
    build_err(x.reshape(&[MAX, 2, 2]), "reshape to [MAX, 2, 2]");
    let y = floe::zeros::<f64>([4, 6], 2).unwrap();
    build_err(y.reshape(&[1usize << 63, 2, 0]), "reshape 24 elements to a shape of 0 elements");
    build_err(y.reshape(&[1usize << 62, 1usize << 2]), "reshape to a product that wraps to 0");
    let empty = floe::zeros::<f64>([0, 3], 1).unwrap();
    build_err(empty.reshape(&[0, MAX, MAX]), "reshape an empty array to [0, MAX, MAX]");
    // a regular reshape still works
    let r = y.reshape(&[3, 8]).unwrap().compute().unwrap();
    assert_eq!(r.shape(), &[3, 8]);
});

case!(repeat_by_a_huge_count, {
    let x = floe::arange(0i64, 3, 1, 2).unwrap();
    build_err(x.repeat(1usize << 62, 0), "repeat 2^62");
    build_err(x.repeat(MAX, 0), "repeat MAX");
    build_err(x.repeat(1usize << 40, 0), "repeat 2^40");
    let empty = floe::zeros::<i64>([0], 1).unwrap();
    assert_eq!(empty.repeat(1usize << 62, 0).unwrap().shape(), &[0]);
    assert_eq!(x.repeat(2, 0).unwrap().compute().unwrap().into_raw_vec_and_offset().0, vec![0, 0, 1, 1, 2, 2]);
});

case!(roll_by_isize_min_rolls_the_right_way, {
    let x = floe::arange(0i64, 5, 1, 2).unwrap();
    for shift in [isize::MIN, isize::MAX, isize::MIN + 1, -7, 13] {
        let got = x.roll(shift, 0).unwrap().compute().unwrap().into_raw_vec_and_offset().0;
        let s = (shift as i128).rem_euclid(5) as i64;
        let want: Vec<i64> = (0..5).map(|i| (i - s).rem_euclid(5)).collect();
        assert_eq!(got, want, "roll by {shift}");
    }
    // a huge axis: refused (its index map would be huge), not allocated
    build_err(huge_u8().roll(1, 0), "roll of 2^62 elements");
});

case!(memory_limit_is_not_bypassed_by_a_wrapped_block_size, {
    // 2^61 f64 are 2^64 bytes: once wrapped to 0, under every limit
    build_err(floe::zeros::<f64>([1usize << 61], 1usize << 61), "zeros of 2^64 bytes");
    build_err(floe::zeros::<f64>([1usize << 32, 1usize << 29], MAX), "one block of 2^64 bytes");
    // one block of 8 TiB: refused by the limit before anything runs
    let big = floe::zeros::<f64>([1usize << 40], 1usize << 40).unwrap();
    let ex = Executor::cpu().memory_limit(1 << 30);
    let e = ex.compute(&big.sum(..).unwrap()).unwrap_err();
    assert!(matches!(e, Error::MemoryLimit { .. }), "{e:?}");
    let e = ex.compute(&big).unwrap_err();
    assert!(matches!(e, Error::MemoryLimit { .. }), "{e:?}");
    // a cast to a wider type of an array of 2^62 bytes: bytes saturate, refused
    let wide = huge_u8().cast::<f64>();
    let e = ex.compute(&wide.sum(..).unwrap()).unwrap_err();
    assert!(matches!(e, Error::MemoryLimit { .. }), "{e:?}");
});

// ---------------------------------------------------------------------------
// constructors: block lists are counted before they are built
// ---------------------------------------------------------------------------

case!(zeros_with_too_many_blocks, {
    let e = build_err(floe::zeros::<f64>([1usize << 40], 1), "zeros 2^40 blocks");
    assert!(matches!(e, Error::Chunks(_)));
    contains(&e, &(1usize << 40).to_string());
    build_err(floe::zeros::<f64>([1usize << 20, 1usize << 20], 1usize << 3), "2^34 blocks in total, each axis fine");
    build_err(floe::ones::<f32>([MAX], 1), "ones MAX");
    build_err(floe::full([1usize << 40, 1usize << 40], 1.5f64, 1usize << 30), "full 2^80 elements");
    build_err(floe::zeros::<f64>([10], 0), "block size 0");
    build_err(floe::zeros::<f64>([10], vec![vec![5, 4]]), "chunks short of the length");
});

case!(auto_chunks_of_a_huge_shape, {
    build_err(floe::zeros::<f64>([MAX], ChunkSpec::Auto), "zeros [MAX] auto");
    build_err(floe::zeros::<u8>([1usize << 62], ChunkSpec::Auto), "2^62 bytes in 64 MiB blocks are 2^36 blocks");
    let ok = floe::zeros::<f64>([1usize << 40], ChunkSpec::Auto).unwrap();
    assert_eq!(ok.size(), 1usize << 40);
});

case!(arange_and_linspace_counts, {
    build_err(floe::arange(0.0f64, 1e300, 1e-300, 1000), "arange 1e600 elements");
    build_err(floe::arange(0.0f64, f64::MAX, 1.0, 1000), "arange 1.8e308 elements");
    build_err(floe::arange(i64::MIN, i64::MAX, 1, 1000), "arange 2^64 i64 elements");
    build_err(floe::arange(0u64, u64::MAX, 1, 1usize << 40), "arange 2^64 u64 elements");
    build_err(floe::linspace(0.0, 1.0, MAX, 1000), "linspace MAX");
    build_err(floe::linspace(0.0, 1.0, 1usize << 40, 1), "linspace 2^40 blocks");
    let a = floe::arange(0.0f64, 1.0, 0.25, 2).unwrap().compute().unwrap();
    assert_eq!(a.into_raw_vec_and_offset().0, vec![0.0, 0.25, 0.5, 0.75]);
});

case!(eye_and_random_of_huge_sizes, {
    build_err(floe::eye::<f64>(MAX, 1000), "eye MAX");
    build_err(floe::eye::<f64>(1usize << 32, 1usize << 20), "eye 2^32");
    build_err(floe::eye::<f64>(1usize << 30, 1), "eye with 2^60 blocks");
    build_err(floe::random::uniform([MAX, 2], 0.0, 1.0, 1000, 1), "uniform [MAX, 2]");
    build_err(floe::random::normal([1usize << 40], 0.0, 1.0, 1, 1), "normal 2^40 blocks");
});

case!(from_ndarray_with_bad_chunks, {
    let a = ArrayD::<f64>::zeros(IxDyn(&[4, 3]));
    build_err(floe::from_ndarray(&a, vec![vec![MAX, 5], vec![3]]), "sum wraps to 4");
    build_err(floe::from_ndarray(&a, vec![vec![2, 2]]), "one axis of chunks for two");
    build_err(floe::from_ndarray(&a, vec![0, 3]), "block size 0");
    build_err(floe::from_ndarray(&a, vec![vec![2, 2], vec![MAX, MAX, 5]]), "sum wraps to 3");
    let ok = floe::from_ndarray(&a, vec![vec![1, 0, 3], vec![3]]).unwrap().compute().unwrap();
    assert_eq!(ok, a);
});

// ---------------------------------------------------------------------------
// shape operations
// ---------------------------------------------------------------------------

case!(broadcast_to_huge_shapes, {
    let x = floe::ones::<f64>([4], 2).unwrap();
    build_err(x.broadcast_to(&[MAX, 4]), "broadcast_to [MAX, 4]");
    build_err(x.broadcast_to(&[1usize << 40, 1usize << 40, 4]), "broadcast_to 2^82 elements");
    let ok = x.broadcast_to(&[1usize << 40, 4]).unwrap();
    assert_eq!(ok.size(), 1usize << 42);
    let y = floe::ones::<f64>([1usize << 40, 1], 1usize << 30).unwrap();
    let z = floe::ones::<f64>([1, 1usize << 40], 1usize << 30).unwrap();
    build_err(y.try_add(&z), "elementwise broadcast to 2^80 elements");
    build_err(y.maximum(&z), "maximum broadcast to 2^80 elements");
});

case!(pad_by_huge_widths, {
    let x = floe::arange(0i64, 4, 1, 2).unwrap();
    build_err(x.pad(&[(1usize << 40, 0)], PadMode::Constant(0)), "pad 2^40");
    build_err(x.pad(&[(0, MAX)], PadMode::Edge), "pad MAX");
    build_err(x.pad(&[(MAX, MAX)], PadMode::Reflect), "pad MAX both sides");
    build_err(x.pad(&[(1, 1), (1, 1)], PadMode::Wrap), "pad widths for two axes");
    let got = x.pad(&[(2, 3)], PadMode::Symmetric).unwrap().compute().unwrap().into_raw_vec_and_offset().0;
    assert_eq!(got, vec![1, 0, 0, 1, 2, 3, 3, 2, 1]);
});

case!(tile_by_huge_counts, {
    let x = floe::arange(0i64, 3, 1, 2).unwrap();
    build_err(x.tile(&[1usize << 62]), "tile 2^62");
    build_err(x.tile(&[MAX]), "tile MAX");
    build_err(x.tile(&[1usize << 40, 1]), "tile a new axis 2^40");
    let empty = floe::zeros::<i64>([0], 1).unwrap();
    assert_eq!(empty.tile(&[1usize << 62]).unwrap().shape(), &[0], "nothing to repeat: no loop over the count");
    let got = x.tile(&[2]).unwrap().compute().unwrap().into_raw_vec_and_offset().0;
    assert_eq!(got, vec![0, 1, 2, 0, 1, 2]);
});

case!(take_and_slice_at_extremes, {
    let x = floe::arange(0i64, 10, 1, 3).unwrap();
    build_err(x.take(&[MAX], 0), "take index MAX");
    build_err(x.take(&[1usize << 63], 0), "take index 2^63 (negative as i64)");
    assert!(x.slice(s![isize::MIN..]).is_err());
    assert!(x.slice(s![..isize::MIN]).is_err());
    assert!(x.slice(s![isize::MIN]).is_err());
    // steps that multiply past isize when slices compose
    let a = x.slice(s![..;1isize << 40]).unwrap().slice(s![..;1isize << 40]).unwrap();
    assert_eq!(a.compute().unwrap().into_raw_vec_and_offset().0, vec![0]);
    let b = x.slice(s![..;isize::MIN]).unwrap().slice(s![..;isize::MIN]).unwrap();
    assert_eq!(b.compute().unwrap().into_raw_vec_and_offset().0, vec![9]);
    let y = x.slice(s![..;isize::MAX]).unwrap();
    assert_eq!(y.compute().unwrap().into_raw_vec_and_offset().0, vec![0]);
});

case!(concatenate_and_stack_past_usize, {
    let h = huge_u8();
    build_err(floe::concatenate(0, &[&h, &h, &h, &h]), "concatenate 4 x 2^62");
    build_err(floe::concatenate(0, &[&h, &h]), "concatenate 2^63 bytes");
    build_err(floe::stack(0, &[&h, &h]), "stack 2 x 2^62");
    let x = floe::zeros::<u8>([1usize << 23], 1).unwrap();
    build_err(floe::concatenate(0, &[&x, &x, &x]), "concatenate past the per-axis block limit");
    let ok = floe::concatenate(0, &[&h, &floe::zeros::<u8>([5], 5).unwrap()]).unwrap();
    assert_eq!(ok.shape(), &[(1usize << 62) + 5]);
});

case!(rechunk_transpose_and_new_axes, {
    let x = floe::zeros::<u8>([1usize << 40, 4], [1usize << 30, 4]).unwrap();
    build_err(x.rechunk(1), "rechunk to 2^42 blocks");
    build_err(x.rechunk(vec![vec![MAX, (1usize << 40) + 1], vec![4]]), "explicit chunks that wrap");
    build_err(x.rechunk(ChunkSpec::Auto).and_then(|y| y.rechunk([1usize << 10, 1])), "2^30 x 4 blocks");
    let t = x.t();
    assert_eq!(t.shape(), &[4, 1usize << 40]);
    assert!(x.permuted_axes(&[0, 0]).is_err());
    assert!(x.insert_axis(MAX).is_err());
    assert_eq!(x.insert_axis(1).unwrap().shape(), &[1usize << 40, 1, 4]);
});

case!(matmul_and_tensordot_shapes, {
    let a = floe::ones::<f64>([1usize << 40, 1], [1usize << 30, 1]).unwrap();
    let b = floe::ones::<f64>([1, 1usize << 40], [1, 1usize << 30]).unwrap();
    build_err(a.matmul(&b), "matmul to 2^80 elements");
    build_err(floe::tensordot(&a, &b, &[], &[]), "outer product of 2^80 elements");
    let c = floe::ones::<f64>([3, 2], 1).unwrap();
    let d = floe::ones::<f64>([2, 4], 1).unwrap();
    assert_eq!(c.matmul(&d).unwrap().compute().unwrap(), ArrayD::from_elem(IxDyn(&[3, 4]), 2.0));
});

case!(diag_with_huge_offsets, {
    let x = floe::ones::<f64>([3], 2).unwrap();
    build_err(floe::diag(&x, isize::MAX), "diag offset isize::MAX");
    build_err(floe::diag(&x, isize::MIN), "diag offset isize::MIN");
    build_err(floe::diag(&x, 1isize << 40), "diag 2^80 elements");
    let h = floe::ones::<u8>([1usize << 32], 1usize << 30).unwrap();
    build_err(floe::diag(&h, 0), "diag of 2^32 elements");
    let m = floe::ones::<f64>([3, 3], 2).unwrap();
    assert_eq!(m.diagonal(isize::MIN).unwrap().shape(), &[0]);
    assert_eq!(m.diagonal(isize::MAX).unwrap().shape(), &[0]);
});

case!(reductions_over_huge_lazy_arrays, {
    let h = huge_u8();
    let s = h.sum(..).unwrap();
    assert_eq!(s.shape(), &[] as &[usize]);
    let m = h.mean(..).unwrap();
    assert_eq!(m.size(), 1);
    let ex = Executor::cpu().memory_limit(1 << 30);
    assert!(matches!(ex.compute(&s).unwrap_err(), Error::MemoryLimit { .. }));
});

case!(map_blocks_with_chunks_that_wrap, {
    let x = floe::ones::<f64>([4], 2).unwrap();
    let r = x.map_blocks_with_chunks(vec![vec![MAX, 3]], |b| b.to_owned());
    build_err(r, "map_blocks output chunks [MAX, 3]");
});
