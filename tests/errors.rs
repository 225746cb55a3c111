//! Errors: every invalid input through a fallible API returns Err (never a
//! panic), with a Display that says what went wrong; the operators panic on
//! incompatible shapes, as ndarray's do.

use std::panic::{catch_unwind, AssertUnwindSafe};

use floe::{Array, Axes, ChunkSpec, Error};

/// Runs `f`, failing the test with a clear message if it panics; returns its
/// error, failing if it is Ok.
fn expect_err<T>(what: &str, f: impl FnOnce() -> floe::Result<T>) -> Error {
    match catch_unwind(AssertUnwindSafe(f)) {
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{what}: panicked instead of returning Err: {msg}")
        }
        Ok(Ok(_)) => panic!("{what}: returned Ok, expected Err"),
        Ok(Err(e)) => e,
    }
}

/// The Display of `e` mentions every one of `needles` (case-insensitive).
fn assert_mentions(what: &str, e: &Error, needles: &[&str]) {
    let msg = e.to_string();
    let low = msg.to_lowercase();
    assert!(!msg.is_empty(), "{what}: empty error message ({e:?})");
    for n in needles {
        assert!(
            low.contains(&n.to_lowercase()),
            "{what}: error message {msg:?} should mention {n:?}"
        );
    }
    // std::error::Error is implemented
    let _: &dyn std::error::Error = e;
}

fn f64s(shape: &[usize], chunks: impl Into<ChunkSpec>) -> Array<f64> {
    floe::zeros::<f64>(shape, chunks).unwrap()
}

// ---------------------------------------------------------------------------
// broadcasting
// ---------------------------------------------------------------------------

#[test]
fn mismatched_shapes_try_ops() {
    let a = f64s(&[3, 4], 2);
    let b = f64s(&[5, 4], 2);
    let e = expect_err("try_add (3,4) + (5,4)", || a.try_add(&b));
    println!("try_add: {e}");
    assert_mentions("try_add (3,4) + (5,4)", &e, &["3", "5", "4"]);
    expect_err("try_sub", || a.try_sub(&b));
    expect_err("try_mul", || a.try_mul(&b));
    expect_err("try_div", || b.try_div(&a));
    expect_err("maximum", || a.maximum(&b));
    expect_err("minimum", || a.minimum(&b));
    expect_err("greater", || a.greater(&b));
    expect_err("equal", || a.equal(&b));
    expect_err("less_equal", || a.less_equal(&b));
    let c = floe::zeros::<bool>([2, 4], 2).unwrap();
    let e = expect_err("where_ with non-broadcastable condition", || {
        floe::where_(&c, &a, 0.0)
    });
    println!("where_: {e}");
    expect_err("where_ with non-broadcastable branches", || {
        floe::where_(&floe::zeros::<bool>([4], 2).unwrap(), &a, &b)
    });
    // broadcasting that is fine stays fine
    let d = f64s(&[5, 1, 4], 2);
    assert_eq!(a.try_add(&d).unwrap().shape(), &[5, 3, 4]);
    // a length-0 axis does not broadcast against a length > 1
    let z = f64s(&[0, 4], 2);
    expect_err("(0,4) + (3,4)", || z.try_add(&a));
    assert_eq!(z.try_add(f64s(&[1, 4], 2)).unwrap().shape(), &[0, 4]);
}

#[test]
#[should_panic]
fn operator_add_mismatched_shapes_panics() {
    let a = f64s(&[3, 4], 2);
    let b = f64s(&[5, 4], 2);
    let _ = &a + &b;
}

#[test]
#[should_panic]
fn operator_mul_mismatched_shapes_panics() {
    let a = floe::zeros::<i32>([3], 2).unwrap();
    let b = floe::zeros::<i32>([2], 2).unwrap();
    let _ = a * b;
}

// ---------------------------------------------------------------------------
// axes
// ---------------------------------------------------------------------------

#[test]
fn axis_out_of_range() {
    let a = f64s(&[3, 4], 2);
    let e = expect_err("sum(7) on a 2-d array", || a.sum(7));
    println!("sum(7): {e}");
    assert_mentions("sum(7)", &e, &["7"]);
    let e = expect_err("argmin(5) on a 2-d array", || a.argmin(5));
    println!("argmin(5): {e}");
    assert_mentions("argmin(5)", &e, &["5"]);
    expect_err("argmax(2)", || a.argmax(2));
    expect_err("sum([0, 2])", || a.sum([0, 2]));
    expect_err("mean(2)", || a.mean(2));
    expect_err("var(3, 0)", || a.var(3, 0));
    expect_err("std(3, 1)", || a.std(3, 1));
    expect_err("min(2)", || a.min(2));
    expect_err("max(Axes::from(2).keepdims())", || {
        a.max(Axes::from(2).keepdims())
    });
    expect_err("prod(9)", || a.prod(9));
    expect_err("any(2)", || a.any(2));
    expect_err("all(2)", || a.all(2));
    expect_err("nansum(2)", || a.nansum(2));
    expect_err("nanmean(2)", || a.nanmean(2));
    expect_err("nanvar(2, 0)", || a.nanvar(2, 0));
    expect_err("nanmin(2)", || a.nanmin(2));
    let e = expect_err("cumsum(2)", || a.cumsum(2));
    assert_mentions("cumsum(2)", &e, &["2"]);
    expect_err("cumprod(3)", || a.cumprod(3));
    let s = floe::full([0usize; 0], 1.0f64, 1).unwrap();
    expect_err("sum(0) on a 0-d array", || s.sum(0));
    expect_err("argmin(0) on a 0-d array", || s.argmin(0));
    expect_err("cumsum(0) on a 0-d array", || s.cumsum(0));
}

#[test]
fn duplicate_axes() {
    let a = f64s(&[3, 4, 5], 2);
    let e = expect_err("sum([1, 1])", || a.sum([1, 1]));
    println!("sum([1, 1]): {e}");
    assert_mentions("sum([1, 1])", &e, &["1"]);
    expect_err("mean([0, 2, 0])", || a.mean([0, 2, 0]));
    expect_err("max(&[2, 2][..])", || a.max(&[2usize, 2][..]));
    expect_err("var(Axes::from([0, 0]).keepdims(), 1)", || {
        a.var(Axes::from([0, 0]).keepdims(), 1)
    });
}

// ---------------------------------------------------------------------------
// chunks
// ---------------------------------------------------------------------------

#[test]
fn bad_chunks() {
    let arr = ndarray::Array2::<f64>::zeros((5, 4));
    let e = expect_err("explicit chunks summing to 4 on an axis of 5", || {
        floe::from_ndarray(&arr, vec![vec![2, 2], vec![4]])
    });
    println!("bad explicit chunks: {e}");
    assert_mentions("explicit chunks summing to 4", &e, &["5"]);
    expect_err("explicit chunks summing to 6", || {
        floe::from_ndarray(&arr, vec![vec![2, 2, 2], vec![4]])
    });
    expect_err("explicit chunks for the wrong number of axes", || {
        floe::from_ndarray(&arr, vec![vec![5]])
    });
    expect_err("explicit chunks for too many axes", || {
        floe::from_ndarray(&arr, vec![vec![5], vec![4], vec![1]])
    });
    let e = expect_err("block size 0", || floe::from_ndarray(&arr, 0));
    println!("block size 0: {e}");
    expect_err("per-axis block size 0", || floe::from_ndarray(&arr, [0, 2]));
    expect_err("per-axis sizes for the wrong number of axes", || {
        floe::from_ndarray(&arr, vec![2usize, 2, 2])
    });
    expect_err("per-axis sizes for too few axes", || {
        floe::from_ndarray(&arr, &[2usize][..])
    });
    expect_err("explicit chunks of only zeros on a non-empty axis", || {
        floe::from_ndarray(&arr, vec![vec![0], vec![4]])
    });
    expect_err("zeros with bad chunks", || {
        floe::zeros::<i32>([5, 4], vec![vec![5], vec![3]])
    });
    expect_err("ones with block size 0", || floe::ones::<u8>([5, 4], 0));
    expect_err("full with bad chunks", || {
        floe::full([3], 1i64, vec![vec![1, 1]])
    });
    expect_err("arange with bad chunks", || {
        floe::arange(0i64, 10, 1, vec![vec![3, 3]])
    });
    expect_err("linspace with bad chunks", || {
        floe::linspace(0.0, 1.0, 5, vec![vec![2, 2]])
    });
    expect_err("eye with bad chunks", || {
        floe::eye::<f64>(3, vec![vec![3], vec![2]])
    });
    expect_err("uniform with bad chunks", || {
        floe::random::uniform([4], 0.0, 1.0, vec![vec![5]], 0)
    });
    expect_err("normal with block size 0", || {
        floe::random::normal([4], 0.0, 1.0, 0, 0)
    });
    let x = f64s(&[5, 4], 2);
    let e = expect_err("rechunk with bad chunks", || {
        x.rechunk(vec![vec![4], vec![4]])
    });
    println!("rechunk: {e}");
    expect_err("rechunk with block size 0", || x.rechunk(0));
    expect_err("rechunk for the wrong number of axes", || {
        x.rechunk(vec![vec![5]])
    });
    // zero-size blocks are fine when the sums match; block size 0 on an empty axis is fine
    assert_eq!(
        x.rechunk(vec![vec![0, 5, 0], vec![4]]).unwrap().numblocks(),
        vec![3, 1]
    );
    let _ = floe::zeros::<f64>([0, 3], vec![vec![0], vec![3]]).unwrap();
}

// ---------------------------------------------------------------------------
// concatenate, stack
// ---------------------------------------------------------------------------

#[test]
fn concatenate_errors() {
    let a = f64s(&[2, 3], 2);
    let b = f64s(&[2, 4], 2);
    let c = f64s(&[2, 3, 1], 2);
    let e = expect_err("concatenate (2,3) and (2,4) along 0", || {
        floe::concatenate(0, &[&a, &b])
    });
    println!("concatenate: {e}");
    assert_mentions("concatenate (2,3) and (2,4) along 0", &e, &["3", "4"]);
    expect_err("concatenate arrays of different ndim", || {
        floe::concatenate(0, &[&a, &c])
    });
    let e = expect_err("concatenate along axis 2 of 2-d arrays", || {
        floe::concatenate(2, &[&a, &a])
    });
    assert_mentions("concatenate along axis 2", &e, &["2"]);
    let none: [&Array<f64>; 0] = [];
    expect_err("concatenate of no arrays", || floe::concatenate(0, &none));
    let s = floe::full([0usize; 0], 1.0f64, 1).unwrap();
    expect_err("concatenate 0-d arrays", || floe::concatenate(0, &[&s, &s]));
    // fine: different lengths along the axis
    assert_eq!(floe::concatenate(1, &[&a, &b]).unwrap().shape(), &[2, 7]);
}

#[test]
fn stack_errors() {
    let a = f64s(&[2, 3], 2);
    let b = f64s(&[3, 2], 2);
    let e = expect_err("stack (2,3) and (3,2)", || floe::stack(0, &[&a, &b]));
    println!("stack: {e}");
    assert_mentions("stack (2,3) and (3,2)", &e, &["2", "3"]);
    let e = expect_err("stack along axis 3 of 2-d arrays", || {
        floe::stack(3, &[&a, &a])
    });
    assert_mentions("stack along axis 3", &e, &["3"]);
    let none: [&Array<f64>; 0] = [];
    expect_err("stack of no arrays", || floe::stack(0, &none));
    assert_eq!(floe::stack(2, &[&a, &a]).unwrap().shape(), &[2, 3, 2]);
}

// ---------------------------------------------------------------------------
// empty reductions, invalid values
// ---------------------------------------------------------------------------

#[test]
fn empty_reductions() {
    let a = f64s(&[3, 0, 2], 2);
    let e = expect_err("min over an empty axis", || a.min(1));
    println!("min of empty: {e}");
    assert_mentions("min over an empty axis", &e, &["min"]);
    let e = expect_err("argmin over an empty axis", || a.argmin(1));
    println!("argmin of empty: {e}");
    assert_mentions("argmin over an empty axis", &e, &["argmin"]);
    expect_err("max over all axes of an empty array", || a.max(..));
    expect_err("argmax over an empty axis", || a.argmax(1));
    expect_err("nanmin over an empty axis", || a.nanmin([0, 1]));
    expect_err("nanmax over an empty axis", || {
        a.nanmax(Axes::from(1).keepdims())
    });
    let i = floe::zeros::<i32>([0], 1).unwrap();
    expect_err("min of an empty i32 array", || i.min(0));
    expect_err("argmax of an empty i32 array", || i.argmax(0));
    // not errors: reductions with an identity, and reducing a non-empty axis
    assert!(a.sum(1).is_ok());
    assert!(a.mean(1).is_ok());
    assert!(a.min(2).is_ok());
    assert!(a.argmin(0).is_ok());
}

#[test]
fn invalid_values() {
    let e = expect_err("arange with step 0", || floe::arange(0i64, 10, 0, 4));
    println!("arange step 0: {e}");
    assert_mentions("arange with step 0", &e, &["step"]);
    expect_err("arange with step 0.0", || floe::arange(0.0f64, 1.0, 0.0, 4));
    expect_err("arange with step 0u8", || floe::arange(0u8, 10, 0, 4));
}

/// The error type is usable as a std error and comparable in match arms.
#[test]
fn error_type_traits() {
    fn takes_std_error(_: &(dyn std::error::Error + Send + Sync + 'static)) {}
    let a = f64s(&[3], 1);
    let e = a.sum(4).unwrap_err();
    takes_std_error(&e);
    let boxed: Box<dyn std::error::Error> = Box::new(e.clone());
    assert!(!boxed.to_string().is_empty());
    assert!(!format!("{e:?}").is_empty());
}

/// A user function that panics on the block starting at 4.
fn explode_on_second_block(b: ndarray::ArrayViewD<f64>) -> ndarray::ArrayD<f64> {
    if b.iter().next() == Some(&4.0) {
        panic!("boom at the second block");
    }
    b.to_owned()
}

/// A panic in a user's block function is reported as that function's, with
/// the block, not as a bug of floe.
#[test]
fn a_panicking_block_function_is_blamed_with_its_block() {
    let x = floe::arange(0.0f64, 12.0, 1.0, 4).unwrap();
    let y = x.map_blocks(explode_on_second_block).unwrap();
    let e = expect_err("a panicking map_blocks function", || y.compute());
    println!("panicking map_blocks: {e}");
    match &e {
        Error::Execution(m) => {
            assert!(m.contains("explode_on_second_block"), "{m}");
            assert!(m.contains("[1]"), "{m}");
            assert!(m.contains("boom at the second block"), "{m}");
            assert!(!m.contains("internal"), "{m}");
        }
        other => panic!("expected an execution error, got {other:?}"),
    }
    // a closure too, also when it feeds a reduction
    let z = x.map_blocks(|b: ndarray::ArrayViewD<f64>| -> ndarray::ArrayD<f64> {
        assert!(b.len() == 100, "a block of {} elements", b.len());
        b.to_owned()
    });
    let e = expect_err("a panicking closure", || z.unwrap().sum(..).unwrap().compute());
    assert_mentions("a panicking closure", &e, &["map_blocks", "closure", "panicked", "on block [", "a block of 4 elements"]);
    assert!(!e.to_string().contains("internal"), "{e}");
}
