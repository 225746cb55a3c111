//! `Executor::to_zarr`: stream an array into a Zarr v3 store, block by
//! block, in parallel, never holding the array. Blocks are aligned with the
//! stored chunks first (a rechunk that the optimizer folds into stored and
//! generated sources), so every block writes whole chunks and no two tasks
//! touch the same chunk. See [`crate::store::write`] for the write protocol.

use std::path::{Path, PathBuf};

use super::cpu::chunk::Chunk;
use super::{Executor, Stats};
use crate::chunks::{regular, Chunks};
use crate::dtype::Element;
use crate::error::Result;
use crate::expr::{build, ExprGraph, NodeRef, Op, Source};
use crate::store::location::check_output_disjoint;
use crate::store::write::{ZarrWriteOptions, ZarrWriter};
use crate::store::ZarrArray;
use crate::Array;

/// The stored chunk shape of an array written with these options: the
/// requested one, or the largest block per axis (at least 1).
pub(crate) fn store_chunk_shape(chunks: &Chunks, o: &ZarrWriteOptions) -> Vec<usize> {
    match &o.chunks {
        Some(c) => c.clone(),
        None => chunks.max_block().iter().map(|&b| b.max(1)).collect(),
    }
}

/// Whether every block boundary of `chunks` is a stored-chunk boundary.
fn aligned(chunks: &Chunks, store: &[usize]) -> bool {
    (0..chunks.ndim()).all(|k| {
        let len: usize = chunks.axis(k).iter().sum();
        chunks.bounds(k).iter().all(|&b| b % store[k] == 0 || b == len)
    })
}

/// Blocks that are whole stored chunks: `chunks` itself when aligned, else
/// the stored chunk grid.
fn write_blocks(chunks: &Chunks, store: &[usize]) -> Chunks {
    if aligned(chunks, store) {
        return chunks.clone();
    }
    let sizes = chunks.shape().iter().zip(store).map(|(&len, &c)| regular(len, c)).collect();
    Chunks::from_sizes_unchecked(sizes)
}

/// The canonical locations of the Zarr stores that computing `roots` reads.
pub(crate) fn stored_inputs(roots: &[NodeRef]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = ExprGraph::new(roots.to_vec())
        .topo()
        .iter()
        .filter_map(|n| match &n.op {
            Op::Source(Source::Stored { array, .. }) => {
                array.as_any().downcast_ref::<ZarrArray>().map(|z| z.location().to_path_buf())
            }
            _ => None,
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

impl Executor {
    /// Write `a` as a Zarr v3 array at `path` (zstd; its blocks regularised to
    /// the largest block per axis). Fails if an array exists there.
    pub fn to_zarr<T: Element>(&self, a: &Array<T>, path: impl AsRef<Path>) -> Result<()> {
        self.to_zarr_with(a, path, &ZarrWriteOptions::new()).map(|_| ())
    }

    /// Write `a` as a Zarr v3 array with these options; returns the run's statistics.
    /// Refused before anything is deleted or written (`Error::Value`) when
    /// a codec setting is out of range, and (`Error::Storage`) when `path`
    /// overlaps a Zarr store `a` reads: the same store, a directory holding
    /// it, or a path inside it (compared as canonical paths).
    pub fn to_zarr_with<T: Element>(&self, a: &Array<T>, path: impl AsRef<Path>, o: &ZarrWriteOptions) -> Result<Stats> {
        let path = path.as_ref();
        let node = a.node();
        // before anything is planned, deleted or written: a codec that would
        // write an unreadable store, or an output that overlaps an input
        // (overwriting it would delete the data still to be read)
        o.codec.validate()?;
        check_output_disjoint(path, &stored_inputs(std::slice::from_ref(node)))?;
        let store_chunks = store_chunk_shape(&node.chunks, o);
        // plan before touching the disk: a plan that cannot run writes nothing
        let blocks = write_blocks(&node.chunks, &store_chunks.iter().map(|&c| c.max(1)).collect::<Vec<_>>());
        let node = if blocks == node.chunks { node.clone() } else { build::rechunk(node, blocks) };
        let g = self.optimize(&[node.clone()])?;
        let tg = self.lower_checked(&g)?;
        let writer = ZarrWriter::create(path, &node.shape, node.dtype, &store_chunks, o)?;
        let out_chunks = tg.layers[tg.outputs[0]].chunks.clone().expect("output layers have chunks");
        let grid = out_chunks.numblocks();
        let start_of = |lin: usize| {
            let mut b = Vec::new();
            crate::chunks::multi_index(lin, &grid, &mut b);
            let start = out_chunks.block_start(&b);
            (start, out_chunks.block_shape(&b))
        };
        let wanted = |_: usize, lin: usize| {
            if !o.resume {
                return true;
            }
            let (start, shape) = start_of(lin);
            !writer.region_present(&start, &shape)
        };
        let sink = |_: usize, b: &[usize], c: &Chunk| -> Result<()> {
            let start = out_chunks.block_start(b);
            crate::with_chunk!(c, v, _T => writer.write_region(&start, v.view()))
        };
        let (_, stats) = self.run_graph(&tg, &wanted, Some(&sink))?;
        writer.finish()?;
        Ok(stats)
    }
}
