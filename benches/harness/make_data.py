#!/usr/bin/env python3
"""Create the Zarr v3 input stores the benchmark workloads read (W2a/W2b, W6).

    python benches/harness/make_data.py [--size small|full] [--out bench-out/data] [--only w2,w6] [--force]

Stores are written once into a cache folder (bench-out/ is git-ignored) and
reused; a store whose zarr.json exists is left alone unless --force.

W2 (climate-like field), Zarr v3, float32, zstd, one array at the store root:
    full  (7300, 180, 360) chunks (365, 180, 360)   ~1.9 GB uncompressed
    small ( 730,  90, 180) chunks ( 73,  90, 180)
  value(t, lat, lon) = base(lat, lon) + seasonal(t, lat) + trend(t) + N(0, 2)
    base      = 30 cos(lat) - 10 + 3 sin(2 lon)          (degrees C-ish)
    seasonal  = 8 sin(lat) cos(2 pi t / 365)             (opposite in the two hemispheres)
    trend     = 0.02 t / 365                             (per year)
W6 (rechunk input), Zarr v3, float64 U[0,1), zstd, one array at the store root:
    full  10000 x 10000 chunks (10000, 100)
    small  2000 x  2000 chunks (2000, 20)
"""
import argparse
import os
import shutil
import sys
import time

import numpy as np
import zarr
from zarr.codecs import ZstdCodec

W2_SIZES = {
    "full": ((7300, 180, 360), (365, 180, 360)),
    "small": ((730, 90, 180), (73, 90, 180)),
}
W6_SIZES = {
    "full": ((10000, 10000), (10000, 100)),
    "small": ((2000, 2000), (2000, 20)),
}


def default_out():
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    return os.path.join(repo, "bench-out", "data")


def w2_path(size, out=None):
    return os.path.join(out or default_out(), f"w2_{size}.zarr")


def w6_path(size, out=None):
    return os.path.join(out or default_out(), f"w6_{size}.zarr")


def _exists(path):
    return os.path.exists(os.path.join(path, "zarr.json"))


def make_w2(size, out=None, force=False, seed=2026):
    path = w2_path(size, out)
    if _exists(path) and not force:
        return path
    shape, chunks = W2_SIZES[size]
    nt, nlat, nlon = shape
    tmp = path + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    arr = zarr.create_array(
        store=tmp, shape=shape, chunks=chunks, dtype="float32",
        compressors=ZstdCodec(level=3), fill_value=0.0, zarr_format=3,
        dimension_names=["time", "lat", "lon"],
    )
    lat = np.deg2rad(np.linspace(-89.5, 89.5, nlat))[:, None]
    lon = np.deg2rad(np.linspace(0.5, 359.5, nlon))[None, :]
    base = (30.0 * np.cos(lat) - 10.0 + 3.0 * np.sin(2.0 * lon)).astype(np.float32)
    rng = np.random.default_rng(seed)
    ct = chunks[0]
    for t0 in range(0, nt, ct):
        t1 = min(nt, t0 + ct)
        t = np.arange(t0, t1, dtype=np.float64)[:, None, None]
        seasonal = 8.0 * np.sin(lat)[None] * np.cos(2.0 * np.pi * t / 365.0)
        trend = 0.02 * t / 365.0
        noise = rng.standard_normal((t1 - t0, nlat, nlon), dtype=np.float32) * np.float32(2.0)
        block = base[None] + (seasonal + trend).astype(np.float32) + noise
        arr[t0:t1] = block.astype(np.float32, copy=False)
    shutil.rmtree(path, ignore_errors=True)
    os.replace(tmp, path)
    return path


def make_w6(size, out=None, force=False, seed=2027):
    path = w6_path(size, out)
    if _exists(path) and not force:
        return path
    shape, chunks = W6_SIZES[size]
    tmp = path + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    arr = zarr.create_array(
        store=tmp, shape=shape, chunks=chunks, dtype="float64",
        compressors=ZstdCodec(level=3), fill_value=0.0, zarr_format=3,
    )
    rng = np.random.default_rng(seed)
    # write in column slabs that match the stored chunks (bounded memory)
    step = chunks[1] * max(1, 1000 // chunks[1])
    for c0 in range(0, shape[1], step):
        c1 = min(shape[1], c0 + step)
        arr[:, c0:c1] = rng.random((shape[0], c1 - c0))
    shutil.rmtree(path, ignore_errors=True)
    os.replace(tmp, path)
    return path


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", choices=["small", "full"], default="small")
    p.add_argument("--out", default=None, help="cache folder (default bench-out/data)")
    p.add_argument("--only", default="w2,w6", help="comma list of w2,w6")
    p.add_argument("--force", action="store_true")
    a = p.parse_args()
    for name in a.only.split(","):
        t = time.perf_counter()
        fn = {"w2": make_w2, "w6": make_w6}[name.strip().lower()]
        path = fn(a.size, a.out, a.force)
        print(f"{name}: {path} ({time.perf_counter() - t:.1f} s)", file=sys.stderr)
        print(path)


if __name__ == "__main__":
    main()
