//! User functions over blocks: `map_blocks`, `map_overlap` and `blockwise`.
//! Functions are plain Rust closures over ndarray views; each runs once
//! per output block on the executor's threads (a panic inside one becomes
//! an `Error::Execution`).

use std::sync::Arc;

use ndarray::{ArrayD, ArrayViewD};

use super::Array;
use crate::dtype::Element;
use crate::error::{Error, Result};
use crate::exec::cpu::blockfn::CpuBlockFn;
use crate::exec::cpu::chunk::{typed, Chunk};
use crate::expr::blocks::{Edge, Halo};
use crate::expr::{shape_ops, BlockFunc, InAxis};
use crate::Boundary;

fn block_func<T: Element, U: Element>(
    name: &str,
    user: &'static str,
    f: impl Fn(&[ArrayViewD<T>]) -> ArrayD<U> + Send + Sync + 'static,
) -> BlockFunc {
    let call = move |blocks: &[&Chunk]| -> Result<Chunk> {
        let views: Vec<ArrayViewD<T>> = blocks.iter().map(|c| typed::<T>(c).map(|a| a.view())).collect::<Result<_>>()?;
        Ok(U::wrap(f(&views)))
    };
    BlockFunc { name: name.to_string(), func: Arc::new(CpuBlockFn(Box::new(call), user)) }
}

impl<T: Element> Array<T> {
    /// `f` applied to every block; the result has the same chunks (so `f`
    /// must return a block of the shape it was given — checked, a mismatch
    /// is an `Error::Shape` when computing). The element type may change.
    pub fn map_blocks<U: Element, F>(&self, f: F) -> Result<Array<U>>
    where
        F: Fn(ArrayViewD<T>) -> ArrayD<U> + Send + Sync + 'static,
    {
        let axes = vec![(0..self.ndim()).map(InAxis::Out).collect()];
        let func = block_func("map_blocks", std::any::type_name::<F>(), move |b: &[ArrayViewD<T>]| f(b[0].clone()));
        let n = shape_ops::map_blocks(func, std::slice::from_ref(self.node()), axes, self.ndim(), U::DTYPE, None, None)?;
        Ok(Array::from_node(n))
    }

    /// `map_blocks` whose blocks change size: `chunks` gives the output's
    /// block sizes per axis, with as many blocks per axis as `self` has
    /// (block i of the result is `f` of block i of `self`).
    pub fn map_blocks_with_chunks<U: Element, F>(&self, chunks: Vec<Vec<usize>>, f: F) -> Result<Array<U>>
    where
        F: Fn(ArrayViewD<T>) -> ArrayD<U> + Send + Sync + 'static,
    {
        let axes = vec![(0..self.ndim()).map(InAxis::Out).collect()];
        let func = block_func("map_blocks", std::any::type_name::<F>(), move |b: &[ArrayViewD<T>]| f(b[0].clone()));
        let n = shape_ops::map_blocks(func, std::slice::from_ref(self.node()), axes, self.ndim(), U::DTYPE, Some(chunks), None)?;
        Ok(Array::from_node(n))
    }

    /// `f` applied to every block grown by `depth[k]` elements on each side
    /// of axis k, taken from the neighbouring blocks (however many that
    /// takes: a depth larger than a block works) and, beyond the array's
    /// edges, from `boundary`. `f` returns a block of the grown shape; the
    /// halo is cut from it. Each task holds only its block, its halo and
    /// the result. Boundaries: `Reflect` mirrors with the edge element
    /// repeated (dask's `reflect`, NumPy's `symmetric`), `Periodic` wraps,
    /// `Nearest` repeats the edge element, `Constant(v)` fills with `v`,
    /// `None` does not grow blocks past the array's edge.
    pub fn map_overlap<U: Element, F>(&self, depth: &[usize], boundary: Boundary<T>, f: F) -> Result<Array<U>>
    where
        F: Fn(ArrayViewD<T>) -> ArrayD<U> + Send + Sync + 'static,
    {
        let nd = self.ndim();
        if depth.len() != nd {
            return Err(Error::Shape(format!("map_overlap: {} depths for an array of {nd} dimension(s)", depth.len())));
        }
        for (k, (&d, &n)) in depth.iter().zip(self.shape()).enumerate() {
            if d > n {
                return Err(Error::Value(format!("map_overlap: depth {d} is larger than axis {k} of length {n}")));
            }
        }
        let (edge, fill) = match boundary {
            Boundary::Reflect => (Edge::Symmetric, T::default()),
            Boundary::Periodic => (Edge::Wrap, T::default()),
            Boundary::Nearest => (Edge::Nearest, T::default()),
            Boundary::Constant(v) => (Edge::Constant, v),
            Boundary::None => (Edge::None, T::default()),
        };
        let halo = Halo { depth: depth.to_vec(), boundary: edge, fill: fill.to_scalar() };
        let axes = vec![(0..nd).map(InAxis::Out).collect()];
        let func = block_func("map_overlap", std::any::type_name::<F>(), move |b: &[ArrayViewD<T>]| f(b[0].clone()));
        let n = shape_ops::map_blocks(func, std::slice::from_ref(self.node()), axes, nd, U::DTYPE, None, Some(halo))?;
        Ok(Array::from_node(n))
    }
}

/// A function over blocks of several arrays matched by index letters, as
/// dask's `blockwise`: `blockwise("ik", &[(&a, "ij"), (&b, "jk")], f)` calls
/// `f(&[a block, b block])` once per output block (i, k). A letter shared by
/// inputs aligns their chunks (later inputs are rechunked to the first's);
/// a letter not in the output is contracted: that axis is given whole (one
/// block), so `f` sees the full extent of it. `f` must return the block of
/// the output's shape, whose chunks along each letter are the inputs'.
pub fn blockwise<T: Element, U: Element, F>(out_index: &str, inputs: &[(&Array<T>, &str)], f: F) -> Result<Array<U>>
where
    F: Fn(&[ArrayViewD<T>]) -> ArrayD<U> + Send + Sync + 'static,
{
    let out: Vec<char> = out_index.chars().collect();
    for (i, c) in out.iter().enumerate() {
        if out[..i].contains(c) {
            return Err(Error::Value(format!("blockwise: output index {out_index:?} repeats {c:?}")));
        }
    }
    let mut nodes = Vec::with_capacity(inputs.len());
    let mut axes = Vec::with_capacity(inputs.len());
    for (a, idx) in inputs {
        let letters: Vec<char> = idx.chars().collect();
        if letters.len() != a.ndim() {
            return Err(Error::Shape(format!(
                "blockwise: index {idx:?} has {} letters for an array of shape {:?}",
                letters.len(),
                a.shape()
            )));
        }
        axes.push(letters.iter().map(|c| out.iter().position(|o| o == c).map(InAxis::Out).unwrap_or(InAxis::Whole)).collect());
        nodes.push(a.node().clone());
    }
    for c in &out {
        if !inputs.iter().any(|(_, idx)| idx.contains(*c)) {
            return Err(Error::Value(format!("blockwise: output letter {c:?} is in no input index")));
        }
    }
    // a contracted letter must have one length across inputs
    let mut lens: Vec<(char, usize)> = Vec::new();
    for (a, idx) in inputs {
        for (c, &n) in idx.chars().zip(a.shape()) {
            match lens.iter().find(|(l, _)| *l == c) {
                Some(&(_, m)) if m != n => {
                    return Err(Error::Shape(format!("blockwise: index {c:?} has lengths {m} and {n}")));
                }
                Some(_) => {}
                None => lens.push((c, n)),
            }
        }
    }
    let func = block_func("blockwise", std::any::type_name::<F>(), f);
    Ok(Array::from_node(shape_ops::map_blocks(func, &nodes, axes, out.len(), U::DTYPE, None, None)?))
}
