//! The expression graph: whole-array operations as immutable nodes
//! (`Node`, `Op`) with their shape, element type and chunks inferred when they
//! are built. Plain data: no ndarray, no threads. `Array<T>` holds an
//! `Arc<Node>`; `ExprGraph` is the set of nodes reachable from some roots.

pub mod blocks;
pub mod build;
pub mod explain;
pub mod graph;
pub mod identity;
pub mod linalg;
pub mod lu;
pub mod program;
pub mod reduce;
pub mod reshape;
pub mod shape_ops;
pub mod slice;

use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::chunks::Chunks;
use crate::dtype::{DType, Scalar};

pub use graph::ExprGraph;
pub use program::{BinaryOp, Instr, Program, Reg, UnaryOp};
pub use blocks::{BlockFunc, Halo, InAxis};
pub use linalg::{DenseOp, LinalgOp};
pub use reduce::{ReduceKind, ReduceSpec, ScanKind};

pub type NodeRef = Arc<Node>;

/// One whole-array operation.
pub struct Node {
    pub id: u64,
    pub op: Op,
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub chunks: Chunks,
}

/// Data held in memory by a source; the executor that runs it knows its type.
pub type SourceData = Arc<dyn Any + Send + Sync>;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Distribution {
    /// Uniform on [a, b).
    Uniform,
    /// Normal with mean a and standard deviation b.
    Normal,
}

/// An array held in a store (a Zarr array). The expression graph knows only
/// this description; the executor downcasts `as_any` to the store's type.
pub trait StoredArray: Send + Sync {
    /// Where the array lives, for plans and errors (e.g. `zarr:/data/t2m.zarr`).
    fn describe(&self) -> String;
    /// The full stored shape.
    fn stored_shape(&self) -> &[usize];
    fn as_any(&self) -> &dyn Any;
    /// Whether `other` reads the same stored data: the same store (its
    /// canonical location, not its description) with the same metadata.
    fn same_array(&self, other: &dyn StoredArray) -> bool;
    /// Bytes of the largest stored unit (chunk, or inner chunk of a shard)
    /// one read decodes whole: a read holds that much besides its block.
    fn decode_bytes(&self) -> u64;
}

/// Operations without array inputs.
#[derive(Clone)]
pub enum Source {
    /// An in-memory array (`from_ndarray`).
    Data(SourceData),
    /// Every element the same value (`zeros`, `ones`, `full`).
    Full(Scalar),
    /// Element i is `start + i * step` (1-d), computed in the element type.
    Arange { start: Scalar, step: Scalar },
    /// Element i is `start + i * step`, the last one exactly `stop` (1-d, f64).
    Linspace { start: f64, stop: f64, num: usize },
    /// The identity matrix.
    Eye,
    /// Counter-based random numbers: element at flat index i depends on (seed, i) only.
    Random { dist: Distribution, a: f64, b: f64, seed: u64 },
    /// The region of a stored array starting at `origin` with the node's
    /// shape: element i of the node is element `origin + i` of the store.
    /// Read inside the tasks that use it (like a generated source): reading
    /// again is cheaper than holding blocks.
    Stored { array: Arc<dyn StoredArray>, origin: Vec<usize> },
}

impl Source {
    /// Sources whose blocks are cheap to make again (everything but in-memory data).
    pub fn reproducible(&self) -> bool {
        !matches!(self, Source::Data(_))
    }
}

/// What a node computes from its inputs.
#[derive(Clone)]
pub enum Op {
    Source(Source),
    /// A fused elementwise program; inputs broadcast to the node's shape and
    /// are chunked like it on every axis they do not broadcast along.
    Map { program: Program, inputs: Vec<NodeRef> },
    /// A reduction of `program` applied to `inputs` (the fused chain that feeds it).
    Reduce { spec: ReduceSpec, program: Program, inputs: Vec<NodeRef> },
    /// Cumulative sum or product along an axis.
    Scan { kind: ScanKind, axis: usize, input: NodeRef },
    /// The input with the node's chunks.
    Rechunk { input: NodeRef },
    /// Inputs joined along an axis; their chunks along it follow each other.
    Concat { axis: usize, inputs: Vec<NodeRef> },
    /// A new axis of length 1 at `axis`.
    ExpandDims { axis: usize, input: NodeRef },
    /// A strided selection along every axis (rank kept).
    Slice { axes: Vec<slice::AxisSlice>, input: NodeRef },
    /// Axes of length 1 removed.
    Squeeze { axes: Vec<usize>, input: NodeRef },
    /// Axes reordered: output axis k is input axis `perm[k]`.
    Transpose { perm: Vec<usize>, input: NodeRef },
    /// Per axis, either the input's positions as they are (`None`, chunks
    /// kept) or, for each output position, the input position it copies
    /// (`-1`: the `fill` value). Takes, rolls, pads, tiles and repeats.
    Gather { maps: Vec<Option<std::sync::Arc<Vec<i64>>>>, fill: Scalar, input: NodeRef },
    /// The same elements in row-major order with the node's shape. The input
    /// is chunked so that every block reshapes on its own (see `reshape.rs`):
    /// block i of the output is block i of the input.
    Reshape { input: NodeRef },
    /// The input broadcast to the node's shape (NumPy rules; stretched axes
    /// of the input are one block of length 1).
    BroadcastTo { input: NodeRef },
    /// The diagonal `offset` of a 2-d input (1-d result).
    Diagonal { offset: isize, input: NodeRef },
    /// A 2-d array with the 1-d input on its diagonal `offset`, zeros elsewhere.
    Diag { offset: isize, input: NodeRef },
    /// A user function applied to blocks (`map_blocks`, `blockwise`,
    /// `map_overlap`): for each output block, each input contributes the
    /// block its `axes` select (grown by `halo` for `map_overlap`).
    MapBlocks { func: BlockFunc, inputs: Vec<NodeRef>, axes: Vec<Vec<InAxis>>, halo: Option<Halo> },
    /// Matrix products and factorizations (see [`linalg`]).
    Linalg { op: LinalgOp, inputs: Vec<NodeRef> },
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Node {
    pub fn new(op: Op, shape: Vec<usize>, dtype: DType, chunks: Chunks) -> NodeRef {
        debug_assert_eq!(chunks.shape(), shape);
        Arc::new(Node { id: NEXT_ID.fetch_add(1, Ordering::Relaxed), op, shape, dtype, chunks })
    }
    /// [`Node::new`] for a shape derived from user input: refused when its
    /// element or byte count does not fit or its blocks are too many (see
    /// [`crate::size`]), so that every node's sizes can be multiplied freely.
    pub fn try_new(op: Op, shape: Vec<usize>, dtype: DType, chunks: Chunks) -> crate::error::Result<NodeRef> {
        crate::size::shape_elems(&shape, dtype.size())?;
        crate::size::check_numblocks(&shape, &chunks.numblocks())?;
        Ok(Node::new(op, shape, dtype, chunks))
    }
    pub fn inputs(&self) -> Vec<&NodeRef> {
        match &self.op {
            Op::Source(_) => vec![],
            Op::Map { inputs, .. }
            | Op::Reduce { inputs, .. }
            | Op::Concat { inputs, .. }
            | Op::MapBlocks { inputs, .. }
            | Op::Linalg { inputs, .. } => inputs.iter().collect(),
            Op::Scan { input, .. }
            | Op::Rechunk { input }
            | Op::ExpandDims { input, .. }
            | Op::Slice { input, .. }
            | Op::Squeeze { input, .. }
            | Op::Transpose { input, .. }
            | Op::Gather { input, .. }
            | Op::Reshape { input }
            | Op::BroadcastTo { input }
            | Op::Diagonal { input, .. }
            | Op::Diag { input, .. } => vec![input],
        }
    }
    /// A copy of this node's operation with other inputs (same order and count).
    pub fn with_inputs(&self, new: Vec<NodeRef>) -> Op {
        let mut it = new.into_iter();
        let mut one = || it.next().expect("input count matches");
        match &self.op {
            Op::Source(s) => Op::Source(s.clone()),
            Op::Map { program, inputs } => {
                Op::Map { program: program.clone(), inputs: inputs.iter().map(|_| one()).collect() }
            }
            Op::Reduce { spec, program, inputs } => Op::Reduce {
                spec: spec.clone(),
                program: program.clone(),
                inputs: inputs.iter().map(|_| one()).collect(),
            },
            Op::Concat { axis, inputs } => {
                Op::Concat { axis: *axis, inputs: inputs.iter().map(|_| one()).collect() }
            }
            Op::Scan { kind, axis, .. } => Op::Scan { kind: *kind, axis: *axis, input: one() },
            Op::Rechunk { .. } => Op::Rechunk { input: one() },
            Op::ExpandDims { axis, .. } => Op::ExpandDims { axis: *axis, input: one() },
            Op::Slice { axes, .. } => Op::Slice { axes: axes.clone(), input: one() },
            Op::Squeeze { axes, .. } => Op::Squeeze { axes: axes.clone(), input: one() },
            Op::Transpose { perm, .. } => Op::Transpose { perm: perm.clone(), input: one() },
            Op::Gather { maps, fill, .. } => Op::Gather { maps: maps.clone(), fill: *fill, input: one() },
            Op::Reshape { .. } => Op::Reshape { input: one() },
            Op::BroadcastTo { .. } => Op::BroadcastTo { input: one() },
            Op::Diagonal { offset, .. } => Op::Diagonal { offset: *offset, input: one() },
            Op::Diag { offset, .. } => Op::Diag { offset: *offset, input: one() },
            Op::MapBlocks { func, inputs, axes, halo } => Op::MapBlocks {
                func: func.clone(),
                inputs: inputs.iter().map(|_| one()).collect(),
                axes: axes.clone(),
                halo: halo.clone(),
            },
            Op::Linalg { op, inputs } => Op::Linalg { op: op.clone(), inputs: inputs.iter().map(|_| one()).collect() },
        }
    }
    /// A description of the operation without its inputs, for plans and
    /// errors. It abbreviates long parameters (index lists, chunk lists), so
    /// it never decides that two nodes are the same: [`identity::same_node`] does.
    pub fn signature(&self) -> String {
        let base = match &self.op {
            Op::Source(s) => match s {
                Source::Data(d) => format!("data@{:p}", Arc::as_ptr(d) as *const u8),
                Source::Full(v) => format!("full({v})"),
                Source::Arange { start, step } => format!("arange(start={start}, step={step})"),
                Source::Linspace { start, stop, num } => format!("linspace({start:?}, {stop:?}, {num})"),
                Source::Eye => "eye".to_string(),
                Source::Random { dist, a, b, seed } => {
                    format!("random_{}({a:?}, {b:?}, seed={seed})", format!("{dist:?}").to_lowercase())
                }
                Source::Stored { array, origin } => {
                    if origin.iter().all(|&o| o == 0) && array.stored_shape() == self.shape.as_slice() {
                        format!("read({})", array.describe())
                    } else {
                        format!("read({} from {origin:?})", array.describe())
                    }
                }
            },
            Op::Map { program, .. } => format!("map[{program}]"),
            Op::Reduce { spec, program, .. } => {
                if program.is_identity() {
                    spec.describe()
                } else {
                    format!("{} <- fused[{program}]", spec.describe())
                }
            }
            Op::Scan { kind, axis, .. } => format!("{}(axis={axis})", kind.name()),
            Op::Rechunk { .. } => "rechunk".to_string(),
            Op::Concat { axis, .. } => format!("concatenate(axis={axis})"),
            Op::ExpandDims { axis, .. } => format!("expand_dims(axis={axis})"),
            Op::Slice { axes, .. } => {
                let parts: Vec<String> = axes
                    .iter()
                    .map(|a| if a.step == 1 { format!("{}..{}", a.start, a.start + a.len) } else { format!("{}+{}*{}", a.start, a.step, a.len) })
                    .collect();
                format!("slice[{}]", parts.join(", "))
            }
            Op::Squeeze { axes, .. } => format!("squeeze(axes={axes:?})"),
            Op::Transpose { perm, .. } => format!("transpose{perm:?}"),
            Op::Gather { maps, fill, .. } => blocks::describe_gather(maps, *fill),
            Op::Reshape { .. } => "reshape".to_string(),
            Op::BroadcastTo { .. } => "broadcast_to".to_string(),
            Op::Diagonal { offset, .. } => format!("diagonal(offset={offset})"),
            Op::Diag { offset, .. } => format!("diag(offset={offset})"),
            Op::MapBlocks { func, halo, .. } => match halo {
                None => format!("{}#{}", func.name, func.id()),
                Some(h) => format!("{}#{} depth={:?} boundary={}", func.name, func.id(), h.depth, h.boundary),
            },
            Op::Linalg { op, .. } => op.name(),
        };
        format!("{base} {} {:?} chunks={}", self.dtype, self.shape, self.chunks.describe())
    }
    /// Bytes of the largest block of this node.
    pub fn max_block_bytes(&self) -> u64 {
        crate::size::saturating_bytes(self.chunks.max_block_elems(), self.dtype.size())
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Node#{} {}", self.id, self.signature())
    }
}
