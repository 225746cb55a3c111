//! Assembling output arrays from output blocks, shared by the CPU and GPU
//! executors.

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::exec::cpu::chunk::Chunk;
use crate::task::{Layer, TaskGraph};

/// Put output block `block` of `layer` into its assembled array `o`: the
/// block itself (in standard layout) when the layer has one task, else
/// copied into a zero-filled array of the layer's shape.
pub(crate) fn assemble(o: &mut Option<Chunk>, layer: &Layer, block: &[usize], c: Cow<'_, Chunk>) -> Result<()> {
    let chunks = layer.chunks.as_ref().ok_or_else(|| Error::Execution("internal: output layer without chunks".into()))?;
    if layer.ntasks() == 1 {
        let standard = crate::with_chunk!(&*c, a, T => a.is_standard_layout());
        *o = Some(if standard { c.into_owned() } else { c.to_standard() });
        return Ok(());
    }
    let start = chunks.block_start(block);
    o.get_or_insert_with(|| Chunk::zeros(layer.dtype, &chunks.shape())).assign_at(&start, &c)
}

/// The results of a run in output order, from what each output assembled
/// (`None`: no task made it; see [`unmade`]).
pub(crate) fn collect(g: &TaskGraph, assembled: impl IntoIterator<Item = Option<Chunk>>) -> Vec<Chunk> {
    assembled.into_iter().zip(&g.outputs).map(|(m, &l)| m.unwrap_or_else(|| unmade(&g.layers[l]))).collect()
}

/// The result of an output no task made (an empty layer): zeros of the
/// layer's shape.
fn unmade(layer: &Layer) -> Chunk {
    Chunk::zeros(layer.dtype, &layer.chunks.as_ref().map(|c| c.shape()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunks::Chunks;
    use crate::dtype::{DType, Scalar};
    use crate::expr::Source;
    use crate::task::LayerKind;

    #[test]
    fn blocks_land_at_their_offsets_and_single_blocks_are_kept() {
        let layer = |sizes: Vec<Vec<usize>>, shape: &[usize]| {
            let chunks = Chunks::new(shape, sizes).unwrap();
            Layer {
                kind: LayerKind::Source { source: Source::Full(Scalar::I64(0)), shape: shape.to_vec() },
                grid: chunks.numblocks(),
                chunks: Some(chunks),
                dtype: DType::I64,
                block_bytes: 0,
                node: String::new(),
            }
        };
        let two = layer(vec![vec![2, 1], vec![3]], &[3, 3]);
        let mut o = None;
        let b = |v: Vec<i64>| Chunk::I64(ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[v.len() / 3, 3]), v).unwrap());
        assemble(&mut o, &two, &[1, 0], Cow::Owned(b(vec![7, 8, 9]))).unwrap();
        assemble(&mut o, &two, &[0, 0], Cow::Borrowed(&b(vec![1, 2, 3, 4, 5, 6]))).unwrap();
        let Some(Chunk::I64(a)) = o else { panic!("not assembled") };
        assert_eq!(a.iter().copied().collect::<Vec<_>>(), (1..=9).collect::<Vec<_>>());
        assert_eq!(unmade(&two).shape(), &[3, 3]);
        // one task: the block is the result, in standard layout
        let one = layer(vec![vec![3], vec![2]], &[3, 2]);
        let t = Chunk::I64(ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[2, 3]), (0..6).collect()).unwrap().reversed_axes());
        let mut o = None;
        assemble(&mut o, &one, &[0, 0], Cow::Borrowed(&t)).unwrap();
        let Some(Chunk::I64(a)) = o else { panic!("not kept") };
        assert!(a.is_standard_layout());
        assert_eq!(a.iter().copied().collect::<Vec<_>>(), vec![0, 3, 1, 4, 2, 5]);
    }
}
