//! Building the shape and block nodes: transpose, gather, diagonals,
//! broadcast_to and block functions, with their chunk inference.

use std::sync::Arc;

use crate::chunks::{regular, regular_checked, Chunks};
use crate::dtype::{DType, Scalar};
use crate::error::{axis_err, Error, Result};

use super::blocks::{BlockFunc, Halo, InAxis};
use super::build::rechunk;
use super::{Node, NodeRef, Op};

/// Axes reordered: output axis k is input axis `perm[k]`.
pub fn transpose(input: &NodeRef, perm: &[usize]) -> Result<NodeRef> {
    let nd = input.shape.len();
    if perm.len() != nd {
        return Err(Error::Shape(format!("permutation {perm:?} does not match an array of {nd} dimension(s)")));
    }
    let mut seen = vec![false; nd];
    for &p in perm {
        if p >= nd {
            return Err(axis_err(p as isize, nd, "permuted_axes"));
        }
        if std::mem::replace(&mut seen[p], true) {
            return Err(axis_err(p as isize, nd, "permuted_axes: axis repeated"));
        }
    }
    if perm.iter().enumerate().all(|(k, &p)| k == p) {
        return Ok(input.clone());
    }
    // a transpose of a transpose is one transpose
    if let Op::Transpose { perm: inner, input: src } = &input.op {
        let composed: Vec<usize> = perm.iter().map(|&p| inner[p]).collect();
        return transpose(src, &composed);
    }
    let shape = perm.iter().map(|&p| input.shape[p]).collect();
    let sizes = perm.iter().map(|&p| input.chunks.axis(p).to_vec()).collect();
    Ok(Node::new(
        Op::Transpose { perm: perm.to_vec(), input: input.clone() },
        shape,
        input.dtype,
        Chunks::from_sizes_unchecked(sizes),
    ))
}

/// A gather: per axis, `None` keeps the axis (and its chunks) or `Some(map)`
/// gives, for each output position, the input position to copy (-1: `fill`).
/// Gathered axes get `out_chunks` (or blocks of the input's largest block).
pub fn gather(input: &NodeRef, maps: Vec<Option<Vec<i64>>>, fill: Scalar, out_chunks: Option<Vec<Vec<usize>>>) -> Result<NodeRef> {
    let nd = input.shape.len();
    debug_assert_eq!(maps.len(), nd);
    let mut shape = Vec::with_capacity(nd);
    let mut sizes = Vec::with_capacity(nd);
    for (k, m) in maps.iter().enumerate() {
        match m {
            None => {
                shape.push(input.shape[k]);
                sizes.push(input.chunks.axis(k).to_vec());
            }
            Some(m) => {
                crate::size::check_map_len(m.len(), "gather")?;
                if let Some(&bad) = m.iter().find(|&&i| i < -1 || i as i128 >= input.shape[k] as i128) {
                    return Err(Error::Value(format!("index {bad} is out of bounds for axis {k} with size {}", input.shape[k])));
                }
                shape.push(m.len());
                let block = input.chunks.max_block()[k].max(1);
                sizes.push(match &out_chunks {
                    Some(c) => c[k].clone(),
                    None => regular_checked(k, m.len(), block)?,
                });
            }
        }
    }
    if maps.iter().all(|m| m.is_none()) {
        return Ok(input.clone());
    }
    let chunks = Chunks::new(&shape, sizes)?;
    let fill = fill.cast(input.dtype);
    let maps = maps.into_iter().map(|m| m.map(Arc::new)).collect();
    Node::try_new(Op::Gather { maps, fill, input: input.clone() }, shape, input.dtype, chunks)
}

fn diagonal_len(n0: usize, n1: usize, offset: isize) -> usize {
    let (r0, c0) = (offset.min(0).unsigned_abs(), offset.max(0) as usize);
    n0.saturating_sub(r0).min(n1.saturating_sub(c0))
}

/// The diagonal `offset` of a 2-d array (above the main one when positive).
pub fn diagonal(input: &NodeRef, offset: isize) -> Result<NodeRef> {
    if input.shape.len() != 2 {
        return Err(Error::NotImplemented(format!(
            "diagonal of a {}-d array (only 2-d arrays are supported)",
            input.shape.len()
        )));
    }
    let len = diagonal_len(input.shape[0], input.shape[1], offset);
    let block = input.chunks.max_block()[0].max(1);
    let chunks = Chunks::from_sizes_unchecked(vec![regular(len, block)]);
    Ok(Node::new(Op::Diagonal { offset, input: input.clone() }, vec![len], input.dtype, chunks))
}

/// A square 2-d array with the 1-d `input` on its diagonal `offset`.
pub fn diag(input: &NodeRef, offset: isize) -> Result<NodeRef> {
    if input.shape.len() != 1 {
        return Err(Error::Shape(format!("diag builds a matrix from a 1-d array, got shape {:?}", input.shape)));
    }
    let m = crate::size::add(input.shape[0], offset.unsigned_abs(), "diag: length plus offset")?;
    crate::size::shape_elems(&[m, m], input.dtype.size())?;
    let block = input.chunks.max_block()[0].max(1);
    let c = regular_checked(0, m, block)?;
    let chunks = Chunks::checked(vec![c.clone(), c])?;
    Node::try_new(Op::Diag { offset, input: input.clone() }, vec![m, m], input.dtype, chunks)
}

/// `input` broadcast to `shape` (NumPy rules). Axes the input has keep its
/// chunks; new and stretched axes get blocks that keep a block near the
/// input's block size (at least 16 MiB), never one huge chunk.
pub fn broadcast_to(input: &NodeRef, shape: &[usize]) -> Result<NodeRef> {
    let nd = shape.len();
    let ok = input.shape.len() <= nd
        && input.shape.iter().enumerate().all(|(k, &d)| d == 1 || d == shape[k + nd - input.shape.len()]);
    if !ok {
        return Err(Error::Shape(format!("cannot broadcast an array of shape {:?} to shape {shape:?}", input.shape)));
    }
    if input.shape == shape {
        return Ok(input.clone());
    }
    crate::size::shape_elems(shape, input.dtype.size())?;
    let off = nd - input.shape.len();
    let stretched = |k: usize| k < off || (input.shape[k - off] == 1 && shape[k] != 1);
    let item = input.dtype.size().max(1);
    let mut budget = (input.max_block_bytes() as usize).max(16 << 20) / item;
    for k in (0..nd).filter(|&k| !stretched(k)) {
        budget /= input.chunks.max_block()[k - off].max(1);
    }
    let mut sizes = vec![Vec::new(); nd];
    // the last stretched axes get the budget first (row-major blocks stay contiguous)
    for k in (0..nd).rev() {
        if stretched(k) {
            let b = budget.clamp(1, shape[k].max(1));
            sizes[k] = regular_checked(k, shape[k], b)?;
            budget = (budget / b).max(1);
        } else {
            sizes[k] = input.chunks.axis(k - off).to_vec();
        }
    }
    let want: Vec<Vec<usize>> =
        (0..input.shape.len()).map(|k| if stretched(k + off) { vec![1] } else { input.chunks.axis(k).to_vec() }).collect();
    let input = rechunk(input, Chunks::from_sizes_unchecked(want));
    let chunks = Chunks::new(shape, sizes)?;
    Node::try_new(Op::BroadcastTo { input: input.clone() }, shape.to_vec(), input.dtype, chunks)
}

/// A block function node. Every input axis either follows an output axis
/// (its chunks become that axis's chunks; inputs that disagree are rechunked
/// to the first one's) or is given whole (rechunked to one block). `chunks`
/// sets the output chunks (same number of blocks per axis as derived);
/// output axes no input follows need them.
pub fn map_blocks(
    func: BlockFunc,
    inputs: &[NodeRef],
    axes: Vec<Vec<InAxis>>,
    out_ndim: usize,
    dtype: DType,
    chunks: Option<Vec<Vec<usize>>>,
    halo: Option<Halo>,
) -> Result<NodeRef> {
    if inputs.is_empty() {
        return Err(Error::Value("a block function needs at least one input".into()));
    }
    let mut derived: Vec<Option<Vec<usize>>> = vec![None; out_ndim];
    for (inp, ax) in inputs.iter().zip(&axes) {
        if ax.len() != inp.shape.len() {
            return Err(Error::Shape(format!("index of {} axes for an input of shape {:?}", ax.len(), inp.shape)));
        }
        for (k, a) in ax.iter().enumerate() {
            if let InAxis::Out(o) = *a {
                if o >= out_ndim {
                    return Err(axis_err(o as isize, out_ndim, "block function output"));
                }
                match &derived[o] {
                    None => derived[o] = Some(inp.chunks.axis(k).to_vec()),
                    Some(c) if c.iter().sum::<usize>() != inp.shape[k] => {
                        return Err(Error::Shape(format!(
                            "inputs disagree on the length of output axis {o}: {} and {}",
                            c.iter().sum::<usize>(),
                            inp.shape[k]
                        )))
                    }
                    Some(_) => {}
                }
            }
        }
    }
    let aligned: Vec<NodeRef> = inputs
        .iter()
        .zip(&axes)
        .map(|(inp, ax)| {
            let want: Vec<Vec<usize>> = ax
                .iter()
                .enumerate()
                .map(|(k, a)| match a {
                    InAxis::Out(o) => derived[*o].clone().expect("derived above"),
                    InAxis::Whole => vec![inp.shape[k]],
                })
                .collect();
            rechunk(inp, Chunks::from_sizes_unchecked(want))
        })
        .collect();
    let sizes: Vec<Vec<usize>> = match chunks {
        Some(c) => {
            if c.len() != out_ndim {
                return Err(Error::Chunks(format!("{} axes of output chunks for an output of {out_ndim} axes", c.len())));
            }
            for (o, (given, d)) in c.iter().zip(&derived).enumerate() {
                let nb = d.as_ref().map(|d| d.len()).unwrap_or(1);
                if given.len() != nb {
                    return Err(Error::Chunks(format!(
                        "output axis {o} has {} blocks but the inputs have {nb}: a block function maps blocks one to one",
                        given.len()
                    )));
                }
            }
            c
        }
        None => derived
            .iter()
            .enumerate()
            .map(|(o, d)| {
                d.clone().ok_or_else(|| {
                    Error::Chunks(format!("output axis {o} follows no input axis: give the output chunks"))
                })
            })
            .collect::<Result<_>>()?,
    };
    let chunks = Chunks::checked(sizes)?;
    let shape = chunks.shape();
    Node::try_new(Op::MapBlocks { func, inputs: aligned, axes, halo }, shape, dtype, chunks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::build::source;
    use crate::expr::Source;

    fn full(shape: &[usize], chunks: Vec<Vec<usize>>) -> NodeRef {
        let c = Chunks::new(shape, chunks).unwrap();
        source(Source::Full(Scalar::F64(1.0)), shape.to_vec(), DType::F64, c)
    }

    #[test]
    fn transposes_compose_and_check_axes() {
        let a = full(&[2, 3, 4], vec![vec![1, 1], vec![3], vec![2, 2]]);
        let t = transpose(&a, &[2, 0, 1]).unwrap();
        assert_eq!(t.shape, vec![4, 2, 3]);
        assert_eq!(t.chunks.axis(0), &[2, 2]);
        let back = transpose(&t, &[1, 2, 0]).unwrap();
        assert_eq!(back.id, a.id, "a transpose and its inverse cancel");
        assert!(transpose(&a, &[0, 0, 1]).is_err());
        assert!(transpose(&a, &[0, 1]).is_err());
    }

    #[test]
    fn gathers_check_bounds_and_chunk_by_the_input_block() {
        let a = full(&[10], vec![vec![4, 4, 2]]);
        let g = gather(&a, vec![Some(vec![9, 0, 3, 3, 5, -1])], Scalar::F64(0.0), None).unwrap();
        assert_eq!(g.chunks.axis(0), &[4, 2]);
        assert!(gather(&a, vec![Some(vec![10])], Scalar::F64(0.0), None).is_err());
    }

    #[test]
    fn broadcast_to_keeps_blocks_bounded() {
        let a = full(&[1000], vec![vec![100; 10]]);
        let b = broadcast_to(&a, &[100_000, 1000]).unwrap();
        assert_eq!(b.chunks.axis(1), &[100; 10]);
        assert!(b.chunks.max_block_elems() <= (16 << 20) / 8 + 1000);
        assert!(broadcast_to(&a, &[3, 999]).is_err());
    }
}
