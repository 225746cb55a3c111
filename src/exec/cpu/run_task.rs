//! Running one task: the block computation of each layer kind.

use std::borrow::Cow;
use std::sync::Arc;

use ndarray::{ArrayD, Axis, IxDyn};

use super::chunk::{typed, Chunk, HostElement};
use super::gather;
use super::interp::{self, TileInput};
use super::out_buf::Region;
use super::reduce::{self, Partial};
use super::scalar_ops::Arith;
use super::source::{source_block, stored_read, RandomBlock, ReadReq, Reads};
use crate::dtype::{Element, Prim};
use crate::error::{Error, Result};
use crate::expr::ScanKind;
use crate::task::{InputRef, LayerId, LayerKind, TaskGraph, TaskId};

/// What a task produces.
#[derive(Debug)]
pub enum Value {
    Block(Chunk),
    Partial(Partial),
}

impl Value {
    pub fn nbytes(&self) -> u64 {
        match self {
            Value::Block(c) => c.nbytes(),
            Value::Partial(p) => p.iter().map(|c| c.nbytes()).sum(),
        }
    }
    pub fn block(&self) -> Result<&Chunk> {
        match self {
            Value::Block(c) => Ok(c),
            Value::Partial(_) => Err(Error::Execution("internal: expected a block, got a partial".into())),
        }
    }
    fn partial(&self) -> Result<&Partial> {
        match self {
            Value::Partial(p) => Ok(p),
            Value::Block(_) => Err(Error::Execution("internal: expected a partial, got a block".into())),
        }
    }
}

/// The result of a task that only passes an input on (no copy).
pub enum Output {
    New(Value),
    Same(Arc<Value>),
}

/// Compute task (`layer`, `block`) from its inputs (in `TaskGraph::deps`
/// order); stored blocks are read through `reads`.
pub fn run(g: &TaskGraph, layer: LayerId, block: &[usize], deps: &[TaskId], inputs: &[Arc<Value>], reads: Reads<'_>) -> Result<Output> {
    let l = &g.layers[layer];
    let new = |c: Chunk| Ok(Output::New(Value::Block(c)));
    match &l.kind {
        LayerKind::Source { source, shape } => match source {
            // in-memory blocks are passed on, not copied
            crate::expr::Source::Data(d) => {
                let blocks = d
                    .downcast_ref::<super::source::InMemoryBlocks>()
                    .ok_or_else(|| Error::Execution("internal: in-memory source of an unknown kind".into()))?;
                let chunks = l.chunks.as_ref().expect("source layers have chunks");
                Ok(Output::Same(blocks.0[crate::chunks::linear_index(block, &chunks.numblocks())].clone()))
            }
            _ => new(source_block(source, shape, l.chunks.as_ref().expect("source layers have chunks"), block, l.dtype, reads)?),
        },
        LayerKind::Map { program, inputs: refs } => {
            let chunks = l.chunks.as_ref().expect("map layers have chunks");
            let made = make_inline(refs, block, reads)?;
            let ins = gather_inputs(refs, &made, inputs)?;
            new(interp::eval(program, &ins, &chunks.block_shape(block))?)
        }
        LayerKind::ReducePartial { program, spec, in_chunks, inputs: refs, .. } => {
            let made = make_inline(refs, block, reads)?;
            let ins = gather_inputs(refs, &made, inputs)?;
            let shape = in_chunks.block_shape(block);
            // where the reduced axis starts in the array (argmin/argmax positions)
            let off = spec.axes.first().map(|&a| in_chunks.offset(a, block[a])).unwrap_or(0);
            if !program.is_identity() && spec.axes.len() == shape.len() && !shape.is_empty() {
                // the fused block never exists: tiles go straight into the reduction
                let p = reduce::partial_of_program_all_axes(spec, program, &ins, &shape, off)?;
                return Ok(Output::New(Value::Partial(p)));
            }
            // an identity program over a block reduces the block itself (eval
            // would copy it: 7% of W5)
            let evaluated;
            let data = match ins.first() {
                Some(interp::TileInput::Block(c)) if program.is_identity() => *c,
                _ => {
                    evaluated = interp::eval(program, &ins, &shape)?;
                    &evaluated
                }
            };
            Ok(Output::New(Value::Partial(reduce::partial(spec, data, off)?)))
        }
        LayerKind::ReduceCombine { spec, finalize, in_dtype, .. } => {
            let parts: Vec<&Partial> = inputs.iter().map(|v| v.partial()).collect::<Result<_>>()?;
            let merged = reduce::combine(spec, *in_dtype, &parts)?;
            if *finalize {
                new(reduce::finalize(spec, *in_dtype, &merged)?)
            } else {
                Ok(Output::New(Value::Partial(merged)))
            }
        }
        LayerKind::ScanLocal { kind, axis, .. } => new(scan_local(*kind, *axis, inputs[0].block()?)?),
        LayerKind::ScanCarry { kind, axis, .. } => {
            if inputs.is_empty() {
                let chunks = l.chunks.as_ref().expect("carry layers have chunks");
                let one = match kind {
                    ScanKind::CumSum => Prim::I(0),
                    ScanKind::CumProd => Prim::I(1),
                };
                let d = l.dtype;
                let v = crate::dispatch_dtype!(d, T => T::from_prim(one).to_scalar());
                return new(Chunk::full(&chunks.block_shape(block), v));
            }
            new(scan_carry(*kind, *axis, inputs[0].block()?, inputs[1].block()?)?)
        }
        LayerKind::ScanApply { kind, .. } => new(scan_apply(*kind, inputs[0].block()?, inputs[1].block()?)?),
        LayerKind::Rechunk { in_chunks, .. } => {
            let out_chunks = l.chunks.as_ref().expect("rechunk layers have chunks");
            let shape = out_chunks.block_shape(block);
            let start = out_chunks.block_start(block);
            let mut bidx = Vec::new();
            // a block that is exactly one input block is passed on
            if inputs.len() == 1 {
                g.locate(deps[0], &mut bidx);
                if in_chunks.block_shape(&bidx) == shape
                    && (0..bidx.len()).all(|k| in_chunks.offset(k, bidx[k]) == start[k])
                {
                    return Ok(Output::Same(inputs[0].clone()));
                }
            }
            let mut out = Chunk::zeros(l.dtype, &shape);
            for (v, &t) in inputs.iter().zip(deps.iter()) {
                g.locate(t, &mut bidx);
                let src_start: Vec<usize> = (0..bidx.len()).map(|k| in_chunks.offset(k, bidx[k])).collect();
                out.copy_overlap(&start, v.block()?, &src_start)?;
            }
            new(out)
        }
        LayerKind::Concat { .. } => Ok(Output::Same(inputs[0].clone())),
        LayerKind::ExpandDims { axis, .. } => new(inputs[0].block()?.clone().insert_axis(*axis)),
        LayerKind::Slice { blocks, steps, .. } => {
            let sl: Vec<ndarray::SliceInfoElem> = blocks
                .iter()
                .zip(block)
                .zip(steps)
                .map(|((m, &i), &step)| {
                    let (_, first, n) = m[i];
                    let k = step.unsigned_abs();
                    let (lo, hi) = if n == 0 {
                        (0, 0)
                    } else if step > 0 {
                        (first, first + (n - 1) * k + 1)
                    } else {
                        (first - (n - 1) * k, first + 1)
                    };
                    ndarray::SliceInfoElem::Slice { start: lo as isize, end: Some(hi as isize), step }
                })
                .collect();
            let src = inputs[0].block()?;
            new(crate::with_chunk!(src, a, T => T::wrap(a.slice(sl.as_slice()).to_owned())))
        }
        LayerKind::Squeeze { axes, .. } => {
            let src = inputs[0].block()?;
            new(crate::with_chunk!(src, a, T => {
                let mut v = a.clone();
                for &ax in axes.iter().rev() {
                    v = v.index_axis_move(Axis(ax), 0);
                }
                T::wrap(v)
            }))
        }
        LayerKind::Transpose { perm, .. } => new(gather::transpose(inputs[0].block()?, perm)),
        LayerKind::Gather { input } => match gather::assemble(input, block, inputs)? {
            Cow::Borrowed(_) => Ok(Output::Same(inputs[0].clone())),
            Cow::Owned(c) => new(c),
        },
        LayerKind::Reshape { .. } => {
            let chunks = l.chunks.as_ref().expect("reshape layers have chunks");
            new(inputs[0].block()?.clone().reshaped(&chunks.block_shape(block))?)
        }
        LayerKind::BroadcastTo { .. } => {
            let chunks = l.chunks.as_ref().expect("broadcast layers have chunks");
            new(gather::broadcast(inputs[0].block()?, &chunks.block_shape(block))?)
        }
        LayerKind::Diagonal { in_chunks, offset, .. } => {
            let chunks = l.chunks.as_ref().expect("diagonal layers have chunks");
            let (lo, n) = (chunks.offset(0, block[0]), chunks.axis(0)[block[0]]);
            if n == 0 {
                return new(Chunk::zeros(l.dtype, &[0]));
            }
            new(gather::diagonal(in_chunks, *offset, lo, n, inputs)?)
        }
        LayerKind::Diag { in_chunks, offset, .. } => {
            let chunks = l.chunks.as_ref().expect("diag layers have chunks");
            new(gather::diag(chunks, in_chunks, *offset, block, l.dtype, inputs)?)
        }
        LayerKind::MapBlocks { func, inputs: gins, trim } => {
            let chunks = l.chunks.as_ref().expect("block function layers have chunks");
            new(run_block_fn(func, gins, trim.as_deref(), chunks, l.dtype, block, g, inputs)?)
        }
        LayerKind::Linalg(kind) => super::linalg::run(g, kind, layer, block, inputs, reads),
    }
}

/// Compute task (`layer`, `block`) straight into `dst`, its block's region
/// of an output array, when the layer's kind allows it (a fused program
/// over the block): true when written; false, with nothing written, when
/// the caller must [`run`] the task and copy its block.
///
/// # Safety
/// Nothing else reads or writes the region while this runs.
pub unsafe fn run_into(g: &TaskGraph, layer: LayerId, block: &[usize], inputs: &[Arc<Value>], reads: Reads<'_>, dst: &Region) -> Result<bool> {
    match &g.layers[layer].kind {
        LayerKind::Map { program, inputs: refs } if !program.is_identity() => {
            let made = make_inline(refs, block, reads)?;
            let ins = gather_inputs(refs, &made, inputs)?;
            // SAFETY: the caller's promise
            unsafe { interp::eval_into(program, &ins, dst)? };
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// A user block function: assemble each input's region, call, check the
/// result's shape and type, cut the halo.
#[allow(clippy::too_many_arguments)]
fn run_block_fn(
    func: &crate::expr::BlockFunc,
    gins: &[crate::task::GatherInput],
    trim: Option<&[Vec<(usize, usize)>]>,
    chunks: &crate::chunks::Chunks,
    dtype: crate::DType,
    block: &[usize],
    g: &TaskGraph,
    inputs: &[Arc<Value>],
) -> Result<Chunk> {
    let f = func
        .func
        .downcast_ref::<super::blockfn::CpuBlockFn>()
        .ok_or_else(|| Error::NotImplemented(format!("block function `{}` has no CPU form", func.name)))?;
    let mut regions = Vec::with_capacity(gins.len());
    let mut at = 0;
    let mut deps = Vec::new();
    for gi in gins {
        deps.clear();
        gi.deps(g, block, &mut deps);
        let vals = &inputs[at..at + deps.len()];
        at += deps.len();
        regions.push(match &gi.inline {
            None => gather::assemble(gi, block, vals)?,
            Some(s) => {
                let gen = RandomBlock::whole(&s.source, &s.shape)
                    .ok_or_else(|| Error::Execution("internal: an inline gathered source that is not random".into()))?;
                Cow::Owned(gather::generate(gi, block, &gen)?)
            }
        });
    }
    let refs: Vec<&Chunk> = regions.iter().map(|c| c.as_ref()).collect();
    // a panic in the user's function is the user's: say which function and block
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (f.0)(&refs))).unwrap_or_else(|p| {
        let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
        Err(Error::Execution(format!(
            "{}: the user function `{}` panicked on block {block:?}: {}",
            func.name,
            f.1,
            msg.unwrap_or_else(|| "no message".into())
        )))
    })?;
    let mut want = chunks.block_shape(block);
    if let Some(t) = trim {
        for (k, w) in want.iter_mut().enumerate() {
            let (a, b) = t[k][block[k]];
            *w += a + b;
        }
    }
    if out.dtype() != dtype {
        return Err(Error::DType(format!("{} returned {} blocks, declared {}", func.name, out.dtype(), dtype)));
    }
    if out.shape() != want.as_slice() {
        return Err(Error::Shape(format!(
            "{}: block {block:?} returned shape {:?}, expected {want:?}",
            func.name,
            out.shape()
        )));
    }
    match trim {
        None => Ok(out),
        Some(t) => {
            // (a copy: a strided view of the grown block would save it, but
            // readers then take ndarray's slow n-d iteration; measured 1.3x
            // slower on W5)
            let start: Vec<usize> = (0..want.len()).map(|k| t[k][block[k]].0).collect();
            Ok(out.region(&start, &chunks.block_shape(block)))
        }
    }
}

/// The block of input `r` that task block `block` reads.
fn input_block(r: &InputRef, block: &[usize]) -> Vec<usize> {
    r.bcast.iter().enumerate().map(|(k, &bc)| if bc { 0 } else { block[k + r.offset] }).collect()
}

/// An inline source of a task, made: a block, or a random block's generator
/// (the interpreter fills its tiles).
enum Made {
    Block(Chunk),
    Random(RandomBlock),
}

/// Make the inline sources of a task (random ones are only described).
fn make_inline(refs: &[InputRef], block: &[usize], reads: Reads<'_>) -> Result<Vec<Option<Made>>> {
    refs.iter()
        .map(|r| match &r.inline {
            None => Ok(None),
            Some(s) => {
                let b = input_block(r, block);
                match RandomBlock::new(&s.source, &s.shape, &s.chunks, &b) {
                    Some(g) => Ok(Some(Made::Random(g))),
                    None => source_block(&s.source, &s.shape, &s.chunks, &b, s.dtype, reads).map(|c| Some(Made::Block(c))),
                }
            }
        })
        .collect()
}

/// The stored blocks task (`layer`, `block`) reads itself — a stored source
/// layer's block or the inline stored sources of a fused task — pushed to
/// `out` (what read-ahead may read before the task runs). Zero-size reads
/// are left out.
pub fn stored_reads(g: &TaskGraph, layer: LayerId, block: &[usize], out: &mut Vec<ReadReq>) {
    let l = &g.layers[layer];
    match &l.kind {
        LayerKind::Source { source, .. } => {
            if let Some(c) = &l.chunks {
                out.extend(stored_read(source, c, block, l.dtype));
            }
        }
        LayerKind::Map { inputs: refs, .. } | LayerKind::ReducePartial { inputs: refs, .. } => {
            for r in refs {
                if let Some(s) = &r.inline {
                    out.extend(stored_read(&s.source, &s.chunks, &input_block(r, block), s.dtype));
                }
            }
        }
        _ => {}
    }
    out.retain(|r| r.shape.iter().all(|&n| n > 0));
}

/// The inputs of a task in program order: inline sources and dependency values.
fn gather_inputs<'a>(refs: &[InputRef], made: &'a [Option<Made>], deps: &'a [Arc<Value>]) -> Result<Vec<TileInput<'a>>> {
    let mut it = deps.iter();
    refs.iter()
        .zip(made)
        .map(|(_, m)| match m {
            Some(Made::Block(c)) => Ok(TileInput::Block(c)),
            Some(Made::Random(g)) => Ok(TileInput::Random(g)),
            None => Ok(TileInput::Block(it.next().ok_or_else(|| Error::Execution("internal: missing task input".into()))?.block()?)),
        })
        .collect()
}

fn scan_local(kind: ScanKind, axis: usize, c: &Chunk) -> Result<Chunk> {
    let sd = c.dtype().sum_dtype();
    crate::dispatch_dtype!(c.dtype(), T => crate::dispatch_numeric!(sd, S => {
        let mut a: ArrayD<S> = typed::<T>(c)?.mapv(|x| x.cast::<S>());
        match kind {
            ScanKind::CumSum => a.accumulate_axis_inplace(Axis(axis), |&p, c| *c = S::add(*c, p)),
            ScanKind::CumProd => a.accumulate_axis_inplace(Axis(axis), |&p, c| *c = S::mul(*c, p)),
        }
        Ok(S::wrap(a))
    }, _ => Err(Error::Execution("internal: bool scan type".into()))))
}

/// carry(k) = carry(k-1) ⊕ last slice of local(k-1) along `axis` (unchanged if that block is empty).
fn scan_carry(kind: ScanKind, axis: usize, prev_carry: &Chunk, prev_local: &Chunk) -> Result<Chunk> {
    crate::dispatch_numeric!(prev_carry.dtype(), S => {
        let carry = typed::<S>(prev_carry)?;
        let local = typed::<S>(prev_local)?;
        let n = local.shape()[axis];
        if n == 0 {
            return Ok(prev_carry.clone());
        }
        let last = local.index_axis(Axis(axis), n - 1).insert_axis(Axis(axis));
        let mut out = carry.clone();
        out.zip_mut_with(&last, |c, &l| *c = match kind { ScanKind::CumSum => S::add(*c, l), ScanKind::CumProd => S::mul(*c, l) });
        Ok(S::wrap(out))
    }, _ => Err(Error::Execution("internal: bool scan type".into())))
}

fn scan_apply(kind: ScanKind, local: &Chunk, carry: &Chunk) -> Result<Chunk> {
    crate::dispatch_numeric!(local.dtype(), S => {
        let mut out = typed::<S>(local)?.clone();
        let c = typed::<S>(carry)?;
        if out.is_empty() {
            return Ok(S::wrap(out));
        }
        let c = c.broadcast(IxDyn(out.shape())).ok_or_else(|| Error::Execution("internal: carry shape".into()))?;
        out.zip_mut_with(&c, |o, &c| *o = match kind { ScanKind::CumSum => S::add(*o, c), ScanKind::CumProd => S::mul(*o, c) });
        Ok(S::wrap(out))
    }, _ => Err(Error::Execution("internal: bool scan type".into())))
}
