//! Block kernels of the blocked LU with partial pivoting and of blocked
//! triangular solves (layers in `task::lu`): faer's partial-pivoting LU of a
//! tall panel, unit-lower triangular solves and GEMM Schur updates, all with
//! `Par::Seq` (blocks already run in parallel, see `linalg.rs`).

use std::sync::Arc;

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::lu::partial_pivoting::factor::{lu_in_place, lu_in_place_scratch};
use faer::linalg::triangular_solve::{
    solve_lower_triangular_in_place, solve_unit_lower_triangular_in_place, solve_upper_triangular_in_place,
};
use faer::{Accum, Par};
use ndarray::{s, Array1, Array2, ArrayD, ArrayView1, ArrayView2, Axis, IxDyn, ShapeBuilder};

use super::chunk::{typed, Chunk};
use super::linalg::{blk, block, mat_mut, mat_ref, partial, view2, LaFloat};
use super::run_task::{Output, Value};
use super::scalar_ops::Arith;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::task::lu::LuLayer;
use crate::task::{LayerId, TaskGraph};

/// Compute one task of an LU layer.
pub fn run(g: &TaskGraph, l: &LuLayer, layer: LayerId, bidx: &[usize], inputs: &[Arc<Value>]) -> Result<Output> {
    match l {
        LuLayer::Perm { .. } => {
            let p = partial(&inputs[0])?;
            Ok(Output::New(Value::Block(p.get(1).cloned().ok_or_else(|| internal("short LU panel"))?)))
        }
        LuLayer::Tau { rows, .. } => tau(rows, bidx[0], inputs),
        LuLayer::Pivots { rows, .. } => {
            let t = typed::<i64>(inputs[0].block()?)?;
            let o = offset(rows, bidx[0]);
            Ok(Output::New(Value::Block(Chunk::I64(t.slice(s![o..o + rows[bidx[0]]]).to_owned().into_dyn()))))
        }
        _ => match g.layers[layer].dtype {
            DType::F32 => run_float::<f32>(g, l, layer, bidx, inputs),
            DType::F64 => run_float::<f64>(g, l, layer, bidx, inputs),
            d => Err(Error::DType(format!("{} needs f32 or f64 elements, got {d}", l.name()))),
        },
    }
}

fn internal(m: &str) -> Error {
    Error::Execution(format!("internal: {m}"))
}

fn offset(rows: &[usize], k: usize) -> usize {
    rows[..k].iter().sum()
}

fn run_float<T: LaFloat>(g: &TaskGraph, l: &LuLayer, layer: LayerId, bidx: &[usize], inputs: &[Arc<Value>]) -> Result<Output> {
    match l {
        LuLayer::Steps { rows, .. } => {
            let (k, j) = (bidx[0], bidx[1]);
            if j == k {
                let prev_scale = if k > 0 { scale_of(&inputs[inputs.len() - 1])? } else { 0.0 };
                let state_in = if k > 0 { &inputs[..1] } else { inputs };
                panel::<T>(rows, k, &state(rows, k, state_in)?, prev_scale)
            } else {
                let p = partial(&inputs[0])?;
                blk(update::<T>(p, &state(rows, k, &inputs[1..])?)?)
            }
        }
        LuLayer::Rhs { rows, .. } => {
            let k = bidx[0];
            let p = partial(&inputs[0])?;
            let pieces: Vec<ArrayView2<T>> = if k == 0 {
                inputs[1..].iter().map(|v| col_matrix::<T>(v)).collect::<Result<_>>()?
            } else {
                vec![view2(block::<T>(&inputs[1])?)?.slice_move(s![rows[k - 1].., ..])]
            };
            blk(update::<T>(p, &pieces)?)
        }
        LuLayer::U { .. } => {
            let (i, j) = (bidx[0], bidx[1]);
            let shape = g.layers[layer].chunks.as_ref().expect("U has chunks").block_shape(bidx);
            let (si, sj) = (shape[0], shape[1]);
            if i > j {
                return blk(Array2::from_elem((si, sj), T::la_zero()));
            }
            if i == j {
                let lu = part2::<T>(partial(&inputs[0])?, 0)?;
                return blk(Array2::from_shape_fn((si, sj), |(r, c)| if r <= c { lu[(r, c)] } else { T::la_zero() }));
            }
            std_blk(view2(block::<T>(&inputs[0])?)?.slice(s![..si, ..]).to_owned())
        }
        LuLayer::L { rows, .. } => {
            let (i, j) = (bidx[0], bidx[1]);
            let (si, sj) = (rows[i], rows[j]);
            if i < j {
                return blk(Array2::from_elem((si, sj), T::la_zero()));
            }
            let lu = part2::<T>(partial(&inputs[0])?, 0)?;
            if i == j {
                return blk(Array2::from_shape_fn((si, sj), |(r, c)| match r.cmp(&c) {
                    std::cmp::Ordering::Greater => lu[(r, c)],
                    std::cmp::Ordering::Equal => T::la_one(),
                    std::cmp::Ordering::Less => T::la_zero(),
                }));
            }
            // final row R = o_i + r was row τ_{j+1}(R) after step j: row τ − o_j of the panel
            let tau = typed::<i64>(inputs[1].block()?)?;
            let (oi, oj, oj1) = (offset(rows, i), offset(rows, j), offset(rows, j + 1));
            let mut out = Array2::from_elem((si, sj), T::la_zero());
            for r in 0..si {
                let pos = tau[oi + r - oj1] as usize;
                out.row_mut(r).assign(&lu.row(pos - oj));
            }
            blk(out)
        }
        LuLayer::P { rows, .. } => {
            let (i, j) = (bidx[0], bidx[1]);
            let piv = typed::<i64>(inputs[0].block()?)?;
            let oi = offset(rows, i);
            let mut out = Array2::from_elem((rows[i], rows[j]), T::la_zero());
            for (c, &row) in piv.iter().enumerate() {
                let row = row as usize;
                if row >= oi && row < oi + rows[i] {
                    out[(row - oi, c)] = T::la_one();
                }
            }
            blk(out)
        }
        LuLayer::Forward { vector, .. } => {
            let shape = g.layers[layer].chunks.as_ref().expect("forward has chunks").block_shape(bidx);
            let y = view2(block::<T>(&inputs[0])?)?.slice(s![..shape[0], ..]).to_owned();
            shaped(y, *vector)
        }
        LuLayer::TriSolve { lower, vector, .. } => {
            let rows = g.layers[layer].chunks.as_ref().expect("triangular solve has chunks");
            let o = rows.offset(0, bidx[0]);
            // inputs: a(i, i), the m off-diagonal blocks of a, b(i), the m blocks of x
            let m = (inputs.len() - 2) / 2;
            let a = view2(block::<T>(&inputs[0])?)?;
            let mut x = col_matrix::<T>(&inputs[1 + m])?.to_owned();
            for (av, xv) in inputs[1..1 + m].iter().zip(&inputs[2 + m..]) {
                let (aij, xj) = (view2(block::<T>(av)?)?, col_matrix::<T>(xv)?);
                if x.is_empty() || aij.ncols() == 0 {
                    continue;
                }
                let mut xv = x.view_mut();
                faer::linalg::matmul::matmul(mat_mut(&mut xv), Accum::Add, mat_ref(&aij), mat_ref(&xj), <T as Arith>::neg(T::la_one()), Par::Seq);
            }
            for d in 0..a.nrows() {
                let v = a[(d, d)].la_f64();
                if v == 0.0 || !v.is_finite() {
                    return Err(Error::Value(format!(
                        "solve_triangular: the matrix is singular (diagonal element {} is {v:e})",
                        o + d
                    )));
                }
            }
            if !x.is_empty() {
                let mut xv = x.view_mut();
                if *lower {
                    solve_lower_triangular_in_place(mat_ref(&a), mat_mut(&mut xv), Par::Seq);
                } else {
                    solve_upper_triangular_in_place(mat_ref(&a), mat_mut(&mut xv), Par::Seq);
                }
            }
            shaped(x, *vector)
        }
        LuLayer::Perm { .. } | LuLayer::Tau { .. } | LuLayer::Pivots { .. } => Err(internal("not a float kernel")),
    }
}

/// An n × m result as the block it is (a column of a 1-d right-hand side:
/// 1-d), in standard layout.
fn shaped<T: LaFloat>(x: Array2<T>, vector: bool) -> Result<Output> {
    if vector {
        return Ok(Output::New(Value::Block(T::wrap(Array1::from_iter(x.iter().copied()).into_dyn()))));
    }
    std_blk(x)
}

/// An array block in standard layout (step outputs are column-major).
fn std_blk<T: LaFloat>(x: Array2<T>) -> Result<Output> {
    if x.is_standard_layout() {
        return blk(x);
    }
    blk(x.as_standard_layout().into_owned())
}

/// A block of a right-hand side as a matrix (a 1-d block is one column).
fn col_matrix<T: LaFloat>(v: &Arc<Value>) -> Result<ArrayView2<'_, T>> {
    let b = block::<T>(v)?;
    if b.ndim() == 1 {
        return b.view().insert_axis(Axis(1)).into_dimensionality().map_err(|e| internal(&e.to_string()));
    }
    view2(b)
}

fn part2<T: LaFloat>(p: &[Chunk], i: usize) -> Result<ArrayView2<'_, T>> {
    view2(typed::<T>(p.get(i).ok_or_else(|| internal("short LU panel"))?)?)
}

fn scale_of(v: &Arc<Value>) -> Result<f64> {
    let p = partial(v)?;
    typed::<f64>(p.get(2).ok_or_else(|| internal("short LU panel"))?)?.first().copied().ok_or_else(|| internal("empty LU scale"))
}

/// Block column k's rows ≥ o_k before step k, as vertically stacked pieces:
/// the input blocks of column k (k = 0), else the previous step's output
/// below its U rows.
fn state<'a, T: LaFloat>(rows: &[usize], k: usize, inputs: &'a [Arc<Value>]) -> Result<Vec<ArrayView2<'a, T>>> {
    if k == 0 {
        return inputs.iter().map(|v| view2(block::<T>(v)?)).collect();
    }
    Ok(vec![view2(block::<T>(&inputs[0])?)?.slice_move(s![rows[k - 1].., ..])])
}

/// Rows `perm(r)` of the stacked pieces, column-major (as faer prefers).
fn gather_rows<T: LaFloat>(pieces: &[ArrayView2<'_, T>], nrows: usize, ncols: usize, perm: impl Fn(usize) -> usize) -> Array2<T> {
    let mut starts = Vec::with_capacity(pieces.len() + 1);
    let mut acc = 0;
    for p in pieces {
        starts.push(acc);
        acc += p.nrows();
    }
    starts.push(acc);
    let mut out = Array2::from_elem((nrows, ncols).f(), T::la_zero());
    for r in 0..nrows {
        let src = perm(r);
        // the last piece starting at or before src (empty pieces share their start)
        let b = starts.partition_point(|&s| s <= src) - 1;
        out.row_mut(r).assign(&pieces[b].row(src - starts[b]));
    }
    out
}

/// The panel of step k: LU with partial pivoting of the n_k × s_k block
/// column. A pivot that is zero, not finite or at most n · eps times the
/// largest magnitude seen in the panels so far makes the matrix singular.
fn panel<T: LaFloat>(rows: &[usize], k: usize, pieces: &[ArrayView2<'_, T>], prev_scale: f64) -> Result<Output> {
    let n: usize = rows.iter().sum();
    let (nk, sk) = (n - offset(rows, k), rows[k]);
    let mut p = gather_rows(pieces, nk, sk, |r| r);
    let mut scale = prev_scale;
    for &x in p.iter() {
        let a = x.la_f64().abs();
        if !a.is_finite() {
            return Err(Error::Value(format!("lu: the matrix has a value that is not finite ({a}) in block column {k}")));
        }
        scale = scale.max(a);
    }
    let mut perm = vec![0usize; nk];
    if sk > 0 {
        let mut perm_inv = vec![0usize; nk];
        let params = Default::default();
        let mut mem = MemBuffer::new(lu_in_place_scratch::<usize, T>(nk, sk, Par::Seq, params));
        let mut pv = p.view_mut();
        lu_in_place(mat_mut(&mut pv), &mut perm, &mut perm_inv, Par::Seq, MemStack::new(&mut mem), params);
        let tol = n as f64 * T::la_eps().la_f64() * scale;
        let o = offset(rows, k);
        for d in 0..sk {
            let v = p[(d, d)].la_f64().abs();
            if !(v > tol) || !v.is_finite() {
                return Err(Error::Value(format!(
                    "lu: the matrix is singular (pivot {} of {n} is {v:e}, at most n·eps·max|a| = {tol:e})",
                    o + d
                )));
            }
        }
    } else {
        perm.iter_mut().enumerate().for_each(|(i, x)| *x = i);
    }
    let perm = Array1::from_iter(perm.into_iter().map(|x| x as i64));
    let scale = ArrayD::from_elem(IxDyn(&[1]), scale);
    Ok(Output::New(Value::Partial(vec![T::wrap(p.into_dyn()), Chunk::I64(perm.into_dyn()), Chunk::F64(scale)])))
}

/// Step k on one block column (or right-hand side block): its rows
/// gathered by π_k, U_kj = L_kk⁻¹ (top s_k rows), Schur update of the rest.
fn update<T: LaFloat>(panel: &[Chunk], pieces: &[ArrayView2<'_, T>]) -> Result<Array2<T>> {
    let lu = part2::<T>(panel, 0)?;
    let perm = typed::<i64>(panel.get(1).ok_or_else(|| internal("short LU panel"))?)?;
    let perm: ArrayView1<i64> = perm.view().into_dimensionality().map_err(|_| internal("LU permutation is not 1-d"))?;
    let (nk, sk) = lu.dim();
    let ncols = pieces.first().map(|p| p.ncols()).unwrap_or(0);
    let mut t = gather_rows(pieces, nk, ncols, |r| perm[r] as usize);
    if sk > 0 && ncols > 0 {
        let (mut top, mut bottom) = t.view_mut().split_at(Axis(0), sk);
        let lkk = lu.slice(s![..sk, ..]);
        solve_unit_lower_triangular_in_place(mat_ref(&lkk), mat_mut(&mut top), Par::Seq);
        if nk > sk {
            let lbelow = lu.slice(s![sk.., ..]);
            let topr = top.view();
            faer::linalg::matmul::matmul(mat_mut(&mut bottom), Accum::Add, mat_ref(&lbelow), mat_ref(&topr), <T as Arith>::neg(T::la_one()), Par::Seq);
        }
    }
    Ok(t)
}

/// τ_k from π_k and τ_{k+1}: final row r ≥ o_k was row τ_{k+1}(r) after
/// step k (r itself for r < o_{k+1}), and row o_k + π_k(that − o_k) before it.
fn tau(rows: &[usize], k: usize, inputs: &[Arc<Value>]) -> Result<Output> {
    let n: usize = rows.iter().sum();
    let (ok, ok1) = (offset(rows, k), offset(rows, k + 1));
    let pi = typed::<i64>(inputs[0].block()?)?;
    let next = inputs.get(1).map(|v| v.block().and_then(typed::<i64>)).transpose()?;
    let out = Array1::from_shape_fn(n - ok, |i| {
        let r = ok + i;
        let q = if r < ok1 { r } else { next.map(|t| t[r - ok1] as usize).unwrap_or(r) };
        ok as i64 + pi[q - ok]
    });
    Ok(Output::New(Value::Block(Chunk::I64(out.into_dyn()))))
}
