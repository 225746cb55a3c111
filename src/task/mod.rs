//! The per-chunk task graph. A task is (layer, block index). Layers stay
//! virtual: the inputs of a block are found by index arithmetic
//! ([`TaskGraph::deps`]), so a graph of a million chunks is a few layers, not
//! a million objects. Plain data: no ndarray, no threads.

pub mod gather;
pub mod linalg;
pub mod lu;
pub mod order;

pub use gather::{AxisSource, GatherInput};

pub use crate::chunks::for_each_in_box;
use crate::chunks::{linear_index, multi_index, Chunks};
use crate::dtype::DType;
use crate::expr::{BlockFunc, Program, ReduceSpec, ScanKind, Source};

pub type LayerId = usize;
pub type TaskId = usize;

/// How a layer reads one of its array inputs: which layer, and, per input
/// axis, whether it broadcasts (block 0) or follows the task's block index.
#[derive(Clone)]
pub struct InputRef {
    /// The producing layer (unused when `inline` is set).
    pub layer: LayerId,
    /// Number of leading task-grid axes the input does not have.
    pub offset: usize,
    /// Per input axis: true where the input broadcasts along it.
    pub bcast: Vec<bool>,
    /// A generated source (constant, range, random) read only here: the
    /// task makes the block itself instead of depending on another task.
    pub inline: Option<Inline>,
}

/// A source generated inside the task that reads it.
#[derive(Clone)]
pub struct Inline {
    pub source: Source,
    pub shape: Vec<usize>,
    pub chunks: Chunks,
    pub dtype: DType,
}

#[derive(Clone)]
pub enum LayerKind {
    Source { source: Source, shape: Vec<usize> },
    /// A fused elementwise program per block.
    Map { program: Program, inputs: Vec<InputRef> },
    /// First step of a tree reduction: the program applied to a block, then
    /// reduced over the reduced axes to a partial (keepdims shape).
    ReducePartial { program: Program, inputs: Vec<InputRef>, spec: ReduceSpec, in_chunks: Chunks, in_dtype: DType },
    /// Partials of groups of blocks merged; the last level finalizes.
    ReduceCombine {
        input: LayerId,
        spec: ReduceSpec,
        /// Task grid of the input partials (all axes of the reduced array).
        in_grid: Vec<usize>,
        /// Group size per axis (1 on axes that are not reduced).
        group: Vec<usize>,
        finalize: bool,
        in_dtype: DType,
    },
    /// Per block: the cumulative op along `axis` within the block.
    ScanLocal { input: LayerId, kind: ScanKind, axis: usize },
    /// Per block: the running total of all blocks before it along `axis`
    /// (keepdims shape), from the previous carry and the previous local scan.
    ScanCarry { local: LayerId, kind: ScanKind, axis: usize },
    /// Per block: local scan combined with the carry.
    ScanApply { local: LayerId, carry: LayerId, kind: ScanKind, axis: usize },
    /// Blocks cut from the overlapping input blocks.
    Rechunk { input: LayerId, in_chunks: Chunks },
    /// Each output block is one block of one input.
    Concat { axis: usize, inputs: Vec<LayerId>, starts: Vec<usize> },
    ExpandDims { input: LayerId, axis: usize },
    /// Per axis and output block: (input block, first element in it, count);
    /// each output block is a strided view of one input block.
    Slice { input: LayerId, blocks: Vec<Vec<(usize, usize, usize)>>, steps: Vec<isize> },
    /// Length-1 axes removed (the input has one block along each).
    Squeeze { input: LayerId, axes: Vec<usize> },
    /// Each output block is one input block with its axes reordered
    /// (output axis k is input axis `perm[k]`).
    Transpose { input: LayerId, perm: Vec<usize> },
    /// Each output block is assembled from the input blocks its positions lie in.
    Gather { input: GatherInput },
    /// Block i of the output is block i of the input with the block's new shape.
    Reshape { input: LayerId },
    /// The input broadcast to the layer's blocks (stretched axes are one block of length 1).
    BroadcastTo { input: LayerId, offset: usize },
    /// The diagonal `offset` of a 2-d input: each output block reads the
    /// input blocks its diagonal segment crosses.
    Diagonal { input: LayerId, in_chunks: Chunks, offset: isize },
    /// A 2-d block with the 1-d input on diagonal `offset` (zeros elsewhere).
    Diag { input: LayerId, in_chunks: Chunks, offset: isize },
    /// A user function over the assembled input regions; with `trim`, per
    /// output axis and block the (left, right) halo cut from its result.
    MapBlocks { func: BlockFunc, inputs: Vec<GatherInput>, trim: Option<Vec<Vec<(usize, usize)>>> },
    /// Matrix products and factorizations (see [`linalg`]).
    Linalg(linalg::LinalgLayer),
}

impl LayerKind {
    pub fn name(&self) -> String {
        match self {
            LayerKind::Source { source, .. } => match source {
                Source::Data(_) => "from-array".into(),
                Source::Full(_) => "full".into(),
                Source::Arange { .. } => "arange".into(),
                Source::Linspace { .. } => "linspace".into(),
                Source::Eye => "eye".into(),
                Source::Random { dist, .. } => format!("random-{}", format!("{dist:?}").to_lowercase()),
                Source::Stored { .. } => "read".into(),
            },
            LayerKind::Map { program, inputs } => format!("fused[{program}]{}", inline_names(inputs)),
            LayerKind::ReducePartial { program, spec, inputs, .. } => {
                if program.is_identity() {
                    format!("{}-partial{}", spec.kind.name(), inline_names(inputs))
                } else {
                    format!("{}-partial <- fused[{program}]{}", spec.kind.name(), inline_names(inputs))
                }
            }
            LayerKind::ReduceCombine { spec, finalize, .. } => {
                format!("{}-{}", spec.kind.name(), if *finalize { "final" } else { "combine" })
            }
            LayerKind::ScanLocal { kind, .. } => format!("{}-local", kind.name()),
            LayerKind::ScanCarry { kind, .. } => format!("{}-carry", kind.name()),
            LayerKind::ScanApply { kind, .. } => format!("{}-apply", kind.name()),
            LayerKind::Rechunk { .. } => "rechunk".into(),
            LayerKind::Concat { .. } => "concatenate".into(),
            LayerKind::ExpandDims { .. } => "expand-dims".into(),
            LayerKind::Slice { .. } => "slice".into(),
            LayerKind::Squeeze { .. } => "squeeze".into(),
            LayerKind::Transpose { perm, .. } => format!("transpose{perm:?}"),
            LayerKind::Gather { .. } => "gather".into(),
            LayerKind::Reshape { .. } => "reshape".into(),
            LayerKind::BroadcastTo { .. } => "broadcast".into(),
            LayerKind::Diagonal { .. } => "diagonal".into(),
            LayerKind::Diag { .. } => "diag".into(),
            LayerKind::MapBlocks { func, inputs, .. } => {
                format!("{}{}", func.name, inline_list(inputs.iter().filter_map(|i| i.inline.as_ref())))
            }
            LayerKind::Linalg(l) => l.name(),
        }
    }
}

fn inline_names(inputs: &[InputRef]) -> String {
    inline_list(inputs.iter().filter_map(|i| i.inline.as_ref()))
}

/// " <- inline a, b" for the sources made inside a layer's tasks ("" for none).
fn inline_list<'a>(inlines: impl Iterator<Item = &'a Inline>) -> String {
    let names: Vec<String> =
        inlines.map(|s| LayerKind::Source { source: s.source.clone(), shape: s.shape.clone() }.name()).collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(" <- inline {}", names.join(", "))
    }
}

/// One layer of tasks: a grid of blocks computed the same way.
#[derive(Clone)]
pub struct Layer {
    pub kind: LayerKind,
    /// The task grid (number of blocks per axis).
    pub grid: Vec<usize>,
    /// Block shapes, for layers whose tasks produce array blocks of the
    /// layer's array (not for partials and carries).
    pub chunks: Option<Chunks>,
    pub dtype: DType,
    /// Upper bound of one task's output, in bytes.
    pub block_bytes: u64,
    /// The expression node this layer computes (for plans and errors).
    pub node: String,
}

impl Layer {
    pub fn ntasks(&self) -> usize {
        self.grid.iter().product()
    }
}

/// Layers in dependency order plus the layers whose blocks are the results.
#[derive(Clone, Default)]
pub struct TaskGraph {
    pub layers: Vec<Layer>,
    offsets: Vec<usize>,
    pub outputs: Vec<LayerId>,
}

impl TaskGraph {
    pub fn push(&mut self, layer: Layer) -> LayerId {
        let start = self.offsets.last().copied().unwrap_or(0)
            + self.layers.last().map(|l| l.ntasks()).unwrap_or(0);
        self.offsets.push(start);
        self.layers.push(layer);
        self.layers.len() - 1
    }
    pub fn ntasks(&self) -> usize {
        match self.layers.last() {
            Some(l) => self.offsets[self.layers.len() - 1] + l.ntasks(),
            None => 0,
        }
    }
    pub fn task(&self, layer: LayerId, block: &[usize]) -> TaskId {
        self.offsets[layer] + linear_index(block, &self.layers[layer].grid)
    }
    pub fn first_task(&self, layer: LayerId) -> TaskId {
        self.offsets[layer]
    }
    /// The layer of a task and its block multi-index.
    pub fn locate(&self, task: TaskId, block: &mut Vec<usize>) -> LayerId {
        let l = self.offsets.partition_point(|&o| o <= task) - 1;
        multi_index(task - self.offsets[l], &self.layers[l].grid, block);
        l
    }

    /// The tasks whose outputs task (layer, block) reads, in the order the
    /// executor expects them.
    pub fn deps(&self, layer: LayerId, block: &[usize], out: &mut Vec<TaskId>) {
        out.clear();
        match &self.layers[layer].kind {
            LayerKind::Source { .. } => {}
            LayerKind::Map { inputs, .. } | LayerKind::ReducePartial { inputs, .. } => {
                let mut b = Vec::new();
                for inp in inputs.iter().filter(|i| i.inline.is_none()) {
                    b.clear();
                    for (k, &bc) in inp.bcast.iter().enumerate() {
                        b.push(if bc { 0 } else { block[k + inp.offset] });
                    }
                    out.push(self.task(inp.layer, &b));
                }
            }
            LayerKind::ReduceCombine { input, spec, in_grid, group, finalize, .. } => {
                // the block index over all axes of the reduced array
                let mut full = Vec::with_capacity(in_grid.len());
                let mut it = block.iter();
                for ax in 0..in_grid.len() {
                    let reduced = spec.axes.contains(&ax);
                    if reduced && *finalize && !spec.keepdims {
                        full.push(0);
                    } else {
                        full.push(*it.next().expect("block rank"));
                    }
                }
                let ranges: Vec<(usize, usize)> = (0..in_grid.len())
                    .map(|ax| {
                        let s = full[ax] * group[ax];
                        (s, (s + group[ax]).min(in_grid[ax]))
                    })
                    .collect();
                for_each_in_box(&ranges, |b| out.push(self.task(*input, b)));
            }
            LayerKind::ScanLocal { input, .. } => out.push(self.task(*input, block)),
            LayerKind::ScanCarry { local, axis, .. } => {
                if block[*axis] > 0 {
                    let mut prev = block.to_vec();
                    prev[*axis] -= 1;
                    out.push(self.task(layer, &prev));
                    out.push(self.task(*local, &prev));
                }
            }
            LayerKind::ScanApply { local, carry, .. } => {
                out.push(self.task(*local, block));
                out.push(self.task(*carry, block));
            }
            LayerKind::Rechunk { input, in_chunks } => {
                let out_chunks = self.layers[layer].chunks.as_ref().expect("rechunk has chunks");
                let ranges = rechunk_ranges(in_chunks, out_chunks, block);
                for_each_in_box(&ranges, |b| out.push(self.task(*input, b)));
            }
            LayerKind::Concat { axis, inputs, starts } => {
                let (j, local) = concat_source(starts, block[*axis]);
                let mut b = block.to_vec();
                b[*axis] = local;
                out.push(self.task(inputs[j], &b));
            }
            LayerKind::ExpandDims { input, axis } => {
                let mut b = block.to_vec();
                b.remove(*axis);
                out.push(self.task(*input, &b));
            }
            LayerKind::Slice { input, blocks, .. } => {
                let b: Vec<usize> = blocks.iter().zip(block).map(|(m, &i)| m[i].0).collect();
                out.push(self.task(*input, &b));
            }
            LayerKind::Squeeze { input, axes } => {
                let mut b = block.to_vec();
                for &a in axes {
                    b.insert(a, 0);
                }
                out.push(self.task(*input, &b));
            }
            LayerKind::Transpose { input, perm } => {
                let mut b = vec![0; perm.len()];
                for (k, &p) in perm.iter().enumerate() {
                    b[p] = block[k];
                }
                out.push(self.task(*input, &b));
            }
            LayerKind::Gather { input } => input.deps(self, block, out),
            LayerKind::Reshape { input } => {
                let lin = linear_index(block, &self.layers[layer].grid);
                out.push(self.first_task(*input) + lin);
            }
            LayerKind::BroadcastTo { input, offset } => {
                let grid = &self.layers[*input].grid;
                let b: Vec<usize> = (0..grid.len()).map(|k| if grid[k] == 1 { 0 } else { block[k + offset] }).collect();
                out.push(self.task(*input, &b));
            }
            LayerKind::Diagonal { input, in_chunks, offset } => {
                let chunks = self.layers[layer].chunks.as_ref().expect("diagonal has chunks");
                let (s, n) = (chunks.offset(0, block[0]), chunks.axis(0)[block[0]]);
                for b in diagonal_blocks(in_chunks, *offset, s, s + n) {
                    out.push(self.task(*input, &b));
                }
            }
            LayerKind::Diag { input, in_chunks, offset } => {
                let chunks = self.layers[layer].chunks.as_ref().expect("diag has chunks");
                let (lo, hi) = diag_range(chunks, *offset, block);
                for i in blocks_overlapping(in_chunks, lo, hi) {
                    out.push(self.task(*input, &[i]));
                }
            }
            LayerKind::MapBlocks { inputs, .. } => {
                for i in inputs {
                    i.deps(self, block, out);
                }
            }
            LayerKind::Linalg(l) => l.deps(self, layer, block, out),
        }
    }

    /// A summary of the layers, one a line: tasks and what they compute.
    pub fn explain(&self) -> String {
        let mut s = String::new();
        for (i, l) in self.layers.iter().enumerate() {
            s.push_str(&format!(
                "L{i}: {} tasks={} grid={:?} {} block<={}B{}\n",
                l.kind.name(),
                l.ntasks(),
                l.grid,
                l.dtype,
                l.block_bytes,
                if self.outputs.contains(&i) { "  <- output" } else { "" }
            ));
        }
        s
    }
}

/// The (row block, column block) pairs of a 2-d array chunked as `c` that
/// diagonal `offset` crosses between diagonal positions `lo..hi`, in order.
pub fn diagonal_blocks(c: &Chunks, offset: isize, lo: usize, hi: usize) -> Vec<[usize; 2]> {
    let (r0, c0) = (offset.min(0).unsigned_abs(), offset.max(0) as usize);
    let (rb, cb) = (c.bounds(0), c.bounds(1));
    let mut out: Vec<[usize; 2]> = Vec::new();
    let mut t = lo;
    while t < hi {
        let (r, col) = (t + r0, t + c0);
        let i = rb.partition_point(|&e| e <= r) - 1;
        let j = cb.partition_point(|&e| e <= col) - 1;
        out.push([i, j]);
        // the next position that leaves block (i, j)
        t += (rb[i + 1] - r).min(cb[j + 1] - col);
    }
    out
}

/// Diagonal positions `lo..hi` (of the 1-d input) inside block `block` of a
/// `diag` output chunked as `c`.
pub fn diag_range(c: &Chunks, offset: isize, block: &[usize]) -> (usize, usize) {
    let (r0, c0) = (offset.min(0).unsigned_abs(), offset.max(0) as usize);
    let (rs, cs) = (c.offset(0, block[0]), c.offset(1, block[1]));
    let (re, ce) = (rs + c.axis(0)[block[0]], cs + c.axis(1)[block[1]]);
    let lo = rs.saturating_sub(r0).max(cs.saturating_sub(c0));
    let hi = re.saturating_sub(r0).min(ce.saturating_sub(c0));
    (lo, hi.max(lo))
}

/// The non-empty blocks of the 1-d chunks `c` that overlap positions `lo..hi`.
pub fn blocks_overlapping(c: &Chunks, lo: usize, hi: usize) -> impl Iterator<Item = usize> {
    let b = c.bounds(0);
    (0..c.axis(0).len()).filter(move |&i| b[i] < hi && b[i + 1] > lo && b[i + 1] > b[i])
}

/// Which input, and which of its blocks, block `b` of a concatenation is.
pub fn concat_source(starts: &[usize], b: usize) -> (usize, usize) {
    let j = starts.partition_point(|&s| s <= b) - 1;
    (j, b - starts[j])
}

/// Per axis, the range of input blocks that overlap output block `block`.
pub fn rechunk_ranges(inc: &Chunks, outc: &Chunks, block: &[usize]) -> Vec<(usize, usize)> {
    let mut ranges = Vec::with_capacity(block.len());
    for (ax, &bi) in block.iter().enumerate() {
        let start = outc.offset(ax, bi);
        let end = start + outc.axis(ax)[bi];
        if end == start {
            ranges.push((0, 0));
            continue;
        }
        let sizes = inc.axis(ax);
        let mut acc = 0;
        let mut lo = usize::MAX;
        let mut hi = 0;
        for (i, &s) in sizes.iter().enumerate() {
            let (bs, be) = (acc, acc + s);
            acc = be;
            if s > 0 && bs < end && be > start {
                lo = lo.min(i);
                hi = i + 1;
            }
            if acc >= end {
                break;
            }
        }
        ranges.push(if lo == usize::MAX { (0, 0) } else { (lo, hi) });
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rechunk_ranges_find_overlaps_and_skip_empty_blocks() {
        let inc = Chunks::new(&[10], vec![vec![3, 0, 3, 4]]).unwrap();
        let outc = Chunks::new(&[10], vec![vec![5, 0, 5]]).unwrap();
        assert_eq!(rechunk_ranges(&inc, &outc, &[0]), vec![(0, 3)]);
        assert_eq!(rechunk_ranges(&inc, &outc, &[1]), vec![(0, 0)]);
        assert_eq!(rechunk_ranges(&inc, &outc, &[2]), vec![(2, 4)]);
    }

    #[test]
    fn concat_source_maps_blocks() {
        assert_eq!(concat_source(&[0, 2, 3], 0), (0, 0));
        assert_eq!(concat_source(&[0, 2, 3], 2), (1, 0));
        assert_eq!(concat_source(&[0, 2, 3], 4), (2, 1));
    }
}
