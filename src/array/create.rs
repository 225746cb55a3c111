//! Creating arrays: from ndarray, constants, ranges, identity.

use ndarray::{ArrayBase, Data, Dimension, IxDyn};
use std::sync::Arc;

use super::Array;
use crate::chunks::ChunkSpec;
use crate::dtype::{DType, Element, Prim};
use crate::error::{Error, Result};
use crate::exec::cpu::run_task::Value;
use crate::exec::cpu::source::InMemoryBlocks;
use crate::expr::{build, Source};

/// A chunked array holding a copy of `a`.
pub fn from_ndarray<T: Element, S: Data<Elem = T>, D: Dimension>(a: &ArrayBase<S, D>, chunks: impl Into<ChunkSpec>) -> Result<Array<T>> {
    let shape = a.shape().to_vec();
    let c = chunks.into().resolve(&shape, T::DTYPE.size())?;
    let owned = a.view().into_dyn().as_standard_layout().into_owned().into_shape_with_order(IxDyn(&shape)).map_err(|e| Error::Shape(e.to_string()))?;
    let whole = T::wrap(owned);
    // split into blocks once: computing hands the blocks out without copying
    let mut blocks = Vec::with_capacity(c.nblocks());
    if c.nblocks() == 1 {
        blocks.push(Arc::new(Value::Block(whole)));
    } else {
        let nb = c.numblocks();
        let mut idx = Vec::new();
        for lin in 0..c.nblocks() {
            crate::chunks::multi_index(lin, &nb, &mut idx);
            let start: Vec<usize> = (0..idx.len()).map(|k| c.offset(k, idx[k])).collect();
            blocks.push(Arc::new(Value::Block(whole.region(&start, &c.block_shape(&idx)))));
        }
    }
    let data: crate::expr::SourceData = Arc::new(InMemoryBlocks(blocks));
    Ok(Array::from_node(build::source(Source::Data(data), shape, T::DTYPE, c)))
}

/// An array of `shape` with every element `value`.
pub fn full<T: Element>(shape: impl AsRef<[usize]>, value: T, chunks: impl Into<ChunkSpec>) -> Result<Array<T>> {
    let shape = shape.as_ref().to_vec();
    let c = chunks.into().resolve(&shape, T::DTYPE.size())?;
    Ok(Array::from_node(build::source(Source::Full(value.to_scalar()), shape, T::DTYPE, c)))
}

pub fn zeros<T: Element>(shape: impl AsRef<[usize]>, chunks: impl Into<ChunkSpec>) -> Result<Array<T>> {
    full(shape, T::from_prim(Prim::I(0)), chunks)
}

pub fn ones<T: Element>(shape: impl AsRef<[usize]>, chunks: impl Into<ChunkSpec>) -> Result<Array<T>> {
    full(shape, T::from_prim(Prim::I(1)), chunks)
}

/// Values `start, start + step, ...` below `stop` (above, for a negative step), as NumPy's arange.
pub fn arange<T: Element>(start: T, stop: T, step: T, chunks: impl Into<ChunkSpec>) -> Result<Array<T>> {
    if T::DTYPE == DType::Bool {
        return Err(Error::DType("arange of bool".into()));
    }
    let (s, e, d) = (start.cast::<f64>(), stop.cast::<f64>(), step.cast::<f64>());
    if d == 0.0 || !d.is_finite() || !s.is_finite() || !e.is_finite() {
        return Err(Error::Value(format!("arange needs a finite, non-zero step and finite bounds (start {start}, stop {stop}, step {step})")));
    }
    let n = if T::DTYPE.is_float() {
        // (e - s) / d may be infinite or far beyond usize: checked, not saturated
        crate::size::float_count(((e - s) / d).ceil(), &format!("arange({start}, {stop}, {step})"))?
    } else {
        // exact integer count
        let (s, e, d) = (to_i128(start), to_i128(stop), to_i128(step));
        let span = e - s;
        let n = if (span > 0) != (d > 0) || span == 0 { 0 } else { (span + d - d.signum()) / d };
        usize::try_from(n).map_err(|_| Error::Value(format!("arange({start}, {stop}, {step}): {n} elements are more than an array can hold")))?
    };
    let shape = vec![n];
    let c = chunks.into().resolve(&shape, T::DTYPE.size())?;
    Ok(Array::from_node(build::source(Source::Arange { start: start.to_scalar(), step: step.to_scalar() }, shape, T::DTYPE, c)))
}

/// `num` evenly spaced values from `start` to `stop`, both included.
pub fn linspace(start: f64, stop: f64, num: usize, chunks: impl Into<ChunkSpec>) -> Result<Array<f64>> {
    let shape = vec![num];
    let c = chunks.into().resolve(&shape, 8)?;
    Ok(Array::from_node(build::source(Source::Linspace { start, stop, num }, shape, DType::F64, c)))
}

/// The n × n identity matrix.
pub fn eye<T: Element>(n: usize, chunks: impl Into<ChunkSpec>) -> Result<Array<T>> {
    let shape = vec![n, n];
    let c = chunks.into().resolve(&shape, T::DTYPE.size())?;
    Ok(Array::from_node(build::source(Source::Eye, shape, T::DTYPE, c)))
}

fn to_i128<T: Element>(v: T) -> i128 {
    match v.to_prim() {
        Prim::I(x) => x as i128,
        Prim::U(x) => x as i128,
        Prim::B(b) => b as i128,
        Prim::F(f) => f as i128,
    }
}
