//! Building nodes: shape, element type and chunk inference, with the checks
//! that turn user mistakes into errors when the expression is built.

use crate::chunks::{refine, Chunks};
use crate::dtype::DType;
use crate::error::{axis_err, Error, Result};

use super::{Node, NodeRef, Op, Program, ReduceKind, ReduceSpec, ScanKind, Source};

/// NumPy broadcasting of several shapes.
pub fn broadcast_shapes(shapes: &[&[usize]]) -> Result<Vec<usize>> {
    let nd = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1usize; nd];
    for (k, o) in out.iter_mut().enumerate() {
        for s in shapes {
            let off = nd - s.len();
            if k < off {
                continue;
            }
            let d = s[k - off];
            if d == *o || d == 1 {
                continue;
            }
            if *o == 1 {
                *o = d;
            } else {
                let list: Vec<String> = shapes.iter().map(|s| format!("{s:?}")).collect();
                return Err(Error::Shape(format!(
                    "operands could not be broadcast together with shapes {}",
                    list.join(" ")
                )));
            }
        }
    }
    Ok(out)
}

/// Whether input axis `k` of an input of shape `s` broadcasts into an output of shape `out`.
pub fn is_broadcast_axis(s: &[usize], k: usize, out: &[usize]) -> bool {
    let off = out.len() - s.len();
    s[k] == 1 && out[k + off] != 1
}

pub fn source(src: Source, shape: Vec<usize>, dtype: DType, chunks: Chunks) -> NodeRef {
    Node::new(Op::Source(src), shape, dtype, chunks)
}

pub fn rechunk(input: &NodeRef, chunks: Chunks) -> NodeRef {
    if chunks == input.chunks {
        return input.clone();
    }
    Node::new(Op::Rechunk { input: input.clone() }, input.shape.clone(), input.dtype, chunks)
}

/// The broadcast shape of `inputs` and the common refinement of their
/// chunks on every axis (axes along which an input broadcasts do not count).
pub fn layout(inputs: &[NodeRef]) -> Result<(Vec<usize>, Chunks)> {
    let shapes: Vec<&[usize]> = inputs.iter().map(|n| n.shape.as_slice()).collect();
    let shape = broadcast_shapes(&shapes)?;
    let nd = shape.len();
    let mut sizes: Vec<Vec<usize>> = Vec::with_capacity(nd);
    for ax in 0..nd {
        let mut lists: Vec<&[usize]> = Vec::new();
        for n in inputs {
            let off = nd - n.shape.len();
            if ax >= off && !is_broadcast_axis(&n.shape, ax - off, &shape) {
                lists.push(n.chunks.axis(ax - off));
            }
        }
        sizes.push(if lists.is_empty() { vec![shape[ax]] } else { refine(&lists) });
    }
    // the broadcast shape may hold far more elements and blocks than any input
    crate::size::shape_elems(&shape, 1)?;
    let chunks = Chunks::new(&shape, sizes)?;
    Ok((shape, chunks))
}

/// An elementwise node: `program` over `inputs`, broadcast; inputs whose
/// chunks disagree are rechunked to the common refinement.
pub fn map(program: Program, inputs: Vec<NodeRef>) -> Result<NodeRef> {
    debug_assert_eq!(program.n_inputs(), inputs.len());
    let (shape, chunks) = layout(&inputs)?;
    let nd = shape.len();
    let inputs = inputs
        .into_iter()
        .map(|n| {
            let off = nd - n.shape.len();
            let want: Vec<Vec<usize>> = (0..n.shape.len())
                .map(|k| {
                    if is_broadcast_axis(&n.shape, k, &shape) {
                        // one block of length 1 (an explicit chunking may hide it among empty blocks)
                        vec![1]
                    } else {
                        chunks.axis(k + off).to_vec()
                    }
                })
                .collect();
            rechunk(&n, Chunks::from_sizes_unchecked(want))
        })
        .collect();
    let dtype = program.output_dtype();
    // `layout` checked the element and block counts; bytes are not checked
    // here so that infallible unary operations (a cast to a wider type) stay
    // infallible: byte counts are saturating everywhere and a block too large
    // is refused by the memory limit before anything runs
    Ok(Node::new(Op::Map { program, inputs }, shape, dtype, chunks))
}

/// Check and normalise reduction axes (sorted, distinct, in range).
pub fn check_axes(axes: Option<&[usize]>, ndim: usize) -> Result<Vec<usize>> {
    let mut v: Vec<usize> = match axes {
        None => (0..ndim).collect(),
        Some(a) => a.to_vec(),
    };
    for &a in &v {
        if a >= ndim {
            return Err(axis_err(a as isize, ndim, "axis out of range"));
        }
    }
    v.sort_unstable();
    for w in v.windows(2) {
        if w[0] == w[1] {
            return Err(axis_err(w[0] as isize, ndim, "axis repeated"));
        }
    }
    Ok(v)
}

/// A reduction of `input` over `axes` (None: all axes).
pub fn reduce(
    kind: ReduceKind,
    input: &NodeRef,
    axes: Option<&[usize]>,
    keepdims: bool,
    ddof: usize,
) -> Result<NodeRef> {
    let nd = input.shape.len();
    let axes = check_axes(axes, nd)?;
    if kind.needs_nonempty() && axes.iter().any(|&a| input.shape[a] == 0) {
        return Err(Error::EmptyReduction { op: kind.name().to_string(), shape: input.shape.clone() });
    }
    let mut shape = Vec::new();
    let mut sizes = Vec::new();
    for ax in 0..nd {
        if axes.contains(&ax) {
            if keepdims {
                shape.push(1);
                sizes.push(vec![1]);
            }
        } else {
            shape.push(input.shape[ax]);
            sizes.push(input.chunks.axis(ax).to_vec());
        }
    }
    let dtype = kind.out_dtype(input.dtype);
    let spec = ReduceSpec { kind, axes, keepdims, ddof };
    Ok(Node::new(
        Op::Reduce { spec, program: Program::identity(input.dtype), inputs: vec![input.clone()] },
        shape,
        dtype,
        Chunks::from_sizes_unchecked(sizes),
    ))
}

pub fn scan(kind: ScanKind, input: &NodeRef, axis: usize) -> Result<NodeRef> {
    if axis >= input.shape.len() {
        return Err(axis_err(axis as isize, input.shape.len(), kind.name()));
    }
    Ok(Node::new(
        Op::Scan { kind, axis, input: input.clone() },
        input.shape.clone(),
        input.dtype.sum_dtype(),
        input.chunks.clone(),
    ))
}

pub fn expand_dims(input: &NodeRef, axis: usize) -> Result<NodeRef> {
    let nd = input.shape.len();
    if axis > nd {
        return Err(axis_err(axis as isize, nd + 1, "insert_axis"));
    }
    let mut shape = input.shape.clone();
    shape.insert(axis, 1);
    let mut sizes = input.chunks.to_vec();
    sizes.insert(axis, vec![1]);
    Ok(Node::new(
        Op::ExpandDims { axis, input: input.clone() },
        shape,
        input.dtype,
        Chunks::from_sizes_unchecked(sizes),
    ))
}

/// A strided selection (rank kept); the identity selection returns the input.
pub fn slice(input: &NodeRef, axes: Vec<super::slice::AxisSlice>) -> NodeRef {
    if axes.iter().zip(&input.shape).all(|(a, &n)| a.is_full(n)) {
        return input.clone();
    }
    let shape: Vec<usize> = axes.iter().map(|a| a.len).collect();
    let chunks = super::slice::sliced_chunks(&input.chunks, &axes);
    Node::new(Op::Slice { axes, input: input.clone() }, shape, input.dtype, chunks)
}

/// Remove axes of length 1.
pub fn squeeze(input: &NodeRef, axes: &[usize]) -> Result<NodeRef> {
    let nd = input.shape.len();
    let mut axes = axes.to_vec();
    axes.sort_unstable();
    for w in axes.windows(2) {
        if w[0] == w[1] {
            return Err(axis_err(w[0] as isize, nd, "squeeze: axis given twice"));
        }
    }
    for &a in &axes {
        if a >= nd {
            return Err(axis_err(a as isize, nd, "squeeze"));
        }
        if input.shape[a] != 1 {
            return Err(Error::Shape(format!(
                "squeeze: axis {a} has length {}, not 1 (shape {:?})",
                input.shape[a], input.shape
            )));
        }
    }
    if axes.is_empty() {
        return Ok(input.clone());
    }
    let keep = |k: &usize| !axes.contains(k);
    let shape: Vec<usize> = (0..nd).filter(keep).map(|k| input.shape[k]).collect();
    let sizes: Vec<Vec<usize>> = (0..nd).filter(keep).map(|k| input.chunks.axis(k).to_vec()).collect();
    // a squeezed axis has one block of length 1 (its chunks are [1])
    let input = if axes.iter().all(|&a| input.chunks.axis(a).len() == 1) {
        input.clone()
    } else {
        let mut c = input.chunks.to_vec();
        for &a in &axes {
            c[a] = vec![1];
        }
        rechunk(input, Chunks::from_sizes_unchecked(c))
    };
    Ok(Node::new(Op::Squeeze { axes, input: input.clone() }, shape, input.dtype, Chunks::from_sizes_unchecked(sizes)))
}

/// Join arrays along an existing axis.
pub fn concat(axis: usize, inputs: &[NodeRef]) -> Result<NodeRef> {
    let first = inputs
        .first()
        .ok_or_else(|| Error::Value("concatenate needs at least one array".into()))?;
    let nd = first.shape.len();
    if nd == 0 {
        return Err(Error::Shape("zero-dimensional arrays cannot be concatenated".into()));
    }
    if axis >= nd {
        return Err(axis_err(axis as isize, nd, "concatenate"));
    }
    for n in inputs {
        if n.dtype != first.dtype {
            return Err(Error::DType(format!("concatenate of {} and {}", first.dtype, n.dtype)));
        }
        let same = n.shape.len() == nd
            && (0..nd).all(|k| k == axis || n.shape[k] == first.shape[k]);
        if !same {
            return Err(Error::Shape(format!(
                "concatenate along axis {axis}: shapes {:?} and {:?} differ off that axis",
                first.shape, n.shape
            )));
        }
    }
    let lens: Vec<usize> = inputs.iter().map(|n| n.shape[axis]).collect();
    let joined = crate::size::checked_sum(&lens)
        .map_err(|_| Error::Shape(format!("concatenate along axis {axis}: the lengths {} add up to more than {} (usize::MAX)", crate::size::show(&lens), usize::MAX)))?;
    let nb: Vec<usize> = inputs.iter().map(|n| n.chunks.axis(axis).len()).collect();
    crate::size::check_axis_blocks(axis, joined, nb.iter().fold(0usize, |a, &b| a.saturating_add(b)))?;
    let mut sizes: Vec<Vec<usize>> = Vec::with_capacity(nd);
    for k in 0..nd {
        if k == axis {
            let mut v: Vec<usize> = Vec::new();
            for n in inputs {
                v.extend_from_slice(n.chunks.axis(k));
            }
            sizes.push(v);
        } else {
            let lists: Vec<&[usize]> = inputs.iter().map(|n| n.chunks.axis(k)).collect();
            sizes.push(refine(&lists));
        }
    }
    let aligned: Vec<NodeRef> = inputs
        .iter()
        .map(|n| {
            let want: Vec<Vec<usize>> = (0..nd)
                .map(|k| if k == axis { n.chunks.axis(k).to_vec() } else { sizes[k].clone() })
                .collect();
            rechunk(n, Chunks::from_sizes_unchecked(want))
        })
        .collect();
    if aligned.len() == 1 {
        return Ok(aligned[0].clone());
    }
    let mut shape = first.shape.clone();
    shape[axis] = joined;
    let chunks = Chunks::new(&shape, sizes)?;
    Node::try_new(Op::Concat { axis, inputs: aligned }, shape, first.dtype, chunks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::Scalar;

    fn full(shape: &[usize], chunks: Vec<Vec<usize>>) -> NodeRef {
        let c = Chunks::new(shape, chunks).unwrap();
        source(Source::Full(Scalar::F64(1.0)), shape.to_vec(), DType::F64, c)
    }

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shapes(&[&[3, 1, 4], &[5, 4]]).unwrap(), vec![3, 5, 4]);
        assert_eq!(broadcast_shapes(&[&[], &[2]]).unwrap(), vec![2]);
        assert!(broadcast_shapes(&[&[3], &[4]]).is_err());
    }

    #[test]
    fn map_aligns_chunks_by_rechunking() {
        let a = full(&[6], vec![vec![3, 3]]);
        let b = full(&[6], vec![vec![2, 4]]);
        let mut p = Program::with_inputs(vec![DType::F64, DType::F64]);
        let (x, y) = (p.input(0), p.input(1));
        let r = p.binary(super::super::BinaryOp::Add, x, y);
        let n = map(p.finish(r), vec![a, b]).unwrap();
        assert_eq!(n.chunks.axis(0), &[2, 1, 3]);
        assert!(n.inputs().iter().all(|i| matches!(i.op, Op::Rechunk { .. })));
    }

    #[test]
    fn reduce_checks_axes_and_empty() {
        let a = full(&[0, 3], vec![vec![0], vec![3]]);
        assert!(reduce(ReduceKind::Min, &a, Some(&[0]), false, 0).is_err());
        assert!(reduce(ReduceKind::Min, &a, Some(&[1]), false, 0).is_ok());
        assert!(reduce(ReduceKind::Sum, &a, Some(&[2]), false, 0).is_err());
        assert!(reduce(ReduceKind::Sum, &a, Some(&[1, 1]), false, 0).is_err());
        let r = reduce(ReduceKind::Mean, &a, None, true, 0).unwrap();
        assert_eq!(r.shape, vec![1, 1]);
    }
}
