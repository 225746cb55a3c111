//! Random arrays from a counter-based generator: the value at each position
//! depends only on the seed and the position, so results are the same
//! whatever the chunking (and on any executor).

use super::Array;
use crate::chunks::ChunkSpec;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::expr::{build, Distribution, Source};

fn random(shape: &[usize], dist: Distribution, a: f64, b: f64, chunks: ChunkSpec, seed: u64) -> Result<Array<f64>> {
    let shape = shape.to_vec();
    let c = chunks.resolve(&shape, 8)?;
    Ok(Array::from_node(build::source(Source::Random { dist, a, b, seed }, shape, DType::F64, c)))
}

/// Uniform values on [low, high).
pub fn uniform(shape: impl AsRef<[usize]>, low: f64, high: f64, chunks: impl Into<ChunkSpec>, seed: u64) -> Result<Array<f64>> {
    if !(low.is_finite() && high.is_finite() && low <= high) {
        return Err(Error::Value(format!("uniform needs finite low <= high, got [{low}, {high})")));
    }
    random(shape.as_ref(), Distribution::Uniform, low, high, chunks.into(), seed)
}

/// Normally distributed values with the given mean and standard deviation.
pub fn normal(shape: impl AsRef<[usize]>, mean: f64, std: f64, chunks: impl Into<ChunkSpec>, seed: u64) -> Result<Array<f64>> {
    if !(mean.is_finite() && std.is_finite() && std >= 0.0) {
        return Err(Error::Value(format!("normal needs a finite mean and std >= 0, got mean {mean}, std {std}")));
    }
    random(shape.as_ref(), Distribution::Normal, mean, std, chunks.into(), seed)
}
