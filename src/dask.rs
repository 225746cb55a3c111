//! # floe for dask users
//!
//! floe follows dask.array's model — a lazy, chunked array whose operations
//! build a graph that is optimized and run chunk by chunk — with Rust types
//! and NumPy semantics. This page maps dask.array names to floe names.
//!
//! | dask.array | floe | notes |
//! |---|---|---|
//! | `da.from_array(x, chunks=...)` | [`from_ndarray(&x, chunks)`](crate::from_ndarray) | copies the ndarray once |
//! | `da.zeros`, `da.ones`, `da.full` | [`zeros::<T>`](crate::zeros), [`ones::<T>`](crate::ones), [`full`](crate::full) | |
//! | `da.arange(start, stop, step)` | [`arange(start, stop, step, chunks)`](crate::arange) | |
//! | `da.linspace`, `da.eye` | [`linspace`](crate::linspace), [`eye::<T>`](crate::eye) | |
//! | `da.random.default_rng(seed).uniform` / `.normal` | [`random::uniform`](crate::random::uniform), [`random::normal`](crate::random::normal) | counter-based: identical values whatever the chunking |
//! | `chunks=1000`, `chunks=(1000, 500)`, `chunks=((2, 3), (5,))`, `chunks="auto"` | `1000`, `[1000, 500]`, `vec![vec![2, 3], vec![5]]`, [`ChunkSpec::Auto`](crate::ChunkSpec::Auto) | |
//! | `x.chunks`, `x.numblocks`, `x.nbytes`, `x.dtype` | [`x.chunks()`](crate::Array::chunks), [`x.numblocks()`](crate::Array::numblocks), [`x.nbytes()`](crate::Array::nbytes), [`x.dtype()`](crate::Array::dtype) | |
//! | `x + y`, `2 * x`, `-x` | `&x + &y`, `2.0 * &x`, `-&x` | panics on incompatible shapes like ndarray; `x.try_add(&y)` returns `Err` |
//! | `da.sin(x)`, `np.abs(x)`, `x ** 2`, `x ** 0.5` | `x.sin()`, `x.abs()`, `x.powi(2)`, `x.powf(0.5)` | |
//! | `da.maximum(x, y)`, `x.clip(a, b)` | `x.maximum(&y)?`, `x.clip(a, b)` | |
//! | `x > y`, `x == 3` | `x.greater(&y)?`, `x.equal(3)?` | Rust's `>` cannot return an array |
//! | `da.isnan(x)`, `da.isfinite(x)` | `x.isnan()`, `x.isfinite()` | |
//! | `x.astype(np.int32)` | `x.cast::<i32>()` | |
//! | `da.where(c, x, y)` | [`where_(&c, &x, &y)`](crate::where_) | scalars allowed for `x`, `y` |
//! | `x.sum()`, `x.sum(axis=0)`, `x.sum(axis=(0, 2), keepdims=True)` | `x.sum(..)`, `x.sum(0)`, `x.sum(Axes::from([0, 2]).keepdims())` | |
//! | `x.mean`, `x.var(ddof=1)`, `x.std`, `x.min`, `x.max`, `x.prod`, `x.any`, `x.all` | same names; `x.var(axes, 1)` | integer sums are `i64`/`u64`, means `f64` |
//! | `x.argmin(axis=0)` | `x.argmin(0)` | one axis |
//! | `da.nansum`, `da.nanmean`, `da.nanmin`, `da.nanmax`, `da.nanvar`, `da.nanstd` | `x.nansum(..)`, ... | |
//! | `x.cumsum(axis=0)`, `x.cumprod(axis=0)` | `x.cumsum(0)`, `x.cumprod(0)` | |
//! | `x.rechunk(...)` | `x.rechunk(...)` | |
//! | `da.concatenate([x, y], axis=0)`, `da.stack` | [`concatenate(0, &[&x, &y])`](crate::concatenate), [`stack`](crate::stack) | |
//! | `x[None]`, `da.expand_dims(x, 0)` | `x.insert_axis(0)` | |
//! | `x.compute()` | `x.compute()` | returns `ndarray::ArrayD<T>` |
//! | `dask.compute(a, b)` | `Executor::cpu().compute_many(&[&a, &b])` | shared work done once |
//! | `x.visualize()` / `x.dask` | `x.explain()` | text plan: fused graph, then task layers |
//! | `dask.config.set(num_workers=2)` | `Executor::cpu().threads(2)` | configuration is a value |
//! | `ProgressBar()` | `Executor::cpu().progress(true)` | |
//! | `split_every=` | `Executor::cpu().split_every(n)` | fan-in of tree reductions |
//! | `da.from_zarr`, `x.to_zarr` | `open_zarr`, `x.to_zarr`, `Executor::to_zarr_with` | v2/v3 read, v3 write; resumable (`ZarrWriteOptions::resume`) |
//! | `x[:10, ::2]`, `x[::-1]` | `x.slice(s![..10, ..;2])`, `x.flip(0)` | pushed down to the inputs and into Zarr reads |
//! | `x.T`, `x.transpose(axes)`, `da.moveaxis`, `da.swapaxes` | `x.t()`, `x.permuted_axes(&axes)?`, `x.moveaxis(s, d)?`, `x.swapaxes(a, b)?` | one block in, one block out |
//! | `x.reshape(shape)` | `x.reshape(&shape)?` | rechunks only the axes that merge or split, keeping block sizes |
//! | `da.take(x, idx, axis)`, `x[:, [3, 1, 1]]` | `x.take(&idx, axis)?` | each output block reads the input blocks its indices lie in |
//! | `da.broadcast_to(x, shape)` | `x.broadcast_to(&shape)?` | new axes get bounded blocks, not one chunk |
//! | `da.roll`, `da.pad(x, w, mode)`, `da.tile`, `da.repeat` | `x.roll(s, ax)?`, `x.pad(&w, PadMode::Reflect)?`, `x.tile(&reps)?`, `x.repeat(n, ax)?` | all pad modes: constant, edge, reflect, symmetric, wrap |
//! | `da.diag(v)`, `x.diagonal(k)` | [`diag(&v, k)`](crate::diag), `x.diagonal(k)?` | 2-d |
//! | `x.map_blocks(f)`, `x.map_blocks(f, chunks=...)` | `x.map_blocks(f)?`, `x.map_blocks_with_chunks(chunks, f)?` | `f` is a Rust closure over `ArrayViewD` |
//! | `da.blockwise(f, "ik", x, "ij", y, "jk")` | [`blockwise("ik", &[(&x, "ij"), (&y, "jk")], f)`](crate::blockwise) | contracted letters arrive whole (dask's `concatenate=True`) |
//! | `x.map_overlap(f, depth, boundary)` | `x.map_overlap(&depth, Boundary::Reflect, f)?` | one task per block: halo assembled (a random input generated in the task, halo included), `f` called, halo trimmed |
//! | `da.coarsen(np.mean, x, {0: 5})` | `x.coarsen(&[5, 1], false)?.mean()?` | any reduction over the windows |
//! | rechunker's `rechunk(source, target_chunks, max_mem, ...)` | `Executor::rechunk_zarr`, `floe rechunk` | intermediate store when a direct copy cannot fit |
//! | `a @ b`, `da.matmul`, `da.dot`, `da.tensordot(a, b, axes=(ia, ib))` | `a.matmul(&b)?`, `a.dot(&b)?`, [`tensordot(&a, &b, &ia, &ib)`](crate::tensordot) | block products summed as a tree (`split_every`); ≥ 3-d operands: NumPy's batched rules (batch axes broadcast) |
//! | `da.linalg.tsqr`, `qr`, `svd`, `svd_compressed(a, k, n_power_iter=, seed=)` | [`linalg::tsqr`](crate::linalg::tsqr), [`qr`](crate::linalg::qr), [`svd`](crate::linalg::svd), [`svd_compressed(&a, k, n_power_iter, seed)`](crate::linalg::svd_compressed) | tall-skinny (svd also short-fat); no oversampling argument |
//! | `da.linalg.cholesky(a, lower=True)`, `inv`, `solve`, `lstsq`, `norm` | [`linalg::cholesky`](crate::linalg::cholesky) (lower), [`inv`](crate::linalg::inv), [`solve`](crate::linalg::solve), [`lstsq`](crate::linalg::lstsq) (returns `x` only), [`norm`](crate::linalg::norm) | `inv`/`solve`: blocked LU with partial pivoting |
//! | `p, l, u = da.linalg.lu(a)`, `da.linalg.solve_triangular(a, b, lower=False)` | [`let (p, l, u) = linalg::lu(&a)?`](crate::linalg::lu), [`linalg::solve_triangular(&a, &b, lower)`](crate::linalg::solve_triangular); [`linalg::lu_pivots`](crate::linalg::lu_pivots) for SciPy's `p_indices=True` | `a = p @ l @ u`; square matrices; chunks need not be square (made square as the common refinement) |
//!
//! Differences worth knowing:
//! - elementwise chains are fused into one tiled program per chunk (dask's
//!   blockwise fusion keeps one NumPy temporary per operation);
//! - a reduction fed by such a chain consumes it chunk by chunk without an
//!   intermediate dask-array layer;
//! - integer division truncates toward zero and `x / 0 == 0` for integers
//!   (dask follows NumPy: `/` returns floats);
//! - `min`, `max`, `argmin`, `argmax` of an empty axis fail when the
//!   expression is built, not at compute time.
