//! `reshape` without huge chunks: the axes of the old and new shapes are
//! matched in groups of equal size (e.g. (6, 4, 5) → (24, 5) is the groups
//! {0, 1} → {0} and {2} → {1}). A group of one axis keeps its chunks. In a
//! larger group every block must be whole along all but the group's first
//! axis and start at a row boundary of both shapes, so that each block
//! reshapes on its own. Blocks already like that are kept (a merge of whole
//! rows, a split into whole rows); otherwise the input is rechunked once,
//! to blocks of about the size it had (never one huge chunk).

use crate::chunks::{regular_checked, Chunks};
use crate::error::{Error, Result};

use super::build::{expand_dims, rechunk, source, squeeze};
use super::{Node, NodeRef, Op, Source};

/// Reshape `input` to `shape` (row-major order, as NumPy's default).
pub fn reshape(input: &NodeRef, shape: &[usize]) -> Result<NodeRef> {
    // the input's count fits (every node's does); the new shape's may not
    let n_in = crate::size::checked_product(&input.shape)?;
    let n_out = crate::size::checked_product(shape).map_err(|_| {
        Error::Shape(format!(
            "cannot reshape an array of shape {:?} ({n_in} elements) into shape {} (more than {} elements)",
            input.shape,
            crate::size::show(shape),
            usize::MAX
        ))
    })?;
    // also when empty: the non-zero lengths must fit (strides, ndarray)
    crate::size::shape_elems(shape, input.dtype.size())?;
    if n_in != n_out {
        return Err(Error::Shape(format!(
            "cannot reshape an array of shape {:?} ({n_in} elements) into shape {shape:?} ({n_out} elements)",
            input.shape
        )));
    }
    if input.shape == shape {
        return Ok(input.clone());
    }
    if n_in == 0 {
        // no elements to move: a constant of the new shape
        let chunks = Chunks::single(shape);
        let zero = crate::dtype::Scalar::F64(0.0).cast(input.dtype);
        return Ok(source(Source::Full(zero), shape.to_vec(), input.dtype, chunks));
    }
    // axes of length 1 are removed first and inserted again last
    let ones: Vec<usize> = (0..input.shape.len()).filter(|&k| input.shape[k] == 1).collect();
    let core_in = squeeze(input, &ones)?;
    let core_shape: Vec<usize> = shape.iter().copied().filter(|&d| d != 1).collect();
    let mut out = if core_in.shape == core_shape { core_in } else { reshape_core(&core_in, &core_shape)? };
    for (k, &d) in shape.iter().enumerate() {
        if d == 1 {
            out = expand_dims(&out, k)?;
        }
    }
    Ok(out)
}

/// Groups of (input axes, output axes) with equal products; no axis has length 0 or 1.
pub fn groups(a: &[usize], b: &[usize]) -> Vec<(Vec<usize>, Vec<usize>)> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (mut ga, mut gb) = (vec![i], vec![j]);
        let (mut pa, mut pb) = (a[i], b[j]);
        while pa != pb {
            if pa < pb {
                i += 1;
                pa *= a[i];
                ga.push(i);
            } else {
                j += 1;
                pb *= b[j];
                gb.push(j);
            }
        }
        out.push((ga, gb));
        i += 1;
        j += 1;
    }
    out
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Chunk boundaries of `sizes` moved to the nearest multiple of `unit`.
fn snap(sizes: &[usize], unit: usize) -> Vec<usize> {
    let n: usize = sizes.iter().sum();
    let mut cuts = Vec::new();
    let mut acc = 0;
    for &s in sizes {
        acc += s;
        let c = ((acc + unit / 2) / unit) * unit;
        if c > 0 && c < n && cuts.last() != Some(&c) {
            cuts.push(c);
        }
    }
    cuts.push(n);
    let mut prev = 0;
    cuts.into_iter()
        .filter_map(|c| {
            let s = c - prev;
            prev = c;
            (s > 0).then_some(s)
        })
        .collect()
}

/// The reshape of arrays without axes of length 0 or 1.
fn reshape_core(input: &NodeRef, shape: &[usize]) -> Result<NodeRef> {
    let ins = &input.shape;
    let mut in_sizes: Vec<Vec<usize>> = Vec::with_capacity(ins.len());
    let mut out_sizes: Vec<Vec<usize>> = Vec::with_capacity(shape.len());
    for (ga, gb) in groups(ins, shape) {
        if ga.len() == 1 && gb.len() == 1 {
            in_sizes.push(input.chunks.axis(ga[0]).to_vec());
            out_sizes.push(input.chunks.axis(ga[0]).to_vec());
            continue;
        }
        // elements per row of the group's first axis, in and out
        let r_in: usize = ga[1..].iter().map(|&k| ins[k]).product();
        let r_out: usize = gb[1..].iter().map(|&k| shape[k]).product();
        let unit = r_out / gcd(r_in, r_out); // input rows per common boundary
        let first = input.chunks.axis(ga[0]);
        let whole_rest = ga[1..].iter().all(|&k| input.chunks.axis(k).len() <= 1);
        let rows = if whole_rest {
            snap(first, unit)
        } else {
            // merging chunked axes: fewer rows per block, so blocks keep their size
            let elems: usize = ga.iter().map(|&k| input.chunks.max_block()[k].max(1)).product();
            let r = ((elems / r_in) / unit * unit).max(unit);
            regular_checked(ga[0], ins[ga[0]], r)?
        };
        out_sizes.push(rows.iter().map(|&r| r * r_in / r_out).collect());
        in_sizes.push(rows);
        for &k in &ga[1..] {
            in_sizes.push(vec![ins[k]]);
        }
        for &k in &gb[1..] {
            out_sizes.push(vec![shape[k]]);
        }
    }
    let input = rechunk(input, Chunks::checked(in_sizes)?);
    Node::try_new(Op::Reshape { input: input.clone() }, shape.to_vec(), input.dtype, Chunks::checked(out_sizes)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::{DType, Scalar};

    fn full(shape: &[usize], chunks: Vec<Vec<usize>>) -> NodeRef {
        let c = Chunks::new(shape, chunks).unwrap();
        source(Source::Full(Scalar::F64(1.0)), shape.to_vec(), DType::F64, c)
    }

    #[test]
    fn groups_match_products() {
        assert_eq!(groups(&[6, 4, 5], &[24, 5]), vec![(vec![0, 1], vec![0]), (vec![2], vec![1])]);
        assert_eq!(groups(&[6, 4], &[4, 6]), vec![(vec![0, 1], vec![0, 1])]);
        assert_eq!(groups(&[2, 3], &[3, 2]), vec![(vec![0, 1], vec![0, 1])]);
    }

    #[test]
    fn merging_whole_rows_keeps_chunks() {
        let a = full(&[100, 50], vec![vec![10; 10], vec![50]]);
        let r = reshape(&a, &[5000]).unwrap();
        assert_eq!(r.chunks.axis(0), &[500; 10]);
        let Op::Reshape { input } = &r.op else { panic!("a reshape node") };
        assert!(matches!(input.op, Op::Source(_)), "no rechunk needed");
    }

    #[test]
    fn splitting_keeps_chunks_at_row_boundaries() {
        let a = full(&[5000], vec![vec![500; 10]]);
        let r = reshape(&a, &[100, 50]).unwrap();
        assert_eq!(r.chunks.axis(0), &[10; 10]);
        assert_eq!(r.chunks.axis(1), &[50]);
        let Op::Reshape { input } = &r.op else { panic!("a reshape node") };
        assert!(matches!(input.op, Op::Source(_)));
    }

    #[test]
    fn merging_chunked_axes_never_makes_one_huge_chunk() {
        let a = full(&[1000, 1000], vec![vec![100; 10], vec![100; 10]]);
        let r = reshape(&a, &[1_000_000]).unwrap();
        assert!(r.chunks.max_block_elems() <= 100 * 1000, "{:?}", r.chunks.max_block());
        assert_eq!(r.chunks.axis(0).len(), 100);
    }

    #[test]
    fn ones_and_empty_arrays() {
        let a = full(&[3, 1, 4], vec![vec![2, 1], vec![1], vec![4]]);
        let r = reshape(&a, &[1, 12, 1]).unwrap();
        assert_eq!(r.shape, vec![1, 12, 1]);
        let e = full(&[0, 3], vec![vec![0], vec![3]]);
        assert_eq!(reshape(&e, &[3, 0, 2]).unwrap().shape, vec![3, 0, 2]);
        assert!(reshape(&a, &[5]).is_err());
    }
}
