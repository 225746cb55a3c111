#!/usr/bin/env python3
"""The Python peers of floe's benchmark workloads (numpy and dask.array).

    python benches/harness/peers.py ENGINE WORKLOAD SIZE

ENGINE: numpy | dask.  WORKLOAD: W1 W2a W2b W3 W4 W5 W6 W7 W7M FUSED STREAM STREAM2.
SIZE: small | full.

Runs ONE workload once and prints one JSON line on stdout, the same shape as
floe's `examples/workloads.rs`:
    {"engine": "dask", "workload": "W1", "size": "small", "seconds": 0.41, "result": 1.2e6, ...}
A workload an engine does not run prints {"engine":..., "workload":..., "error": "..."}
and exits 0. What is timed follows shared/BENCHMARKS.md: numpy gets its random
inputs pre-generated (untimed) where the table says so; dask builds them in the
graph. dask uses its default threaded scheduler (one thread per core).
Zarr inputs come from make_data.py (created in bench-out/data if missing).
"""
import json
import os
import shutil
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_data  # noqa: E402

SEED = 42

# (shape, chunks) per workload and size: shared/BENCHMARKS.md
SIZES = {
    "W1": {"full": (20000, 2000), "small": (2000, 500)},
    "W3": {"full": (8000, 2000), "small": (2000, 500)},
    "W4": {"full": ((2_000_000, 64), (100_000, 64)), "small": ((200_000, 64), (10_000, 64))},
    "W5": {"full": (10000, 2500), "small": (2000, 500)},
    "W6": {"full": ((100, 10000),), "small": ((20, 2000),)},  # target chunks
    "W7": {"full": (1000, 10), "small": (200, 10)},
    "W7M": {"full": (10000, 10), "small": (10000, 10)},  # always 1,000,000 chunks
}
STREAM_N = 25_000_000  # 200 MB of f64 per array
STREAM_BLOCK = 131_072  # 1 MiB per operand block: the 4 live blocks stay in L2/L3
STREAM_REPS = 5
FUSED_CHUNK = 1_000_000  # dask chunking of the FUSED arrays (8 MB blocks)


def now():
    return time.perf_counter()


def scratch_dir():
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    d = os.path.join(repo, "bench-out", "tmp")
    os.makedirs(d, exist_ok=True)
    return tempfile.mkdtemp(prefix="peer-", dir=d)


def nchunks(n, c):
    return -(-n // c)


# --------------------------------------------------------------------------- W1
def w1(engine, size):
    n, c = SIZES["W1"][size]
    if engine == "numpy":
        rng = np.random.default_rng(SEED)
        x = rng.random((n, n))
        y = rng.random((n, n))
        t = now()
        r = float(np.abs(np.sin(x) * 2 + y * y - 1).sum())
        s = now() - t
        return s, r, {"note": "inputs pre-generated"}
    import dask.array as da
    t = now()
    rng = da.random.default_rng(SEED)
    x = rng.random((n, n), chunks=c)
    y = rng.random((n, n), chunks=c)
    r = float(abs(da.sin(x) * 2 + y * y - 1).sum().compute())
    s = now() - t
    return s, r, {"chunks": nchunks(n, c) ** 2}


# ---------------------------------------------------------------------- W2a/W2b
def w2a(engine, size):
    src = make_data.make_w2(size)
    out_dir = scratch_dir()
    out = os.path.join(out_dir, "w2a_out.zarr")
    import zarr
    from zarr.codecs import ZstdCodec
    try:
        if engine == "numpy":
            t = now()
            x = zarr.open_array(src, mode="r")[:]
            sd = (x - x.mean(0)).std(0)
            zarr.create_array(store=out, data=sd, chunks=sd.shape, compressors=ZstdCodec(level=3))
            s = now() - t
        else:
            import dask.array as da
            t = now()
            x = da.from_zarr(src)
            sd = (x - x.mean(0)).std(0)
            sd.to_zarr(out, compressors=ZstdCodec(level=3))
            s = now() - t
        r = float(zarr.open_array(out, mode="r")[:].astype(np.float64).sum())
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    return s, r, {}


def w2b(engine, size):
    src = make_data.make_w2(size)
    import zarr
    if engine == "numpy":
        t = now()
        x = zarr.open_array(src, mode="r")[:]
        m = x.mean((1, 2))
        s = now() - t
    else:
        import dask.array as da
        t = now()
        m = da.from_zarr(src).mean((1, 2)).compute()
        s = now() - t
    return s, float(m.astype(np.float64).sum()), {"len": int(m.shape[0])}


# --------------------------------------------------------------------------- W3
def w3(engine, size):
    n, c = SIZES["W3"][size]
    if engine == "numpy":
        rng = np.random.default_rng(SEED)
        a = rng.random((n, n))
        b = rng.random((n, n))
        t = now()
        r = float((a @ b).sum())
        s = now() - t
        extra = {"note": "inputs pre-generated"}
    else:
        import dask.array as da
        t = now()
        rng = da.random.default_rng(SEED)
        a = rng.random((n, n), chunks=c)
        b = rng.random((n, n), chunks=c)
        r = float((a @ b).sum().compute())
        s = now() - t
        extra = {}
    extra["gflops"] = 2.0 * n ** 3 / s / 1e9
    return s, r, extra


# --------------------------------------------------------------------------- W4
def w4(engine, size):
    shape, chunks = SIZES["W4"][size]
    if engine == "numpy":
        x = np.random.default_rng(SEED).random(shape)
        t = now()
        sv = np.linalg.svd(x, compute_uv=False)
        s = now() - t
        extra = {"note": "inputs pre-generated"}
    else:
        import dask.array as da
        t = now()
        x = da.random.default_rng(SEED).random(shape, chunks=chunks)
        _, sv, _ = da.linalg.svd(x)
        sv = sv.compute()
        s = now() - t
        extra = {}
    return s, float(sv[0]), dict(extra, s_min=float(sv[-1]))


# --------------------------------------------------------------------------- W5
def _laplace_grown(b):
    """5-point Laplacian of the interior of a block grown by 1 on each side."""
    out = np.zeros_like(b)
    out[1:-1, 1:-1] = (b[:-2, 1:-1] + b[2:, 1:-1] + b[1:-1, :-2] + b[1:-1, 2:]
                       - 4.0 * b[1:-1, 1:-1])
    return out


def w5(engine, size):
    n, c = SIZES["W5"][size]
    if engine == "numpy":
        x = np.random.default_rng(SEED).random((n, n))
        t = now()
        r = float(_laplace_grown(np.pad(x, 1))[1:-1, 1:-1].sum())
        s = now() - t
        extra = {"note": "inputs pre-generated"}
    else:
        import dask.array as da
        t = now()
        x = da.random.default_rng(SEED).random((n, n), chunks=c)
        lap = x.map_overlap(_laplace_grown, depth=1, boundary=0.0, dtype=x.dtype)
        r = float(lap.sum().compute())
        s = now() - t
        extra = {}
    return s, r, extra


# --------------------------------------------------------------------------- W6
def w6(engine, size):
    src = make_data.make_w6(size)
    (target,) = SIZES["W6"][size]
    out_dir = scratch_dir()
    out = os.path.join(out_dir, "w6_out.zarr")
    import zarr
    from zarr.codecs import ZstdCodec
    try:
        if engine == "numpy":
            t = now()
            x = zarr.open_array(src, mode="r")[:]
            z = zarr.create_array(store=out, shape=x.shape, dtype=x.dtype, chunks=target,
                                  compressors=ZstdCodec(level=3))
            z[:] = x
            s = now() - t
        else:
            import dask.array as da
            t = now()
            da.from_zarr(src).rechunk(target).to_zarr(out, compressors=ZstdCodec(level=3))
            s = now() - t
        z = zarr.open_array(out, mode="r")
        r = float(z[0, :].sum())  # first row: a cheap checksum of the write
        extra = {"out_chunks": list(z.chunks)}
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    return s, r, extra


# ------------------------------------------------------------------------ W7/W7M
def w7(engine, size, key="W7"):
    n, c = SIZES[key][size]
    k = nchunks(n, c) ** 2
    if engine == "numpy":
        t = now()
        r = float((np.ones((n, n)) + 1).sum())
        s = now() - t
        return s, r, {"chunks": k}
    if key == "W7M" and os.environ.get("FLOE_BENCH_DASK_W7M") != "1":
        raise Skip("dask not run on the 1,000,000-task graph (minutes; set FLOE_BENCH_DASK_W7M=1 to force)")
    import dask.array as da
    t = now()
    a = da.ones((n, n), chunks=c) + 1
    r = float(a.sum().compute())
    s = now() - t
    return s, r, {"chunks": k, "tasks_per_s": k / s}


def w7m(engine, size):
    return w7(engine, size, "W7M")


# ------------------------------------------------------------------- STREAM/FUSED
def _triad_blocked(a, b, c, scalar, lo, hi, block):
    tmp = np.empty(block)
    for i in range(lo, hi, block):
        j = min(hi, i + block)
        t = tmp[: j - i]
        np.multiply(c[i:j], scalar, out=t)
        np.add(b[i:j], t, out=a[i:j])


def stream(engine, size, threads=1):
    if engine != "numpy":
        raise Skip("STREAM is measured with numpy only")
    n = STREAM_N
    a = np.zeros(n)
    b = np.full(n, 1.0)
    c = np.full(n, 2.0)
    scalar = 3.0
    block = STREAM_BLOCK
    times = []
    for _ in range(STREAM_REPS):
        t = now()
        if threads == 1:
            _triad_blocked(a, b, c, scalar, 0, n, block)
        else:
            bounds = np.linspace(0, n, threads + 1).astype(int)
            ts = [threading.Thread(target=_triad_blocked, args=(a, b, c, scalar, bounds[k], bounds[k + 1], block))
                  for k in range(threads)]
            for th in ts:
                th.start()
            for th in ts:
                th.join()
        times.append(now() - t)
    s = min(times)
    return s, float(a[n // 2]), {"gbps": 3 * 8 * n / s / 1e9, "threads": threads,
                                  "block": block, "bytes_per_array": 8 * n}


def stream2(engine, size):
    return stream(engine, size, threads=2)


def fused(engine, size):
    """`b + c * 3.0` over two 200 MB f64 arrays already in memory (only the compute timed)."""
    n = STREAM_N
    rng = np.random.default_rng(SEED)
    b = rng.random(n)
    c = rng.random(n)
    times = []
    if engine == "numpy":
        for _ in range(STREAM_REPS):
            t = now()
            a = b + c * 3.0
            times.append(now() - t)
            del a
        extra = {"note": "plain numpy expression (one temporary)"}
    else:
        import dask.array as da
        db = da.from_array(b, chunks=FUSED_CHUNK)
        dc = da.from_array(c, chunks=FUSED_CHUNK)
        for _ in range(3):
            t = now()
            a = (db + dc * 3.0).compute()
            times.append(now() - t)
            del a
        extra = {"chunks": nchunks(n, FUSED_CHUNK)}
    s = min(times)
    return s, None, dict(extra, gbps=3 * 8 * n / s / 1e9)


class Skip(Exception):
    pass


WORKLOADS = {
    "W1": w1, "W2A": w2a, "W2B": w2b, "W3": w3, "W4": w4, "W5": w5, "W6": w6,
    "W7": w7, "W7M": w7m, "STREAM": stream, "STREAM2": stream2, "FUSED": fused,
}
CANON = {k.upper(): k for k in ["W1", "W2a", "W2b", "W3", "W4", "W5", "W6", "W7", "W7M",
                                "STREAM", "STREAM2", "FUSED"]}


def main(argv):
    if len(argv) != 4 or argv[1] not in ("numpy", "dask") or argv[3] not in ("small", "full"):
        print(__doc__, file=sys.stderr)
        return 2
    engine, wl, size = argv[1], argv[2], argv[3]
    key = wl.upper()
    out = {"engine": engine, "workload": CANON.get(key, wl), "size": size}
    if key not in WORKLOADS:
        out["error"] = f"unknown workload {wl}"
        print(json.dumps(out), flush=True)
        return 0
    try:
        s, r, extra = WORKLOADS[key](engine, size)
        out.update(seconds=s, result=r)
        out.update(extra)
    except Skip as e:
        out["error"] = f"skipped: {e}"
    except Exception as e:  # report, don't crash the harness
        out["error"] = f"{type(e).__name__}: {e}"
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
