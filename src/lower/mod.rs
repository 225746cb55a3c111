//! Lowering: an optimized `ExprGraph` becomes a `TaskGraph` of layers. Each
//! array node becomes one layer, except reductions (a partial layer, then a
//! tree of combine layers, the last of which finalizes) and scans (local
//! scan, carry chain, apply).

mod linalg;
mod lu;

use std::collections::HashMap;

use crate::chunks::Chunks;
use crate::expr::build::{is_broadcast_axis, layout};
use crate::dtype::Scalar;
use crate::expr::blocks::{halo_positions, Edge};
use crate::expr::{ExprGraph, InAxis, NodeRef, Op, ReduceSpec, Source};
use crate::task::{AxisSource, GatherInput, Inline, InputRef, Layer, LayerId, LayerKind, TaskGraph};

/// Knobs of the lowering.
#[derive(Clone, Debug)]
pub struct LowerOptions {
    /// Most partials merged by one combine task of a tree reduction.
    pub split_every: usize,
    /// Memory is bounded (a memory limit is set): matrix products read
    /// generated and stored operands inside each product task instead of
    /// holding their blocks for every reader (each is read once per output
    /// block column or row, not once).
    pub bounded_memory: bool,
}

impl Default for LowerOptions {
    fn default() -> Self {
        LowerOptions { split_every: 8, bounded_memory: false }
    }
}

/// Lower an (optimized) expression graph.
///
/// Generated and stored sources (constants, ranges, random numbers, Zarr
/// reads: cheap to produce again) get no layer of their own: an elementwise or reduction task reading
/// one makes its block itself, and any other reader gets its own source
/// layer. So their blocks are produced where they are read, never held until
/// a later reader runs: `x - x.mean(0)` holds no block of `x` across the
/// mean. In-memory arrays keep one layer (their blocks are shared, not copied).
pub fn lower(g: &ExprGraph, opts: &LowerOptions) -> TaskGraph {
    let mut tg = TaskGraph::default();
    let mut layer_of: HashMap<u64, LayerId> = HashMap::new();
    let roots: Vec<u64> = g.roots.iter().map(|r| r.id).collect();
    let generated = |n: &NodeRef| matches!(&n.op, Op::Source(s) if s.reproducible()) && !roots.contains(&n.id);
    for n in g.topo() {
        if generated(&n) {
            continue; // made where it is read
        }
        let inlines = matches!(n.op, Op::Map { .. } | Op::Reduce { .. })
            || (opts.bounded_memory && matches!(n.op, Op::Linalg { op: crate::expr::LinalgOp::Tensordot { .. }, .. }));
        let mut local = HashMap::new();
        if !inlines {
            for i in n.inputs() {
                if generated(i) && !gathered_in_place(&n, i) {
                    let l = lower_node(&mut tg, i, &layer_of, opts);
                    local.insert(i.id, l);
                }
            }
        }
        let l = if local.is_empty() {
            lower_node(&mut tg, &n, &layer_of, opts)
        } else {
            let mut view = layer_of.clone();
            view.extend(local);
            lower_node(&mut tg, &n, &view, opts)
        };
        layer_of.insert(n.id, l);
    }
    tg.outputs = g.roots.iter().map(|r| layer_of[&r.id]).collect();
    for l in &mut tg.layers {
        l.block_bytes = match &l.kind {
            // the block, or the whole stored chunk it is decoded from
            LayerKind::Source { .. } => l.block_bytes.max(stored_read_bytes(&l.kind)),
            _ => l.block_bytes.saturating_add(stored_read_bytes(&l.kind)),
        };
    }
    tg
}

/// Bytes a task holds besides its own block while it reads stored data:
/// the stored blocks it reads inline, and where a stored chunk is larger
/// than the block read from it (a chunk reaching far past the array's
/// edge), the rest of the buffer that chunk is decoded into whole.
fn stored_read_bytes(kind: &LayerKind) -> u64 {
    let extra = |s: &Source, block: u64| match s {
        Source::Stored { array, .. } => Some(array.decode_bytes().saturating_sub(block)),
        _ => None,
    };
    match kind {
        LayerKind::Source { source: Source::Stored { array, .. }, .. } => array.decode_bytes(),
        LayerKind::Map { inputs, .. } | LayerKind::ReducePartial { inputs, .. } => {
            let stored = inputs.iter().filter_map(|r| r.inline.as_ref()).filter_map(|i| {
                let block = crate::size::saturating_bytes(i.chunks.max_block_elems(), i.dtype.size());
                extra(&i.source, block).map(|e| (block, e))
            });
            let (blocks, most) = stored.fold((0u64, 0u64), |(b, m), (block, e)| (b.saturating_add(block), m.max(e)));
            // a reduction of the stored block itself already counts it as its input
            let identity = matches!(kind, LayerKind::ReducePartial { program, .. } if program.is_identity());
            if identity { most } else { blocks.saturating_add(most) }
        }
        _ => 0,
    }
}

/// A random f64 source read by a block function (`map_blocks`,
/// `map_overlap`, `blockwise`): each task generates the region it reads
/// (for `map_overlap`, its block and halo) instead of holding the source's
/// blocks until every neighbour has read them.
fn gathered_in_place(n: &NodeRef, input: &NodeRef) -> bool {
    matches!(n.op, Op::MapBlocks { .. })
        && matches!(input.op, Op::Source(Source::Random { .. }))
        && input.dtype == crate::dtype::DType::F64
}

fn array_layer(n: &NodeRef, kind: LayerKind) -> Layer {
    Layer {
        kind,
        grid: n.chunks.numblocks(),
        chunks: Some(n.chunks.clone()),
        dtype: n.dtype,
        block_bytes: n.max_block_bytes(),
        node: n.signature(),
    }
}

fn input_refs(inputs: &[NodeRef], out_shape: &[usize], layer_of: &HashMap<u64, LayerId>) -> Vec<InputRef> {
    inputs
        .iter()
        .map(|i| {
            let inline = match (&i.op, layer_of.get(&i.id)) {
                (Op::Source(s), None) => {
                    Some(Inline { source: s.clone(), shape: i.shape.clone(), chunks: i.chunks.clone(), dtype: i.dtype })
                }
                _ => None,
            };
            InputRef {
                layer: layer_of.get(&i.id).copied().unwrap_or(usize::MAX),
                offset: out_shape.len() - i.shape.len(),
                bcast: (0..i.shape.len()).map(|k| is_broadcast_axis(&i.shape, k, out_shape)).collect(),
                inline,
            }
        })
        .collect()
}

fn lower_node(tg: &mut TaskGraph, n: &NodeRef, layer_of: &HashMap<u64, LayerId>, opts: &LowerOptions) -> LayerId {
    match &n.op {
        Op::Source(s) => tg.push(array_layer(n, LayerKind::Source { source: s.clone(), shape: n.shape.clone() })),
        Op::Map { program, inputs } => {
            let inputs = input_refs(inputs, &n.shape, layer_of);
            tg.push(array_layer(n, LayerKind::Map { program: program.clone(), inputs }))
        }
        Op::Rechunk { input } => {
            tg.push(array_layer(n, LayerKind::Rechunk { input: layer_of[&input.id], in_chunks: input.chunks.clone() }))
        }
        Op::ExpandDims { axis, input } => {
            tg.push(array_layer(n, LayerKind::ExpandDims { input: layer_of[&input.id], axis: *axis }))
        }
        Op::Slice { axes, input } => {
            let blocks = axes.iter().enumerate().map(|(k, a)| crate::expr::slice::axis_blocks(input.chunks.axis(k), a)).collect();
            let steps = axes.iter().map(|a| a.step).collect();
            tg.push(array_layer(n, LayerKind::Slice { input: layer_of[&input.id], blocks, steps }))
        }
        Op::Squeeze { axes, input } => {
            tg.push(array_layer(n, LayerKind::Squeeze { input: layer_of[&input.id], axes: axes.clone() }))
        }
        Op::Concat { axis, inputs } => {
            let mut starts = Vec::with_capacity(inputs.len());
            let mut acc = 0;
            for i in inputs {
                starts.push(acc);
                acc += i.chunks.numblocks()[*axis];
            }
            let inputs = inputs.iter().map(|i| layer_of[&i.id]).collect();
            tg.push(array_layer(n, LayerKind::Concat { axis: *axis, inputs, starts }))
        }
        Op::Scan { kind, axis, input } => {
            let base = array_layer(n, LayerKind::ScanLocal { input: layer_of[&input.id], kind: *kind, axis: *axis });
            let local = tg.push(base.clone());
            let mut carry_chunks = n.chunks.to_vec();
            carry_chunks[*axis] = vec![1; carry_chunks[*axis].len()];
            let carry_chunks = Chunks::from_sizes_unchecked(carry_chunks);
            let carry = tg.push(Layer {
                kind: LayerKind::ScanCarry { local, kind: *kind, axis: *axis },
                block_bytes: crate::size::saturating_bytes(carry_chunks.max_block_elems(), n.dtype.size()),
                chunks: Some(carry_chunks),
                ..base.clone()
            });
            tg.push(Layer { kind: LayerKind::ScanApply { local, carry, kind: *kind, axis: *axis }, ..base })
        }
        Op::Reduce { spec, program, inputs } => lower_reduce(tg, n, spec, program, inputs, layer_of, opts),
        Op::Transpose { perm, input } => {
            tg.push(array_layer(n, LayerKind::Transpose { input: layer_of[&input.id], perm: perm.clone() }))
        }
        Op::Reshape { input } => tg.push(array_layer(n, LayerKind::Reshape { input: layer_of[&input.id] })),
        Op::BroadcastTo { input } => tg.push(array_layer(
            n,
            LayerKind::BroadcastTo { input: layer_of[&input.id], offset: n.shape.len() - input.shape.len() },
        )),
        Op::Diagonal { offset, input } => tg.push(array_layer(
            n,
            LayerKind::Diagonal { input: layer_of[&input.id], in_chunks: input.chunks.clone(), offset: *offset },
        )),
        Op::Diag { offset, input } => tg.push(array_layer(
            n,
            LayerKind::Diag { input: layer_of[&input.id], in_chunks: input.chunks.clone(), offset: *offset },
        )),
        Op::Gather { maps, fill, input } => {
            let axes = maps
                .iter()
                .enumerate()
                .map(|(k, m)| match m {
                    None => AxisSource::Block(k),
                    Some(m) => {
                        let mut pos = Vec::new();
                        let mut s = 0;
                        for &c in n.chunks.axis(k) {
                            pos.push(m[s..s + c].to_vec());
                            s += c;
                        }
                        AxisSource::positions(k, pos, input.chunks.axis(k))
                    }
                })
                .collect();
            let input = GatherInput { layer: layer_of[&input.id], in_chunks: input.chunks.clone(), axes, fill: *fill, inline: None };
            tg.push(array_layer(n, LayerKind::Gather { input }))
        }
        Op::MapBlocks { func, inputs, axes, halo } => {
            let mut gin = Vec::with_capacity(inputs.len());
            for (inp, ax) in inputs.iter().zip(axes) {
                let sources = ax
                    .iter()
                    .enumerate()
                    .map(|(k, a)| match (a, halo) {
                        (InAxis::Whole, _) => AxisSource::Single,
                        (InAxis::Out(o), Some(h)) if h.depth[k] > 0 => AxisSource::positions(
                            *o,
                            halo_positions(inp.chunks.axis(k), h.depth[k], h.boundary),
                            inp.chunks.axis(k),
                        ),
                        (InAxis::Out(o), _) => AxisSource::Block(*o),
                    })
                    .collect();
                let fill = halo.as_ref().map(|h| h.fill).unwrap_or_else(|| Scalar::F64(0.0).cast(inp.dtype));
                let (layer, inline) = match (layer_of.get(&inp.id), &inp.op) {
                    (Some(&l), _) => (l, None),
                    (None, Op::Source(s)) => {
                        (usize::MAX, Some(Inline { source: s.clone(), shape: inp.shape.clone(), chunks: inp.chunks.clone(), dtype: inp.dtype }))
                    }
                    (None, _) => unreachable!("only generated sources have no layer"),
                };
                gin.push(GatherInput { layer, in_chunks: inp.chunks.clone(), axes: sources, fill, inline });
            }
            let trim = halo.as_ref().map(|h| {
                (0..n.shape.len())
                    .map(|k| {
                        let sizes = n.chunks.axis(k);
                        let nb = sizes.len();
                        (0..nb)
                            .map(|b| {
                                let d = h.depth[k];
                                if h.boundary == Edge::None {
                                    let start = n.chunks.offset(k, b);
                                    let end = start + sizes[b];
                                    (d.min(start), d.min(n.shape[k] - end))
                                } else {
                                    (d, d)
                                }
                            })
                            .collect()
                    })
                    .collect()
            });
            tg.push(array_layer(n, LayerKind::MapBlocks { func: func.clone(), inputs: gin, trim }))
        }
        Op::Linalg { op, inputs } => linalg::lower_linalg(tg, n, op, inputs, layer_of, opts),
    }
}

fn lower_reduce(
    tg: &mut TaskGraph,
    n: &NodeRef,
    spec: &ReduceSpec,
    program: &crate::expr::Program,
    inputs: &[NodeRef],
    layer_of: &HashMap<u64, LayerId>,
    opts: &LowerOptions,
) -> LayerId {
    let (in_shape, in_chunks) = layout(inputs).expect("inputs of a built reduction broadcast");
    let in_dtype = program.output_dtype();
    let in_grid = in_chunks.numblocks();
    // a partial: up to three f64 fields per element of the keepdims block
    let part_elems: usize = (0..in_shape.len())
        .map(|ax| if spec.axes.contains(&ax) { 1 } else { in_chunks.max_block()[ax] })
        .product();
    let part_bytes = crate::size::saturating_bytes(part_elems, 24);
    let partial = tg.push(Layer {
        kind: LayerKind::ReducePartial {
            program: program.clone(),
            inputs: input_refs(inputs, &in_shape, layer_of),
            spec: spec.clone(),
            in_chunks: in_chunks.clone(),
            in_dtype,
        },
        grid: in_grid.clone(),
        chunks: None,
        dtype: n.dtype,
        block_bytes: part_bytes.max(crate::size::saturating_bytes(in_chunks.max_block_elems(), in_dtype.size())),
        node: n.signature(),
    });
    let split = opts.split_every.max(2);
    let mut cur = partial;
    let mut grid = in_grid;
    loop {
        let total: usize = spec.axes.iter().map(|&a| grid[a]).product();
        let finalize = total <= split;
        let mut group = vec![1usize; grid.len()];
        if finalize {
            for &a in &spec.axes {
                group[a] = grid[a];
            }
        } else {
            let mut budget = split;
            for &a in spec.axes.iter().rev() {
                let g = grid[a].min(budget.max(1));
                group[a] = g;
                budget /= g.max(1);
            }
        }
        let next_grid: Vec<usize> = grid.iter().zip(&group).map(|(&g, &s)| g.div_ceil(s.max(1))).collect();
        let kind = LayerKind::ReduceCombine {
            input: cur,
            spec: spec.clone(),
            in_grid: grid.clone(),
            group,
            finalize,
            in_dtype,
        };
        if finalize {
            return tg.push(array_layer(n, kind));
        }
        cur = tg.push(Layer {
            kind,
            grid: next_grid.clone(),
            chunks: None,
            dtype: n.dtype,
            block_bytes: part_bytes,
            node: n.signature(),
        });
        grid = next_grid;
    }
}
