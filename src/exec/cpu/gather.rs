//! Assembling an input region from several blocks (gathers, halos), the
//! axis permutations, reshapes, broadcasts and diagonals of blocks.

use std::borrow::Cow;
use std::sync::Arc;

use ndarray::{ArrayD, IxDyn, SliceInfoElem};

use super::chunk::{typed, Chunk, HostElement};
use super::run_task::Value;
use super::source::RandomBlock;
use crate::chunks::{for_each_in_box, Chunks};
use crate::dtype::Element;
use crate::error::{Error, Result};
use crate::task::{blocks_overlapping, diag_range, diagonal_blocks, AxisSource, GatherInput};

/// A stretch of consecutive output positions copied from one input block:
/// output start, length, position of the block in the axis's block list,
/// first local index in it and step (±1).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Run {
    out: usize,
    len: usize,
    list: usize,
    local: usize,
    step: isize,
}

/// The runs of one axis, the region's length along it and its block list.
fn axis_runs(inp: &GatherInput, k: usize, block: &[usize]) -> (Vec<Run>, usize, usize) {
    match &inp.axes[k] {
        AxisSource::Block(o) => {
            let n = inp.in_chunks.axis(k)[block[*o]];
            (vec![Run { out: 0, len: n, list: 0, local: 0, step: 1 }], n, 1)
        }
        AxisSource::Single => {
            let n = inp.in_chunks.axis(k)[0];
            (vec![Run { out: 0, len: n, list: 0, local: 0, step: 1 }], n, 1)
        }
        AxisSource::Positions { out_axis, pos, blocks } => {
            let pos = &pos[block[*out_axis]];
            let list = &blocks[block[*out_axis]];
            let bounds = inp.in_chunks.bounds(k);
            let mut runs: Vec<Run> = Vec::new();
            let mut prev: Option<(i64, usize)> = None; // last position and its block
            for (o, &p) in pos.iter().enumerate() {
                if p < 0 {
                    prev = None;
                    continue;
                }
                let p = p as usize;
                let b = bounds.partition_point(|&e| e <= p) - 1;
                let local = p - bounds[b];
                if let (Some((q, qb)), Some(r)) = (prev, runs.last_mut()) {
                    let d = p as i64 - q;
                    if qb == b && r.out + r.len == o && (d == 1 || d == -1) && (r.len == 1 || d as isize == r.step) {
                        r.step = d as isize;
                        r.len += 1;
                        prev = Some((p as i64, b));
                        continue;
                    }
                }
                let li = list.binary_search(&b).expect("position's block is listed");
                runs.push(Run { out: o, len: 1, list: li, local, step: 1 });
                prev = Some((p as i64, b));
            }
            (runs, pos.len(), list.len())
        }
    }
}

/// The region of input `inp` that task `block` reads, from its input
/// values `vals` (in `GatherInput::deps` order). One whole block is
/// borrowed, not copied.
pub fn assemble<'a>(inp: &GatherInput, block: &[usize], vals: &'a [Arc<Value>]) -> Result<Cow<'a, Chunk>> {
    if inp.is_plain() {
        let v = vals.first().ok_or_else(|| Error::Execution("internal: missing block input".into()))?;
        return Ok(Cow::Borrowed(v.block()?));
    }
    let nd = inp.axes.len();
    let mut runs = Vec::with_capacity(nd);
    let mut shape = Vec::with_capacity(nd);
    let mut lens = Vec::with_capacity(nd);
    for k in 0..nd {
        let (r, n, l) = axis_runs(inp, k, block);
        runs.push(r);
        shape.push(n);
        lens.push(l);
    }
    let srcs: Vec<&Chunk> = vals.iter().map(|v| v.block()).collect::<Result<_>>()?;
    let dtype = inp.fill.dtype();
    crate::dispatch_dtype!(dtype, T => {
        let src: Vec<&ArrayD<T>> = srcs.iter().map(|c| typed::<T>(c)).collect::<Result<_>>()?;
        let mut out = ArrayD::from_elem(IxDyn(&shape), T::from_prim(inp.fill.prim()));
        let ranges: Vec<(usize, usize)> = runs.iter().map(|r| (0, r.len())).collect();
        let mut dst_info = vec![SliceInfoElem::Index(0); nd];
        let mut src_info = vec![SliceInfoElem::Index(0); nd];
        for_each_in_box(&ranges, |ri| {
            let mut lin = 0;
            for k in 0..nd {
                let r = runs[k][ri[k]];
                lin = lin * lens[k] + r.list;
                dst_info[k] = SliceInfoElem::Slice { start: r.out as isize, end: Some((r.out + r.len) as isize), step: 1 };
                let (lo, hi) = if r.step > 0 { (r.local, r.local + r.len) } else { (r.local + 1 - r.len, r.local + 1) };
                src_info[k] = SliceInfoElem::Slice { start: lo as isize, end: Some(hi as isize), step: r.step };
            }
            out.slice_mut(dst_info.as_slice()).assign(&src[lin].slice(src_info.as_slice()));
        });
        Ok(Cow::Owned(T::wrap(out)))
    })
}

/// The region of input `inp` that task `block` reads, generated: `inp` is
/// an inline random source (see `GatherInput::inline`), `gen` its whole
/// array. Each run of consecutive positions along the last axis is one
/// `fill_run` of the generator; positions outside the array (-1) take the
/// fill value. Nothing is copied from other blocks.
pub fn generate(inp: &GatherInput, block: &[usize], gen: &RandomBlock) -> Result<Chunk> {
    let nd = inp.axes.len();
    let pos: Vec<Cow<[i64]>> = (0..nd)
        .map(|k| match &inp.axes[k] {
            AxisSource::Block(o) => {
                let (s, n) = (inp.in_chunks.offset(k, block[*o]) as i64, inp.in_chunks.axis(k)[block[*o]] as i64);
                Cow::Owned((s..s + n).collect())
            }
            AxisSource::Single => Cow::Owned((0..inp.in_chunks.axis(k)[0] as i64).collect()),
            AxisSource::Positions { out_axis, pos, .. } => Cow::Borrowed(pos[block[*out_axis]].as_slice()),
        })
        .collect();
    let shape: Vec<usize> = pos.iter().map(|p| p.len()).collect();
    let n: usize = shape.iter().product();
    let crate::dtype::Prim::F(fill) = inp.fill.prim() else {
        return Err(Error::Execution("internal: a generated region that is not f64".into()));
    };
    let strides = gen.strides();
    let mut v: Vec<f64> = Vec::with_capacity(n);
    if n > 0 {
        let (outer, last) = shape.split_at(nd.saturating_sub(1));
        let row_pos: &[i64] = if nd == 0 { &[0] } else { &pos[nd - 1] };
        let row_stride = if nd == 0 { 1 } else { strides[nd - 1] as i64 };
        let row_len = last.first().copied().unwrap_or(1);
        let ranges: Vec<(usize, usize)> = outer.iter().map(|&m| (0, m)).collect();
        for_each_in_box(&ranges, |i| {
            let at = v.len();
            v.resize(at + row_len, fill);
            let row = &mut v[at..];
            // a row outside the array keeps the fill value
            if i.iter().enumerate().any(|(k, &ik)| pos[k][ik] < 0) {
                return;
            }
            // the flat index of the row's position 0
            let base: i64 = i.iter().enumerate().map(|(k, &ik)| pos[k][ik] * strides[k] as i64).sum();
            let mut j = 0;
            while j < row_len {
                if row_pos[j] < 0 {
                    j += 1;
                    continue;
                }
                let mut e = j + 1;
                while e < row_len && row_pos[e] == row_pos[e - 1] + 1 {
                    e += 1;
                }
                gen.fill_run((base + row_pos[j] * row_stride) as u64, &mut row[j..e]);
                j = e;
            }
        });
    }
    let a = ArrayD::from_shape_vec(IxDyn(&shape), v).map_err(|e| Error::Execution(format!("internal: {e}")))?;
    Ok(Chunk::F64(a))
}

/// A block with its axes reordered (standard layout).
pub fn transpose(c: &Chunk, perm: &[usize]) -> Chunk {
    crate::with_chunk!(c, a, T => T::wrap(a.view().permuted_axes(IxDyn(perm)).as_standard_layout().into_owned()))
}

/// A block broadcast to `shape`.
pub fn broadcast(c: &Chunk, shape: &[usize]) -> Result<Chunk> {
    crate::with_chunk!(c, a, T => {
        let v = a.broadcast(IxDyn(shape)).ok_or_else(|| Error::Execution(format!("internal: broadcast {:?} to {shape:?}", a.shape())))?;
        Ok(T::wrap(v.to_owned()))
    })
}

/// Block `len` positions from `lo` of diagonal `offset` of a 2-d array chunked as `c`.
pub fn diagonal(c: &Chunks, offset: isize, lo: usize, len: usize, vals: &[Arc<Value>]) -> Result<Chunk> {
    let (r0, c0) = (offset.min(0).unsigned_abs(), offset.max(0) as usize);
    let (rb, cb) = (c.bounds(0), c.bounds(1));
    let pairs = diagonal_blocks(c, offset, lo, lo + len);
    let first = vals.first().map(|v| v.block()).transpose()?;
    let dtype = match first {
        Some(f) => f.dtype(),
        None => return Err(Error::Execution("internal: diagonal block without inputs".into())),
    };
    crate::dispatch_dtype!(dtype, T => {
        let mut out: Vec<T> = Vec::with_capacity(len);
        for ([i, j], v) in pairs.iter().zip(vals) {
            let a = typed::<T>(v.block()?)?;
            let t0 = lo.max(rb[*i].saturating_sub(r0)).max(cb[*j].saturating_sub(c0));
            let t1 = (lo + len).min(rb[i + 1].saturating_sub(r0)).min(cb[j + 1].saturating_sub(c0));
            for t in t0..t1 {
                out.push(a[[t + r0 - rb[*i], t + c0 - cb[*j]]]);
            }
        }
        if out.len() != len {
            return Err(Error::Execution("internal: diagonal block incomplete".into()));
        }
        Ok(T::wrap(ArrayD::from_shape_vec(IxDyn(&[len]), out).expect("length checked")))
    })
}

/// Block `block` of `diag(v, offset)` chunked as `out`, from the blocks of
/// `v` (chunked as `vc`) it needs.
pub fn diag(out: &Chunks, vc: &Chunks, offset: isize, block: &[usize], dtype: crate::DType, vals: &[Arc<Value>]) -> Result<Chunk> {
    let (r0, c0) = (offset.min(0).unsigned_abs(), offset.max(0) as usize);
    let (rs, cs) = (out.offset(0, block[0]), out.offset(1, block[1]));
    let (lo, hi) = diag_range(out, offset, block);
    let vb = vc.bounds(0);
    crate::dispatch_dtype!(dtype, T => {
        let mut m = ArrayD::<T>::from_elem(IxDyn(&out.block_shape(block)), T::default());
        let mut it = vals.iter();
        for i in blocks_overlapping(vc, lo, hi) {
            let v = typed::<T>(it.next().ok_or_else(|| Error::Execution("internal: diag input missing".into()))?.block()?)?;
            for t in lo.max(vb[i])..hi.min(vb[i + 1]) {
                m[[t + r0 - rs, t + c0 - cs]] = v[[t - vb[i]]];
            }
        }
        Ok(T::wrap(m))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::Scalar;

    #[test]
    fn runs_merge_consecutive_positions_in_one_block() {
        let inp = GatherInput {
            layer: 0,
            in_chunks: Chunks::new(&[10], vec![vec![4, 6]]).unwrap(),
            axes: vec![AxisSource::positions(0, vec![vec![0, 1, 2, 3, 4, 5, -1, 9, 8, 7, 7]], &[4, 6])],
            fill: Scalar::F64(0.0),
            inline: None,
        };
        let (runs, n, l) = axis_runs(&inp, 0, &[0]);
        assert_eq!((n, l), (11, 2));
        let short: Vec<(usize, usize, usize, usize, isize)> = runs.iter().map(|r| (r.out, r.len, r.list, r.local, r.step)).collect();
        assert_eq!(short, vec![(0, 4, 0, 0, 1), (4, 2, 1, 0, 1), (7, 3, 1, 5, -1), (10, 1, 1, 3, 1)]);
    }
}
