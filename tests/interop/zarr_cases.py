#!/usr/bin/env python3
"""Interoperability cases between floe and zarr-python (zarr 3.1.x + numpy).

Subcommands
-----------
write DIR       Write many small Zarr v2/v3 stores under DIR with zarr-python,
                plus DIR/manifest.json and DIR/manifest.txt describing them and,
                per case, the exact expected values as a raw little-endian
                C-order binary (bool: one byte per element).  Every store is
                read back with zarr-python before it is listed.
read DIR        Read the stores listed in DIR/manifest.json (or manifest.txt)
                with zarr-python and compare them exactly with the expected
                binaries (floats bitwise; any NaN matches any NaN).  One line a
                case; exit status 1 on any mismatch.
self-check DIR  write DIR, then read DIR.

Manifest
--------
manifest.json: {"cases": [{"name", "path", "dtype", "shape", "expected",
                 optional: "zarr_format", "chunks", "codec", "note"}]}
   path and expected are relative to DIR; dtype is a numpy name ("float32");
   "chunks" is the expected (outer) chunk shape, "codec" the expected
   compressor: "none", "zstd", "gzip" or "NAME:LEVEL".
manifest.txt:  one case a line, tab separated:
   name  path  dtype  shape(comma separated, empty for 0-d)  expected
"""

import json
import os
import shutil
import sys
import traceback
import warnings

import numpy as np

warnings.filterwarnings("ignore")  # zarr warns about v2 / unstable codec specs

import numcodecs  # noqa: E402
import zarr  # noqa: E402
from zarr.codecs import (  # noqa: E402
    BloscCodec,
    BloscShuffle,
    BytesCodec,
    Crc32cCodec,
    GzipCodec,
    ShardingCodec,
    TransposeCodec,
    ZstdCodec,
)

DTYPES = [
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float32",
    "float64",
]
INTS = [d for d in DTYPES if d.startswith(("int", "uint"))]
FLOATS = ["float32", "float64"]


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------


def make_data(dtype, shape, seed):
    """Deterministic values covering the dtype's range, with the float
    specials (NaN, ±inf, -0.0, subnormals, max/min) sprinkled in."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    if dt == np.bool_:
        flat = rng.random(n) < 0.5
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        flat = rng.integers(info.min, info.max, size=n, dtype=dt, endpoint=True)
        specials = [info.min, info.max, 0, 1]
        if dt.kind == "i":
            specials.append(-1)
        for i, v in enumerate(specials):
            if n > 0:
                flat[(i * 7919) % n] = v
    else:
        flat = (rng.standard_normal(n) * 1000.0).astype(dt)
        fi = np.finfo(dt)
        specials = [
            np.nan,
            np.inf,
            -np.inf,
            -0.0,
            0.0,
            fi.smallest_subnormal,
            -fi.smallest_subnormal,
            fi.max,
            fi.min,
            fi.tiny,
            1.0 / 3.0,
        ]
        # a few specials only, so most chunks hold ordinary values
        for i, v in enumerate(specials):
            if n > 0 and i < max(1, n // 8):
                flat[(i * 7919 + 3) % n] = dt.type(v)
    return flat.reshape(shape)


def le_bytes(a):
    """Raw little-endian C-order bytes, as numpy computes them."""
    a = np.asarray(a)
    a = a.astype(a.dtype.newbyteorder("<"))
    return np.ascontiguousarray(a).tobytes()


def compare(got, want, dtype):
    """None if equal (floats bitwise, NaN == NaN), else a message."""
    dt = np.dtype(dtype)
    got = np.asarray(got)
    if got.shape != want.shape:
        return f"shape {list(got.shape)} != expected {list(want.shape)}"
    if got.dtype.kind != dt.kind or got.dtype.itemsize != dt.itemsize:
        return f"dtype {got.dtype} != expected {dt}"
    g = got.astype(dt.newbyteorder("<"))
    w = want.astype(dt.newbyteorder("<"))
    if dt.kind == "f":
        ui = np.dtype(f"<u{dt.itemsize}")
        gb, wb = g.view(ui), w.view(ui)
        bad = (gb != wb) & ~(np.isnan(g) & np.isnan(w))
    else:
        bad = g != w
    nbad = int(np.count_nonzero(bad))
    if nbad == 0:
        return None
    idx = np.argwhere(bad)[:5]
    parts = []
    for ix in idx:
        t = tuple(int(v) for v in ix)
        parts.append(f"at {list(t)}: got {g[t]!r} expected {w[t]!r}")
    return f"{nbad} of {bad.size} elements differ; " + "; ".join(parts)


# ---------------------------------------------------------------------------
# write
# ---------------------------------------------------------------------------


class Writer:
    def __init__(self, root):
        self.root = os.path.abspath(root)
        self.cases = []
        self.rejects = []
        self.names = set()
        os.makedirs(os.path.join(self.root, "expected"), exist_ok=True)

    def case(
        self,
        name,
        dtype,
        shape,
        chunks,
        *,
        fmt=3,
        fill=None,
        regions=None,
        data=None,
        seed=None,
        path=None,
        note="",
        unwritten_value=None,
        **create,
    ):
        """Create one store with zarr-python.

        regions: None to write the whole array, else a list of index tuples
        written one after the other (the rest keeps the fill value, so chunks
        outside every region are never written).  unwritten_value: what
        zarr-python reads where nothing was written, when that differs from
        `fill` (v2 fill_value null)."""
        assert name not in self.names, name
        self.names.add(name)
        shape = tuple(shape)
        rel = path or f"{name}.zarr"
        full = os.path.join(self.root, rel)
        if os.path.exists(full):
            shutil.rmtree(full)
        if seed is None:
            seed = sum(map(ord, name)) * 1000003 % (2**32)
        npdt = np.dtype(create.get("dtype_override", dtype))
        create.pop("dtype_override", None)
        if data is None:
            data = make_data(npdt.newbyteorder("="), shape, seed)
        kw = dict(create)
        if fill is not None or "fill_value" not in kw:
            kw["fill_value"] = fill if fill is not None else npdt.type(0)
        arr = zarr.create_array(
            full,
            shape=shape,
            chunks=chunks,
            dtype=npdt,
            zarr_format=fmt,
            **kw,
        )
        base = unwritten_value if unwritten_value is not None else kw["fill_value"]
        truth = np.full(shape, base, dtype=npdt.newbyteorder("="))
        if regions is None:
            regions = [tuple(slice(None) for _ in shape)] if shape else [()]
        for reg in regions:
            if shape == ():
                arr[...] = data
                truth[...] = data
            else:
                arr[reg] = data[reg]
                truth[reg] = data[reg]
        # zarr-python must read back exactly what we expect
        back = zarr.open_array(full, mode="r")[...]
        msg = compare(back, truth, np.dtype(dtype))
        if msg:
            raise SystemExit(f"write {name}: zarr-python does not read back its own store: {msg}")
        exp_rel = os.path.join("expected", f"{name}.bin")
        with open(os.path.join(self.root, exp_rel), "wb") as f:
            f.write(le_bytes(truth))
        self.cases.append(
            {
                "name": name,
                "path": rel,
                "dtype": np.dtype(dtype).name,
                "shape": list(shape),
                "expected": exp_rel,
                "zarr_format": fmt,
                "note": note,
            }
        )

    def patch_json(self, rel, fn):
        """Edit a store's metadata document (zarr.json or .zarray) in place."""
        full = os.path.join(self.root, rel)
        meta = os.path.join(full, "zarr.json")
        if not os.path.exists(meta):
            meta = os.path.join(full, ".zarray")
        with open(meta) as f:
            m = json.load(f)
        fn(m)
        with open(meta, "w") as f:
            json.dump(m, f, indent=2)

    def reject(self, name, dtype, reason, make):
        """A store floe must refuse: `open_zarr::<dtype>` or `compute` is an
        error (never a panic).  `make(path)` builds it; what zarr-python does
        with it is recorded in the manifest as information."""
        assert name not in self.names, name
        self.names.add(name)
        rel = f"reject/{name}.zarr"
        full = os.path.join(self.root, rel)
        if os.path.exists(full):
            shutil.rmtree(full)
        make(full)
        try:
            zarr.open_array(full, mode="r")[...]
            zp = "zarr-python reads it"
        except Exception as e:
            zp = f"zarr-python refuses: {type(e).__name__}: {str(e).splitlines()[0][:160]}"
        self.rejects.append({"name": name, "path": rel, "dtype": dtype, "reason": reason, "zarr_python": zp})

    def finish(self):
        with open(os.path.join(self.root, "manifest.json"), "w") as f:
            json.dump({"cases": self.cases}, f, indent=1)
        with open(os.path.join(self.root, "manifest.txt"), "w") as f:
            for c in self.cases:
                f.write(
                    "\t".join(
                        [
                            c["name"],
                            c["path"],
                            c["dtype"],
                            ",".join(str(s) for s in c["shape"]),
                            c["expected"],
                        ]
                    )
                    + "\n"
                )
        with open(os.path.join(self.root, "manifest_reject.json"), "w") as f:
            json.dump({"cases": self.rejects}, f, indent=1)
        with open(os.path.join(self.root, "manifest_reject.txt"), "w") as f:
            for c in self.rejects:
                f.write("\t".join([c["name"], c["path"], c["dtype"], c["reason"]]) + "\n")


def _flip_byte(path, i):
    with open(path, "rb") as f:
        b = bytearray(f.read())
    b[i] ^= 0xFF
    with open(path, "wb") as f:
        f.write(bytes(b))


def int_min(dt):
    return np.iinfo(np.dtype(dt)).min


def int_max(dt):
    return np.iinfo(np.dtype(dt)).max


def write_all(root):
    w = Writer(root)
    W = w.case

    # --- every dtype, v2 and v3, default codecs, partial edge chunks -------
    for fmt in (2, 3):
        for dt in DTYPES:
            W(f"v{fmt}_basic_{dt}", dt, (13, 10), (4, 3), fmt=fmt,
              note="default compressor (zstd), partial edge chunks")

    # --- fill values with never-written chunks ------------------------------
    # shape (10, 12), chunks (3, 5): chunk grid 4 x 3.  Region A is one full
    # chunk, region B is part of one chunk; the other chunks are never written.
    regions = [(slice(0, 3), slice(0, 5)), (slice(4, 6), slice(7, 12))]
    fills = [
        (3, "float32", np.float32(np.nan), "nan"),
        (3, "float64", np.nan, "nan"),
        (3, "float64", np.inf, "posinf"),
        (3, "float32", np.float32(-np.inf), "neginf"),
        (3, "float64", -np.inf, "neginf"),
        (3, "float32", np.float32(np.inf), "posinf"),
        (2, "float64", np.nan, "nan"),
        (2, "float32", np.float32(np.nan), "nan"),
        (2, "float32", np.float32(np.inf), "posinf"),
        (2, "float64", -np.inf, "neginf"),
        (3, "float64", -0.0, "negzero"),
        (3, "float32", np.float32(2.5), "2_5"),
        (2, "float64", 1e300, "1e300"),
    ]
    for dt in INTS:
        fills.append((3, dt, int_min(dt), "min"))
        fills.append((3, dt, int_max(dt), "max"))
    for dt in ("int8", "int32", "int64", "uint16", "uint64"):
        fills.append((2, dt, int_min(dt), "min"))
        fills.append((2, dt, int_max(dt), "max"))
    fills.append((3, "bool", True, "true"))
    fills.append((2, "bool", True, "true"))
    for fmt, dt, fv, tag in fills:
        W(f"v{fmt}_fill_{tag}_{dt}", dt, (10, 12), (3, 5), fmt=fmt,
          fill=np.dtype(dt).type(fv), regions=regions,
          note="fill value, most chunks never written")
    # nothing written at all
    W("v3_fill_only_float64", "float64", (7, 5), (3, 2), fill=42.5, regions=[],
      note="no chunk written")
    W("v2_fill_only_int16", "int16", (7, 5), (3, 2), fmt=2, fill=np.int16(-7),
      regions=[], note="no chunk written")
    W("v3_fill_only_nan_float32", "float32", (9,), (4,), fill=np.float32(np.nan),
      regions=[], note="no chunk written")
    # v2 fill_value null: zarr-python reads unwritten chunks as zeros
    W("v2_fill_null_int32", "int32", (10, 12), (3, 5), fmt=2, fill_value=None,
      regions=regions, unwritten_value=0,
      note="v2 fill_value null; zarr-python reads missing chunks as 0")
    W("v2_fill_null_float64", "float64", (10, 12), (3, 5), fmt=2, fill_value=None,
      regions=regions, unwritten_value=0.0,
      note="v2 fill_value null; zarr-python reads missing chunks as 0")

    # --- compressors --------------------------------------------------------
    sh = (17, 11)
    ch = (5, 4)
    # v3
    W("v3_zstd3_checksum_float64", "float64", sh, ch, compressors=[ZstdCodec(level=3, checksum=True)])
    W("v3_zstd_neg_level_int32", "int32", sh, ch, compressors=[ZstdCodec(level=-3)])
    W("v3_gzip5_float32", "float32", sh, ch, compressors=[GzipCodec(level=5)])
    W("v3_gzip1_uint16", "uint16", sh, ch, compressors=[GzipCodec(level=1)])
    W("v3_nocompress_int64", "int64", sh, ch, compressors=None)
    W("v3_nocompress_bool", "bool", sh, ch, compressors=None)
    W("v3_crc32c_only_float64", "float64", sh, ch, compressors=[Crc32cCodec()])
    W("v3_zstd_crc32c_int16", "int16", sh, ch, compressors=[ZstdCodec(level=1), Crc32cCodec()])
    W("v3_gzip_crc32c_uint32", "uint32", sh, ch, compressors=[GzipCodec(level=6), Crc32cCodec()])
    for cname in ("lz4", "zstd", "blosclz", "zlib", "lz4hc"):
        for shuf in ("shuffle", "bitshuffle", "noshuffle"):
            for dt in ("float64", "int16") if cname in ("lz4", "zstd") else ("float32",):
                W(f"v3_blosc_{cname}_{shuf}_{dt}", dt, sh, ch,
                  compressors=[BloscCodec(cname=cname, clevel=5, shuffle=BloscShuffle[shuf])])
    W("v3_blosc_zstd_shuffle_uint8", "uint8", sh, ch,
      compressors=[BloscCodec(cname="zstd", clevel=5, shuffle=BloscShuffle.shuffle)])
    W("v3_blosc_lz4_bitshuffle_bool", "bool", sh, ch,
      compressors=[BloscCodec(cname="lz4", clevel=5, shuffle=BloscShuffle.bitshuffle)])
    W("v3_blosc_crc32c_uint64", "uint64", sh, ch,
      compressors=[BloscCodec(cname="lz4", clevel=1, shuffle=BloscShuffle.shuffle), Crc32cCodec()])
    # v2
    W("v2_zstd3_float64", "float64", sh, ch, fmt=2, compressors=numcodecs.Zstd(level=3))
    W("v2_gzip5_float32", "float32", sh, ch, fmt=2, compressors=numcodecs.GZip(level=5))
    W("v2_zlib4_int32", "int32", sh, ch, fmt=2, compressors=numcodecs.Zlib(level=4))
    W("v2_nocompress_uint32", "uint32", sh, ch, fmt=2, compressors=None)
    W("v2_nocompress_bool", "bool", sh, ch, fmt=2, compressors=None)
    for cname in ("lz4", "zstd", "blosclz", "zlib"):
        for shufname, shuf in (("shuffle", numcodecs.Blosc.SHUFFLE),
                               ("bitshuffle", numcodecs.Blosc.BITSHUFFLE),
                               ("noshuffle", numcodecs.Blosc.NOSHUFFLE)):
            for dt in ("float64", "int16") if cname in ("lz4", "zstd") else ("float32",):
                W(f"v2_blosc_{cname}_{shufname}_{dt}", dt, sh, ch, fmt=2,
                  compressors=numcodecs.Blosc(cname=cname, clevel=5, shuffle=shuf))
    W("v2_blosc_autoshuffle_uint16", "uint16", sh, ch, fmt=2,
      compressors=numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.AUTOSHUFFLE))
    W("v2_blosc_lz4_bitshuffle_bool", "bool", sh, ch, fmt=2,
      compressors=numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.BITSHUFFLE))

    # --- sharding (v3) -------------------------------------------------------
    # shape (20, 17), shards (8, 8), inner chunks (4, 4): a 3 x 3 shard grid,
    # partial shards and partial inner chunks at the edges.
    shard_regions = [
        (slice(0, 4), slice(0, 4)),      # one inner chunk of shard (0,0)
        (slice(9, 14), slice(5, 11)),    # across shards (1,0),(1,1); partial inner chunks
        (slice(17, 20), slice(16, 17)),  # the corner: partial shard, partial inner chunk
    ]
    W("v3_shard_nan_float32", "float32", (20, 17), (4, 4), shards=(8, 8),
      fill=np.float32(np.nan), regions=shard_regions,
      note="sharded; missing shards and missing inner chunks")
    W("v3_shard_full_float64", "float64", (20, 17), (4, 4), shards=(8, 8),
      note="sharded, fully written")
    W("v3_shard_min_int64", "int64", (20, 17), (4, 4), shards=(8, 8),
      fill=np.int64(int_min("int64")), regions=shard_regions)
    W("v3_shard_indexstart_uint16", "uint16", (20, 17), (4, 4),
      shards={"shape": (8, 8), "index_location": "start"},
      fill=np.uint16(65535), regions=shard_regions, note="shard index at the start")
    W("v3_shard_gzip_crc32c_int32", "int32", (20, 17), (4, 4), shards=(8, 8),
      compressors=[GzipCodec(level=4), Crc32cCodec()], fill=np.int32(-5),
      regions=shard_regions)
    W("v3_shard_blosc_bool", "bool", (20, 17), (4, 4), shards=(8, 8),
      compressors=[BloscCodec(cname="lz4", clevel=5, shuffle=BloscShuffle.bitshuffle)],
      regions=shard_regions)
    W("v3_shard_3d_float64", "float64", (6, 9, 10), (2, 3, 4), shards=(4, 6, 8),
      fill=-np.inf, regions=[(slice(0, 2), slice(0, 3), slice(0, 4)),
                             (slice(3, 6), slice(4, 9), slice(5, 10))])
    W("v3_shard_custom_float64", "float64", (13, 11), (8, 8),
      serializer=ShardingCodec(
          chunk_shape=(4, 4),
          codecs=[TransposeCodec(order=(1, 0)), BytesCodec(endian="big"),
                  GzipCodec(level=3), Crc32cCodec()],
          index_codecs=[BytesCodec(endian="little"), Crc32cCodec()],
          index_location="start"),
      compressors=None, filters=None,
      fill=np.nan, regions=[(slice(0, 5), slice(0, 5)), (slice(9, 13), slice(9, 11))],
      note="sharding with inner transpose + big-endian + gzip + crc32c, index at start")

    # --- memory order / transpose -------------------------------------------
    W("v2_orderF_float64", "float64", (13, 10), (4, 3), fmt=2, order="F")
    W("v2_orderF_int16", "int16", (13, 10), (4, 3), fmt=2, order="F")
    W("v2_orderF_3d_uint32", "uint32", (5, 6, 7), (2, 4, 3), fmt=2, order="F")
    W("v2_orderF_fill_float32", "float32", (10, 12), (3, 5), fmt=2, order="F",
      fill=np.float32(np.nan), regions=regions)
    W("v3_transpose_float64", "float64", (13, 10), (4, 3), filters=[TransposeCodec(order=(1, 0))])
    W("v3_transpose_3d_int32", "int32", (5, 6, 7), (2, 4, 3), filters=[TransposeCodec(order=(2, 0, 1))])
    W("v3_transpose_3d_102_uint8", "uint8", (5, 6, 7), (2, 4, 3), filters=[TransposeCodec(order=(1, 0, 2))])
    W("v3_transpose_fill_float32", "float32", (10, 12), (3, 5),
      filters=[TransposeCodec(order=(1, 0))], fill=np.float32(-np.inf), regions=regions)

    # --- big-endian ---------------------------------------------------------
    for dt in (">f8", ">f4", ">i4", ">i2", ">u8", ">u2", ">i8", ">u4"):
        name = np.dtype(dt).name
        W(f"v2_bigendian_{name}", name, (13, 10), (4, 3), fmt=2, dtype_override=dt)
    W("v2_bigendian_fill_nan_float64", "float64", (10, 12), (3, 5), fmt=2,
      dtype_override=">f8", fill=np.nan, regions=regions)
    W("v2_bigendian_orderF_int32", "int32", (13, 10), (4, 3), fmt=2, dtype_override=">i4", order="F")
    for dt in ("float64", "float32", "int32", "int16", "uint64", "uint16", "int64", "uint32"):
        W(f"v3_bigendian_{dt}", dt, (13, 10), (4, 3), serializer=BytesCodec(endian="big"))
    W("v3_bigendian_fill_nan_float32", "float32", (10, 12), (3, 5),
      serializer=BytesCodec(endian="big"), fill=np.float32(np.nan), regions=regions)

    # --- chunk key encodings --------------------------------------------------
    W("v2_sep_slash_float64", "float64", (5, 6, 7), (2, 4, 3), fmt=2,
      chunk_key_encoding={"name": "v2", "separator": "/"})
    W("v2_sep_dot_float64", "float64", (5, 6, 7), (2, 4, 3), fmt=2,
      chunk_key_encoding={"name": "v2", "separator": "."})
    W("v2_sep_slash_fill_int32", "int32", (10, 12), (3, 5), fmt=2,
      chunk_key_encoding={"name": "v2", "separator": "/"}, fill=np.int32(-1), regions=regions)
    W("v3_sep_dot_float64", "float64", (5, 6, 7), (2, 4, 3),
      chunk_key_encoding={"name": "default", "separator": "."})
    W("v3_sep_slash_uint8", "uint8", (5, 6, 7), (2, 4, 3),
      chunk_key_encoding={"name": "default", "separator": "/"})
    W("v3_sep_dot_fill_float32", "float32", (10, 12), (3, 5),
      chunk_key_encoding={"name": "default", "separator": "."},
      fill=np.float32(np.nan), regions=regions)
    W("v3_key_v2_slash_int16", "int16", (5, 6, 7), (2, 4, 3),
      chunk_key_encoding={"name": "v2", "separator": "/"}, note="v3 array, v2 chunk key encoding")
    W("v3_key_v2_dot_float32", "float32", (5, 6, 7), (2, 4, 3),
      chunk_key_encoding={"name": "v2", "separator": "."}, note="v3 array, v2 chunk key encoding")

    # --- shapes: edges, 1-d, 4-d, chunk larger than the array -----------------
    for fmt in (2, 3):
        W(f"v{fmt}_1d_edge_float64", "float64", (17,), (5,), fmt=fmt)
        W(f"v{fmt}_3d_edge_int32", "int32", (5, 6, 7), (2, 4, 3), fmt=fmt)
        W(f"v{fmt}_4d_edge_float32", "float32", (3, 4, 5, 2), (2, 3, 2, 1), fmt=fmt)
        W(f"v{fmt}_chunk_bigger_than_array_int64", "int64", (3, 2), (10, 10), fmt=fmt)
        W(f"v{fmt}_len1_axes_uint8", "uint8", (1, 7, 1), (1, 3, 1), fmt=fmt)

    # --- 0-d ----------------------------------------------------------------------
    for fmt in (2, 3):
        W(f"v{fmt}_0d_float64", "float64", (), (), fmt=fmt, data=np.array(-2.75))
        W(f"v{fmt}_0d_nan_float32", "float32", (), (), fmt=fmt, data=np.array(np.nan, dtype="f4"))
        W(f"v{fmt}_0d_int32", "int32", (), (), fmt=fmt, data=np.array(-123456, dtype="i4"))
        W(f"v{fmt}_0d_uint64", "uint64", (), (), fmt=fmt, data=np.array(int_max("uint64"), dtype="u8"))
        W(f"v{fmt}_0d_bool", "bool", (), (), fmt=fmt, data=np.array(True))
        W(f"v{fmt}_0d_unwritten_int16", "int16", (), (), fmt=fmt, fill=np.int16(-9), regions=[],
          note="0-d, chunk never written")
        W(f"v{fmt}_0d_unwritten_nan_float64", "float64", (), (), fmt=fmt, fill=np.nan, regions=[],
          note="0-d, chunk never written")

    # --- zero-size ---------------------------------------------------------------
    for fmt in (2, 3):
        W(f"v{fmt}_empty_1d_float64", "float64", (0,), (4,), fmt=fmt)
        W(f"v{fmt}_empty_2d_int32", "int32", (0, 5), (2, 5), fmt=fmt)
        W(f"v{fmt}_empty_3d_mid_uint16", "uint16", (4, 0, 3), (2, 1, 3), fmt=fmt)
        W(f"v{fmt}_empty_bool", "bool", (3, 0), (2, 2), fmt=fmt)
    W("v3_empty_sharded_float32", "float32", (0, 6), (2, 2), shards=(4, 4))

    # --- metadata extras ------------------------------------------------------------
    zarr.open_group(os.path.join(w.root, "grp.zarr"), mode="w", zarr_format=3)
    zarr.open_group(os.path.join(w.root, "grp.zarr", "sub"), mode="w", zarr_format=3)
    W("v3_in_group_float64", "float64", (6, 5), (4, 4), path="grp.zarr/sub/arr",
      note="array inside a group hierarchy")
    zarr.open_group(os.path.join(w.root, "grp2.zarr"), mode="w", zarr_format=2)
    W("v2_in_group_int16", "int16", (6, 5), (4, 4), fmt=2, path="grp2.zarr/arr")
    W("v3_dimnames_attrs_float32", "float32", (6, 5), (4, 4),
      dimension_names=["y", "x"], attributes={"units": "K", "nested": {"a": [1, 2]}},
      note="dimension_names and attributes present")
    W("v2_attrs_uint32", "uint32", (6, 5), (4, 4), fmt=2, attributes={"units": "m"})

    # an extension field that readers may ignore (zarr v3 spec: must_understand false)
    W("v3_extra_field_optional_float64", "float64", (6, 5), (4, 4),
      note='extra top-level field {"must_understand": false}')
    w.patch_json("v3_extra_field_optional_float64.zarr",
                 lambda m: m.update(some_extension={"must_understand": False, "x": [1, 2]}))

    # --- stores floe must refuse (an error, never a panic) ------------------------
    def v3(shape=(4, 4), chunks=(2, 2), dtype="float64", **kw):
        def make(full):
            a = zarr.create_array(full, shape=shape, chunks=chunks, dtype=dtype, **kw)
            a[...] = np.arange(int(np.prod(shape))).reshape(shape).astype(dtype)
        return make

    def then(make, fn):
        def go(full):
            make(full)
            fn(full)
        return go

    def patch(fn):
        def go(full):
            w.patch_json(os.path.relpath(full, w.root), fn)
        return go

    def overwrite_chunk(key, data):
        def go(full):
            with open(os.path.join(full, key), "wb") as f:
                f.write(data)
        return go

    w.reject("must_understand_true", "float64", "unknown extension field with must_understand true",
             then(v3(), patch(lambda m: m.update(some_extension={"must_understand": True}))))
    w.reject("extension_without_must_understand", "float64",
             "unknown extension field without must_understand (defaults to true)",
             then(v3(), patch(lambda m: m.update(some_extension={"x": 1}))))
    w.reject("floe_write_in_progress", "float64", "floe's own incomplete-write marker",
             then(v3(), patch(lambda m: m.update(floe_write_in_progress={"must_understand": True}))))
    w.reject("unknown_codec", "float64", "a bytes-to-bytes codec nobody knows",
             then(v3(), patch(lambda m: m["codecs"].append({"name": "no_such_codec"}))))
    w.reject("float16_as_float32", "float32", "float16 is not a floe element type",
             v3(dtype="float16"))
    w.reject("v2_float16_as_float32", "float32", "float16 is not a floe element type",
             lambda full: zarr.create_array(full, shape=(4,), chunks=(2,), dtype="<f2", zarr_format=2))
    w.reject("complex64_as_float32", "float32", "complex64 is not a floe element type",
             v3(dtype="complex64"))
    w.reject("corrupt_zstd_chunk", "float64", "a chunk that is not zstd data",
             then(v3(), overwrite_chunk("c/0/1", b"this is not zstd")))
    w.reject("short_raw_chunk", "int32", "an uncompressed chunk with too few bytes",
             then(v3(dtype="int32", compressors=None), overwrite_chunk("c/1/1", b"\x01\x02\x03")))
    w.reject("bad_crc32c", "float64", "a chunk whose crc32c checksum does not match",
             then(v3(compressors=[Crc32cCodec()]),
                  lambda full: _flip_byte(os.path.join(full, "c/1/0"), 3)))
    w.reject("v2_corrupt_blosc_chunk", "float64", "a v2 chunk that is not blosc data",
             then(lambda full: zarr.create_array(full, shape=(4, 4), chunks=(2, 2), dtype="f8",
                                                 zarr_format=2, compressors=numcodecs.Blosc())
                  .__setitem__(Ellipsis, 1.5),
                  overwrite_chunk("1.1", b"garbage garbage garbage garbage")))
    w.reject("metadata_not_json", "float64", "zarr.json is not JSON",
             then(v3(), lambda full: open(os.path.join(full, "zarr.json"), "w").write("{not json")))
    w.reject("group_not_array", "float64", "a group, not an array",
             lambda full: zarr.open_group(full, mode="w", zarr_format=3))

    w.finish()
    print(f"wrote {len(w.cases)} cases and {len(w.rejects)} stores to refuse under {w.root}")


# ---------------------------------------------------------------------------
# read
# ---------------------------------------------------------------------------


def load_manifest(root):
    pj = os.path.join(root, "manifest.json")
    if os.path.exists(pj):
        with open(pj) as f:
            m = json.load(f)
        return m["cases"] if isinstance(m, dict) else m
    cases = []
    with open(os.path.join(root, "manifest.txt")) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            name, path, dtype, shape, expected = line.split("\t")
            cases.append(
                {
                    "name": name,
                    "path": path,
                    "dtype": dtype,
                    "shape": [int(s) for s in shape.split(",") if s != ""],
                    "expected": expected,
                }
            )
    return cases


def codec_desc(arr):
    comps = list(arr.compressors or ())
    if not comps:
        return "none"
    out = []
    for c in comps:
        n = type(c).__name__.lower()
        lvl = getattr(c, "level", None)
        if "zstd" in n:
            n = "zstd"
        elif "gzip" in n:
            n = "gzip"
        elif "crc32c" in n:
            n = "crc32c"
        out.append(f"{n}:{lvl}" if lvl is not None else n)
    return "+".join(out)


def read_one(root, c):
    path = os.path.join(root, c["path"])
    dtype = np.dtype(c["dtype"])
    shape = tuple(c["shape"])
    with open(os.path.join(root, c["expected"]), "rb") as f:
        raw = f.read()
    want = np.frombuffer(raw, dtype=dtype.newbyteorder("<"))
    if want.size != int(np.prod(shape, dtype=np.int64)):
        return f"expected file holds {want.size} elements, shape {list(shape)} needs {int(np.prod(shape))}", ""
    want = want.reshape(shape)
    arr = zarr.open_array(path, mode="r")
    info = f"v{arr.metadata.zarr_format} chunks={list(arr.chunks)}"
    if getattr(arr, "shards", None):
        info += f" shards={list(arr.shards)}"
    info += f" codec={codec_desc(arr)}"
    problems = []
    if np.dtype(arr.dtype).name != dtype.name:
        problems.append(f"dtype {np.dtype(arr.dtype).name} != expected {dtype.name}")
    if tuple(arr.shape) != shape:
        problems.append(f"shape {list(arr.shape)} != expected {list(shape)}")
    if "zarr_format" in c and c["zarr_format"] is not None and arr.metadata.zarr_format != c["zarr_format"]:
        problems.append(f"zarr_format {arr.metadata.zarr_format} != expected {c['zarr_format']}")
    if c.get("chunks") is not None and list(arr.chunks) != list(c["chunks"]):
        problems.append(f"chunks {list(arr.chunks)} != expected {list(c['chunks'])}")
    if c.get("codec"):
        got = codec_desc(arr)
        exp = c["codec"]
        ok = got == exp or (":" not in exp and got.split(":")[0] == exp)
        if not ok:
            problems.append(f"codec {got} != expected {exp}")
    if not problems:
        got = arr[...]
        msg = compare(got, want, dtype)
        if msg:
            problems.append(msg)
    return "; ".join(problems) or None, info


def read_all(root):
    root = os.path.abspath(root)
    cases = load_manifest(root)
    failed = []
    for c in cases:
        try:
            msg, info = read_one(root, c)
        except Exception as e:  # a store zarr-python refuses to open is a failure
            msg, info = f"{type(e).__name__}: {e}", ""
            if os.environ.get("FLOE_INTEROP_TRACEBACK"):
                traceback.print_exc()
        if msg:
            failed.append(c["name"])
            print(f"FAIL {c['name']} ({c['path']}): {msg}")
        else:
            print(f"ok   {c['name']} {info}")
    print(f"{len(cases) - len(failed)} of {len(cases)} cases match")
    if failed:
        print("mismatching cases: " + ", ".join(failed))
        return 1
    return 0


def main(argv):
    if len(argv) != 3 or argv[1] not in ("write", "read", "self-check"):
        print(__doc__)
        return 2
    cmd, root = argv[1], argv[2]
    print(f"zarr {zarr.__version__}, numpy {np.__version__}, numcodecs {numcodecs.__version__}")
    if cmd in ("write", "self-check"):
        os.makedirs(root, exist_ok=True)
        write_all(root)
    if cmd in ("read", "self-check"):
        return read_all(root)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
