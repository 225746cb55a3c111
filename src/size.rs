//! Checked size arithmetic. Every size that comes from user input (shapes,
//! block sizes, repeat counts, pad widths, shifts, range counts) is combined
//! here, never with bare `+`/`*`, so that a size that does not fit is an
//! error that names it instead of a value that silently wraps (in release
//! builds) or a panic (with overflow checks).
//!
//! The limits below are what a lazy array may describe. They keep the
//! invariant the rest of the crate relies on: the element count and the
//! byte count of every node's shape fit (`isize::MAX` bytes, what an
//! allocation may hold), so products of block sizes (never larger than
//! their axes) cannot overflow either; and the per-axis block lists that
//! building a graph allocates stay bounded.

use crate::error::{Error, Result};

/// Most blocks along one axis. A block list is one `usize` per block, so
/// this bounds it at 128 MiB; a million blocks along one axis is already far
/// more than any useful chunking (dask warns long before).
pub const MAX_AXIS_BLOCKS: usize = 1 << 24;

/// Most blocks of one array in total (2^32): block indices fit in `u32`
/// arithmetic, and per-block scheduling state of a computed array stays in
/// the tens of GiB at worst. Graph building itself never allocates per block
/// for regular layers.
pub const MAX_TOTAL_BLOCKS: u64 = 1 << 32;

/// Most entries of an in-memory index map (`take`, `roll`, `pad`, `tile`,
/// `repeat`): 2^27 `i64`s, 1 GiB. A map has one entry per output position
/// of the gathered axis; longer axes are refused rather than building a map
/// of many GiB before anything is computed.
pub const MAX_GATHER_MAP: usize = 1 << 27;

/// Most bytes of one array: what one allocation may hold (`isize::MAX`).
pub const MAX_BYTES: u64 = isize::MAX as u64;

/// A list shown in an error message, cut after a few entries.
pub fn show(v: &[usize]) -> String {
    if v.len() <= 8 {
        format!("{v:?}")
    } else {
        let head: Vec<String> = v[..4].iter().map(|x| x.to_string()).collect();
        format!("[{}, .. {} values]", head.join(", "), v.len())
    }
}

/// The product of `dims`, or an error naming them.
pub fn checked_product(dims: &[usize]) -> Result<usize> {
    dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).ok_or_else(|| {
        Error::Shape(format!("the sizes {} multiply to more than {} (usize::MAX)", show(dims), usize::MAX))
    })
}

/// The sum of `parts`, or an error naming them.
pub fn checked_sum(parts: &[usize]) -> Result<usize> {
    parts.iter().try_fold(0usize, |acc, &d| acc.checked_add(d)).ok_or_else(|| {
        Error::Shape(format!("the sizes {} add up to more than {} (usize::MAX)", show(parts), usize::MAX))
    })
}

/// `a + b`, or an error saying what was being added.
pub fn add(a: usize, b: usize, what: &str) -> Result<usize> {
    a.checked_add(b).ok_or_else(|| Error::Shape(format!("{what}: {a} + {b} is more than {} (usize::MAX)", usize::MAX)))
}

/// `a * b`, or an error saying what was being multiplied.
pub fn mul(a: usize, b: usize, what: &str) -> Result<usize> {
    a.checked_mul(b).ok_or_else(|| Error::Shape(format!("{what}: {a} * {b} is more than {} (usize::MAX)", usize::MAX)))
}

/// Bytes of `elems` elements of `itemsize` bytes, at most [`MAX_BYTES`].
pub fn checked_bytes(elems: usize, itemsize: usize) -> Result<u64> {
    let b = (elems as u128) * (itemsize as u128);
    if b > MAX_BYTES as u128 {
        return Err(Error::Shape(format!(
            "{elems} elements of {itemsize} bytes are {b} bytes, more than an array can hold ({MAX_BYTES} bytes)"
        )));
    }
    Ok(b as u64)
}

/// The element count of `shape` with `itemsize`-byte elements, checked to
/// fit both `usize` and [`MAX_BYTES`].
///
/// As ndarray, the product of the non-zero lengths must fit too (an empty
/// array of shape `[0, usize::MAX, usize::MAX]` would still overflow its
/// strides).
pub fn shape_elems(shape: &[usize], itemsize: usize) -> Result<usize> {
    let nonzero: Vec<usize> = shape.iter().copied().filter(|&d| d != 0).collect();
    let n = checked_product(&nonzero).map_err(|_| {
        Error::Shape(format!("an array of shape {} has more than {} (usize::MAX) elements", show(shape), usize::MAX))
    })?;
    checked_bytes(n, itemsize.max(1)).map_err(|_| {
        Error::Shape(format!(
            "an array of shape {} has {n} elements of {itemsize} bytes, more than an array can hold ({MAX_BYTES} bytes)",
            show(shape)
        ))
    })?;
    Ok(if nonzero.len() == shape.len() { n } else { 0 })
}

/// `a * b` saturating at `u64::MAX`, for byte counts compared with limits
/// (a saturated count is over every limit, never wrapped under it).
pub fn saturating_bytes(elems: usize, itemsize: usize) -> u64 {
    (elems as u64).saturating_mul(itemsize as u64)
}

/// Number of blocks of `block` elements (the last shorter) over `len`
/// (1 for an empty axis), without building the list.
pub fn block_count(len: usize, block: usize) -> usize {
    if len == 0 {
        1
    } else {
        len.div_ceil(block.clamp(1, len))
    }
}

/// Check `count` blocks along axis `axis` (of length `len`) against [`MAX_AXIS_BLOCKS`].
pub fn check_axis_blocks(axis: usize, len: usize, count: usize) -> Result<()> {
    if count > MAX_AXIS_BLOCKS {
        return Err(Error::Chunks(format!(
            "{count} blocks along axis {axis} (length {len}) are more than the limit of {MAX_AXIS_BLOCKS} blocks per axis: use larger blocks"
        )));
    }
    Ok(())
}

/// Check the block counts of every axis, one by one and in total.
pub fn check_numblocks(shape: &[usize], numblocks: &[usize]) -> Result<()> {
    let mut total: u64 = 1;
    for (k, &n) in numblocks.iter().enumerate() {
        check_axis_blocks(k, shape.get(k).copied().unwrap_or(0), n)?;
        total = total.saturating_mul(n as u64);
    }
    if total > MAX_TOTAL_BLOCKS {
        return Err(Error::Chunks(format!(
            "{} blocks per axis ({total} blocks in all) for shape {} are more than the limit of {MAX_TOTAL_BLOCKS} blocks: use larger blocks",
            show(numblocks),
            show(shape)
        )));
    }
    Ok(())
}

/// Check an index map of `len` entries against [`MAX_GATHER_MAP`] before it is built.
pub fn check_map_len(len: usize, what: &str) -> Result<()> {
    if len > MAX_GATHER_MAP {
        return Err(Error::Value(format!(
            "{what}: an output axis of {len} elements needs an index map of {len} entries, more than the limit of {MAX_GATHER_MAP}"
        )));
    }
    Ok(())
}

/// `shift` reduced to `0..n` (Euclidean remainder, exact for every `isize`).
pub fn shift_mod(shift: isize, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    (shift as i128).rem_euclid(n as i128) as usize
}

/// A count of range elements computed in floating point (`arange`), checked
/// to be a finite count that fits.
pub fn float_count(count: f64, what: &str) -> Result<usize> {
    if !count.is_finite() || count >= usize::MAX as f64 {
        return Err(Error::Value(format!("{what}: {count} elements are more than an array can hold")));
    }
    Ok(count.max(0.0) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_and_sums_are_checked() {
        assert_eq!(checked_product(&[]).unwrap(), 1);
        assert_eq!(checked_product(&[3, 0, usize::MAX]).unwrap(), 0, "a zero first keeps it small");
        assert_eq!(checked_product(&[2, 3, 4]).unwrap(), 24);
        let e = checked_product(&[usize::MAX, usize::MAX]).unwrap_err().to_string();
        assert!(e.contains(&usize::MAX.to_string()), "{e}");
        assert!(checked_product(&[1 << 32, 1 << 32]).is_err());
        assert_eq!(checked_sum(&[1, 2, 3]).unwrap(), 6);
        assert!(checked_sum(&[usize::MAX, 2]).is_err());
        assert!(add(usize::MAX, 1, "x").is_err());
        assert!(mul(1 << 40, 1 << 40, "x").is_err());
    }

    #[test]
    fn bytes_are_bounded_by_isize() {
        assert_eq!(checked_bytes(10, 8).unwrap(), 80);
        assert!(checked_bytes(1 << 61, 8).is_err());
        assert!(checked_bytes(usize::MAX, 1).is_err());
        assert_eq!(checked_bytes(isize::MAX as usize, 1).unwrap(), MAX_BYTES);
        assert!(shape_elems(&[1 << 31, 1 << 31], 1).is_ok());
        assert!(shape_elems(&[1 << 31, 1 << 31], 8).is_err(), "2^65 bytes");
        assert!(shape_elems(&[1 << 32, 1 << 32], 1).is_err());
        assert!(shape_elems(&[usize::MAX, usize::MAX], 8).is_err());
        assert!(shape_elems(&[0, usize::MAX, usize::MAX], 8).is_err(), "strides would overflow");
        assert_eq!(shape_elems(&[0, 1 << 20], 8).unwrap(), 0);
        assert_eq!(saturating_bytes(usize::MAX, 8), u64::MAX);
    }

    #[test]
    fn block_counts_are_known_before_lists_are_built() {
        assert_eq!(block_count(0, 5), 1);
        assert_eq!(block_count(10, 4), 3);
        assert_eq!(block_count(10, 0), 10);
        assert_eq!(block_count(usize::MAX, 1), usize::MAX);
        assert!(check_axis_blocks(0, 1 << 40, 1 << 40).is_err());
        assert!(check_numblocks(&[1 << 20, 1 << 20], &[1 << 20, 1 << 20]).is_err());
        assert!(check_numblocks(&[100, 100], &[10, 10]).is_ok());
        assert!(check_map_len(1 << 40, "tile").is_err());
    }

    #[test]
    fn shifts_reduce_exactly() {
        assert_eq!(shift_mod(isize::MIN, 5), (isize::MIN as i128).rem_euclid(5) as usize);
        assert_eq!(shift_mod(isize::MIN, 3), 1, "-2^63 = -3 * 3074457345618258603 + 1");
        assert_eq!(shift_mod(-1, 5), 4);
        assert_eq!(shift_mod(7, 5), 2);
        assert_eq!(shift_mod(isize::MAX, 1 << 62), (1 << 62) - 1);
    }

    #[test]
    fn float_counts_must_fit() {
        assert!(float_count(f64::INFINITY, "arange").is_err());
        assert!(float_count(1e300, "arange").is_err());
        assert_eq!(float_count(-3.0, "arange").unwrap(), 0);
        assert_eq!(float_count(12.0, "arange").unwrap(), 12);
    }
}
