//! Task layers of the blocked LU factorization with partial pivoting
//! (right-looking, by block columns) and of blocked triangular solves.
//! Plain data; inputs by index arithmetic.
//!
//! With row (= column) blocks of sizes s_0 … s_{K-1} starting at o_0 … and
//! n_k = n − o_k rows from block k down, step k of the factorization is:
//!
//! - the panel task (k, k): LU with partial pivoting of the tall
//!   n_k × s_k block column k (as updated by the steps before it): the packed
//!   L panel and U_kk, its row permutation π_k, and a running scale for
//!   the singularity test;
//! - an update task (k, j) per block column j > k: column j's rows ≥ o_k
//!   gathered by π_k, U_kj = L_kk⁻¹ (top s_k rows), then the Schur update
//!   A_ij −= L_ik U_kj of the rows below. One task holds one block column
//!   (n_k × s_j) plus the panel: memory per task is bounded by about two
//!   block columns, never the whole matrix.
//!
//! Right-hand sides of `solve` go through the same steps (`Rhs`) so L is
//! never formed; U blocks are cut from the step outputs; L and P need the
//! composite permutation from each step to the end (`Perm`, `Tau`).

use super::{LayerId, TaskGraph, TaskId};

#[derive(Clone)]
pub enum LuLayer {
    /// Task (k, j), j ≥ k: step k on block column j. j = k: the panel, a
    /// partial of three chunks (packed LU n_k × s_k, π_k as i64 of length
    /// n_k, the running scale); j > k: a block n_k × s_j, U_kj on top of
    /// column j's rows ≥ o_{k+1} after step k. Tasks j < k are never read.
    /// `rows`: the block sizes s.
    Steps { input: LayerId, rows: Vec<usize> },
    /// Task (k, c): step k applied to column block c of a right-hand side
    /// (an n_k × m_c block, y_k on top). `vector`: b is 1-d.
    Rhs { steps: LayerId, input: LayerId, rows: Vec<usize>, vector: bool },
    /// Block (i, j) of U: zero below the block diagonal, else cut from step task (i, j).
    U { steps: LayerId },
    /// Task k: π_k alone (i64, relative rows of the panel), so that the
    /// permutation chain does not hold the panels.
    Perm { steps: LayerId },
    /// Task k: τ_k, for every final row r ≥ o_k the row it was before step
    /// k (i64, n_k); τ_0 is the whole permutation.
    Tau { perm: LayerId, rows: Vec<usize> },
    /// Block i of the pivot indices: τ_0 cut like the rows.
    Pivots { tau: LayerId, rows: Vec<usize> },
    /// Block (i, j) of L: the panel j's rows in their final order (τ_{j+1}).
    L { steps: LayerId, tau: LayerId, rows: Vec<usize> },
    /// Block (i, j) of P: for each column c of block j, a one in row τ_0(c).
    P { pivots: LayerId, rows: Vec<usize> },
    /// Block (i, c) of `L⁻¹ Pᵀ b`: cut from `Rhs` task (i, c).
    Forward { rhs: LayerId, vector: bool },
    /// Block (i, c) of x with `a x = b`, a triangular with K × K square
    /// blocks: reads a's block row i (diagonal block, then the blocks left
    /// of it for a lower, right of it for an upper `a`), b's block, and the
    /// blocks of x in column c matching those off-diagonal blocks.
    TriSolve { a: LayerId, b: LayerId, lower: bool, nblocks: usize, vector: bool },
}

impl LuLayer {
    pub fn name(&self) -> String {
        match self {
            LuLayer::Steps { .. } => "lu-step".into(),
            LuLayer::Rhs { .. } => "lu-rhs".into(),
            LuLayer::U { .. } => "lu-u".into(),
            LuLayer::Perm { .. } => "lu-perm".into(),
            LuLayer::Tau { .. } => "lu-perm-chain".into(),
            LuLayer::Pivots { .. } => "lu-pivots".into(),
            LuLayer::L { .. } => "lu-l".into(),
            LuLayer::P { .. } => "lu-p".into(),
            LuLayer::Forward { .. } => "lu-forward".into(),
            LuLayer::TriSolve { lower, .. } => {
                if *lower { "solve-triangular-lower".into() } else { "solve-triangular-upper".into() }
            }
        }
    }

    /// The inputs of task `block`, in the order the executor reads them.
    pub fn deps(&self, g: &TaskGraph, layer: LayerId, block: &[usize], out: &mut Vec<TaskId>) {
        // a right-hand side block index (1-d b: the row block only)
        let rhs_idx = |vector: bool, i: usize, c: usize| if vector { vec![i] } else { vec![i, c] };
        match self {
            LuLayer::Steps { input, rows } => {
                let (k, j) = (block[0], block[1]);
                if j < k {
                    return;
                }
                if j > k {
                    out.push(g.task(layer, &[k, k]));
                }
                if k == 0 {
                    for i in 0..rows.len() {
                        out.push(g.task(*input, &[i, j]));
                    }
                } else {
                    out.push(g.task(layer, &[k - 1, j]));
                }
                if j == k && k > 0 {
                    out.push(g.task(layer, &[k - 1, k - 1]));
                }
            }
            LuLayer::Rhs { steps, input, rows, vector } => {
                let (k, c) = (block[0], block[1]);
                out.push(g.task(*steps, &[k, k]));
                if k == 0 {
                    for i in 0..rows.len() {
                        out.push(g.task(*input, &rhs_idx(*vector, i, c)));
                    }
                } else {
                    out.push(g.task(layer, &[k - 1, c]));
                }
            }
            LuLayer::U { steps } => {
                if block[0] <= block[1] {
                    out.push(g.task(*steps, block));
                }
            }
            LuLayer::Perm { steps } => out.push(g.task(*steps, &[block[0], block[0]])),
            LuLayer::Tau { perm, rows } => {
                out.push(g.task(*perm, block));
                if block[0] + 1 < rows.len() {
                    out.push(g.task(layer, &[block[0] + 1]));
                }
            }
            LuLayer::Pivots { tau, .. } => out.push(g.task(*tau, &[0])),
            LuLayer::L { steps, tau, .. } => {
                let (i, j) = (block[0], block[1]);
                if i >= j {
                    out.push(g.task(*steps, &[j, j]));
                }
                if i > j {
                    out.push(g.task(*tau, &[j + 1]));
                }
            }
            LuLayer::P { pivots, .. } => out.push(g.task(*pivots, &[block[1]])),
            LuLayer::Forward { rhs, vector } => {
                let c = if *vector { 0 } else { block[1] };
                out.push(g.task(*rhs, &[block[0], c]));
            }
            LuLayer::TriSolve { a, b, lower, nblocks, vector } => {
                let i = block[0];
                let c = if *vector { 0 } else { block[1] };
                // a's blocks first: the depth-first order then makes a's
                // blocks (for solve: U, cut from the step outputs) row by row
                // as the factorization goes, not after the whole solve
                let others: Vec<usize> = if *lower { (0..i).collect() } else { (i + 1..*nblocks).collect() };
                out.push(g.task(*a, &[i, i]));
                for &j in &others {
                    out.push(g.task(*a, &[i, j]));
                }
                out.push(g.task(*b, block));
                for &j in &others {
                    out.push(g.task(layer, &rhs_idx(*vector, j, c)));
                }
            }
        }
    }
}
