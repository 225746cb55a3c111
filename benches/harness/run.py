#!/usr/bin/env python3
"""floe benchmark driver: floe vs numpy vs dask.array, one table, ratios from one run.

    python3 benches/harness/run.py [--size small|full] [--workloads W1,W7,...] [--repeat 3]

Steps: (1) make the venv .bench-venv (numpy, dask[array], zarr) if missing;
(2) `cargo build --release --example workloads`; (3) create the Zarr inputs
(bench-out/data) the chosen workloads read; (4) run every (workload, engine)
in a FRESH process under `/usr/bin/time -v` (peak RSS), `--repeat` times,
interleaving the engines, and take medians; (5) print the table and write it
to bench-out/results.md (raw runs to bench-out/results.json).

Only the standard library is used here; the peers run in the venv's python.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
VENV = os.path.join(REPO, ".bench-venv")
VPY = os.path.join(VENV, "bin", "python")
PIP_PKGS = ["numpy", "dask[array]", "zarr"]
DATA_DIR = os.path.join(REPO, "bench-out", "data")  # the Zarr inputs (make_data.py's default), whatever --out

ALL = ["W1", "W2a", "W2b", "W3", "W4", "W5", "W6", "W7", "W7M", "FUSED", "STREAM", "STREAM2"]
DEFAULT = ["W1", "W2b", "W7", "W7M"]
ENGINES = {  # which engines run which workload
    "STREAM": ["numpy"], "STREAM2": ["numpy"],
}
DEFAULT_ENGINES = ["floe", "numpy", "dask"]
NEEDS_DATA = {"W2a": "w2", "W2b": "w2", "W6": "w6"}
# environment variables that slow numpy's OpenBLAS on these machines: unset for numpy/dask only
PY_UNSET = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def canon(name):
    for w in ALL:
        if w.lower() == name.strip().lower():
            return w
    raise SystemExit(f"unknown workload {name!r}; known: {', '.join(ALL)}")


# ----------------------------------------------------------------------- setup
def ensure_venv():
    ok = False
    if os.path.exists(VPY):
        ok = subprocess.run([VPY, "-c", "import numpy, dask.array, zarr"],
                            capture_output=True).returncode == 0
    if ok:
        return
    log(f"creating {VENV} with {' '.join(PIP_PKGS)} ...")
    if not os.path.exists(VPY):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    subprocess.run([VPY, "-m", "pip", "install", "-q", "--upgrade", "pip"], check=False)
    subprocess.run([VPY, "-m", "pip", "install", "-q", *PIP_PKGS], check=True)


def build_floe():
    """Build the workloads example; returns (path to the binary, None) or (None, error)."""
    log("cargo build --release --example workloads ...")
    p = subprocess.run(
        ["cargo", "build", "--release", "--example", "workloads", "--message-format=json-render-diagnostics"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    exe = None
    for line in p.stdout.splitlines():
        try:
            m = json.loads(line)
        except ValueError:
            continue
        if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == "workloads" \
                and m.get("executable"):
            exe = m["executable"]
    if p.returncode != 0 or not exe:
        errs = [l for l in p.stderr.splitlines() if l.startswith("error")]
        tail = p.stderr.strip().splitlines()
        msg = errs[0] if errs else (tail[-1] if tail else "no executable")
        log(p.stderr[-4000:])
        return None, f"build failed: {msg}"[:160]
    return exe, None


def make_data(kind, size):
    log(f"preparing {kind} store ({size}) ...")
    env = py_env()
    p = subprocess.run([VPY, os.path.join(HERE, "make_data.py"), "--size", size, "--only", kind, "--out", DATA_DIR],
                       env=env, stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise SystemExit(f"make_data.py failed for {kind}")
    return p.stdout.strip().splitlines()[-1]


def py_env():
    env = dict(os.environ)
    for k in PY_UNSET:
        env.pop(k, None)
    return env


# ------------------------------------------------------------------------- runs
RSS_RE = re.compile(r"Maximum resident set size \(kbytes\):\s*(\d+)")


GNU_TIME = "/usr/bin/time"


def _run_wait4(cmd, env, timeout):
    """Fallback without GNU time: the child's own max RSS from wait4()."""
    import tempfile
    import threading
    with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
        p = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=fo, stderr=fe, text=True, start_new_session=True)
        timer = threading.Timer(timeout, lambda: os.killpg(p.pid, signal.SIGKILL))
        timer.start()
        _, status, ru = os.wait4(p.pid, 0)
        timed_out = not timer.is_alive()
        timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        fo.seek(0)
        fe.seek(0)
        err = fe.read()
        if timed_out:
            return None, None, None
        err += f"\n\tMaximum resident set size (kbytes): {ru.ru_maxrss}\n"
        if p.returncode < 0:
            err += f"Command terminated by signal {-p.returncode}\n"
        return fo.read(), err, p.returncode


def run_one(cmd, env, timeout):
    """Run cmd under /usr/bin/time -v in its own process group; returns a dict."""
    t0 = time.time()
    if os.path.exists(GNU_TIME):
        p = subprocess.Popen([GNU_TIME, "-v", *cmd], cwd=REPO, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            out = None
        rc = p.returncode
    else:
        out, err, rc = _run_wait4(cmd, env, timeout)
    if out is None:
        return {"error": f"timeout after {timeout} s", "wall": time.time() - t0}
    res = None
    for line in reversed(out.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                res = json.loads(line)
                break
            except ValueError:
                pass
    m = RSS_RE.search(err)
    rss_mb = int(m.group(1)) / 1024 if m else None
    if res is None:
        tail = [l for l in err.splitlines() if l.strip() and not l.startswith("\t")
                and "Command exited with non-zero status" not in l and "Command terminated by signal" not in l]
        sig = re.search(r"Command terminated by signal (\d+)", err)
        why = f"signal {sig.group(1)}" if sig else f"exit {rc}"
        res = {"error": f"no result ({why}): " + " | ".join(tail[-3:])[:300]}
    res["peak_mb"] = rss_mb
    res["wall"] = time.time() - t0
    return res


def command(engine, wl, size, exe, threads, data_dir):
    if engine == "floe":
        cmd = [exe, wl, "--size", size, "--data", data_dir]
        if threads:
            cmd += ["--threads", str(threads)]
        env = dict(os.environ, RUST_BACKTRACE="0")
        return cmd, env
    return [VPY, os.path.join(HERE, "peers.py"), engine, wl, size], py_env()


def median_row(runs):
    ok = [r for r in runs if "error" not in r and r.get("seconds") is not None]
    if not ok:
        return {"error": runs[0].get("error", "no runs") if runs else "no runs",
                "peak_mb": runs[0].get("peak_mb") if runs else None, "n": 0}
    row = {"n": len(ok)}
    keys = set().union(*[r.keys() for r in ok])
    for k in keys:
        vals = [r[k] for r in ok if k in r]
        if vals and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
            row[k] = statistics.median(vals)
        else:
            row[k] = vals[0]
    return row


# ------------------------------------------------------------------------ table
def fmt_s(s):
    if s is None:
        return "-"
    if s >= 100:
        return f"{s:.0f}"
    if s >= 1:
        return f"{s:.2f}"
    if s >= 0.01:
        return f"{s:.3f}"
    return f"{s:.2g}"


def fmt_num(x):
    if x is None:
        return "-"
    if isinstance(x, float):
        if x != 0 and (abs(x) >= 1e6 or abs(x) < 1e-3):
            return f"{x:.6g}"
        return f"{x:.6g}"
    return str(x)


def extras_text(r):
    parts = []
    if "tasks_per_s" in r:
        parts.append(f"{r['tasks_per_s']:,.0f} tasks/s")
    if "chunks" in r:
        parts.append(f"{int(r['chunks']):,} chunks")
    if "tasks" in r and "chunks" not in r:
        parts.append(f"{int(r['tasks']):,} tasks")
    if "gbps" in r:
        parts.append(f"{r['gbps']:.1f} GB/s")
    if "gflops" in r:
        parts.append(f"{r['gflops']:.0f} GFLOP/s")
    if "threads" in r and r.get("engine") != "dask":
        parts.append(f"{r['threads']} thr")
    if r.get("n", 0) > 1:
        parts.append(f"median of {r['n']}")
    if r.get("note"):
        parts.append(r["note"])
    return "; ".join(parts)


def make_table(rows):
    head = ["workload", "engine", "seconds", "vs dask (×)", "peak MB", "result", "extras"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    by_wl = {}
    for (wl, eng), r in rows.items():
        by_wl.setdefault(wl, {})[eng] = r
    for wl in [w for w in ALL if w in by_wl]:
        d = by_wl[wl].get("dask", {})
        ds = d.get("seconds") if "error" not in d else None
        for eng, r in by_wl[wl].items():
            if "error" in r:
                peak = f"{r['peak_mb']:.0f}" if r.get("peak_mb") is not None else "-"
                err = r["error"].replace("|", "/").replace("\n", " ")[:200]
                what = "n/a" if err.startswith("skipped") else "error"
                lines.append(f"| {wl} | {eng} | {what} | - | {peak} | - | {err} |")
                continue
            s = r.get("seconds")
            ratio = f"{ds / s:.2f}" if ds and s else "-"
            peak = f"{r['peak_mb']:.0f}" if r.get("peak_mb") is not None else "-"
            lines.append(f"| {wl} | {eng} | {fmt_s(s)} | {ratio} | {peak} | {fmt_num(r.get('result'))} "
                         f"| {extras_text(r)} |")
    return "\n".join(lines)


def summary_lines(rows):
    out = []
    fused = rows.get(("FUSED", "floe"), {})
    for key, label in [("STREAM", "1 thread"), ("STREAM2", "2 threads")]:
        st = rows.get((key, "numpy"), {})
        if "gbps" in fused and "gbps" in st:
            frac = fused["gbps"] / st["gbps"]
            out.append(f"floe FUSED {fused['gbps']:.1f} GB/s = {100 * frac:.0f}% of the numpy STREAM triad "
                       f"({label}) {st['gbps']:.1f} GB/s (target >= 70%: {'met' if frac >= 0.7 else 'not met'})")
    targets = {"W1": 5, "W2a": 3, "W2b": None, "W3": 2, "W4": 2, "W5": 3, "W6": 2, "W7": 100}
    for wl, target in targets.items():
        f, d = rows.get((wl, "floe"), {}), rows.get((wl, "dask"), {})
        if f.get("seconds") and d.get("seconds"):
            sp = d["seconds"] / f["seconds"]
            goal = f" (target >= {target}×: {'met' if sp >= target else 'not met'})" if target else ""
            out.append(f"{wl}: floe speedup over dask {sp:.2f}×{goal}")
    w7m = rows.get(("W7M", "floe"), {})
    if w7m.get("seconds"):
        out.append(f"W7M: 1,000,000-chunk graph built+planned+run in {w7m['seconds']:.2f} s "
                   f"(target < 5 s: {'met' if w7m['seconds'] < 5 else 'not met'})")
    return out


def machine_info():
    cpu = platform.processor() or "?"
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if ":" in line:
                    k, v = (p.strip() for p in line.split(":", 1))
                    info.setdefault(k, v)
    except OSError:
        pass
    if "model name" in info:
        flags = set(info.get("flags", "").split())
        # the vector code floe's kernels pick (src/simd.rs), capped by FLOE_SIMD
        simd = ("AVX-512" if {"avx512f", "avx512dq", "avx512vl", "avx512bw"} <= flags
                else "AVX2" if {"avx2", "fma"} <= flags else "no AVX2")
        cap = os.environ.get("FLOE_SIMD")
        cpu = (f"{info['model name']}, family {info.get('cpu family', '?')} model {info.get('model', '?')}, "
               f"{simd}{f', FLOE_SIMD={cap}' if cap else ''}")
    vers = subprocess.run([VPY, "-c", "import numpy, dask, zarr; print(numpy.__version__, dask.__version__, "
                                      "zarr.__version__)"], capture_output=True, text=True).stdout.split()
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=REPO, capture_output=True,
                           text=True).stdout.strip()
    v = dict(zip(["numpy", "dask", "zarr"], vers))
    return (f"{os.cpu_count()} cores ({cpu}); numpy {v.get('numpy', '?')}, dask {v.get('dask', '?')}, "
            f"zarr {v.get('zarr', '?')}; {rustc}; floe {commit}{' + uncommitted src' if dirty else ''}")


# ------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=["small", "full"], default="small")
    ap.add_argument("--workloads", default=",".join(DEFAULT),
                    help=f"comma list from {','.join(ALL)} or 'all' (default {','.join(DEFAULT)}); "
                         "FUSED and STREAM are added unless --no-stream")
    ap.add_argument("--engines", default=",".join(DEFAULT_ENGINES))
    ap.add_argument("--repeat", type=int, default=3, help="fresh processes per (workload, engine); median")
    ap.add_argument("--threads", type=int, default=None, help="floe threads (default: all cores)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per process before it is killed")
    ap.add_argument("--no-stream", action="store_true", help="skip the STREAM/FUSED bandwidth rows")
    ap.add_argument("--no-build", action="store_true", help="use the already built example")
    ap.add_argument("--out", default=os.path.join(REPO, "bench-out"), help="where results.md/.json go")
    a = ap.parse_args()

    wls = ALL if a.workloads == "all" else [canon(w) for w in a.workloads.split(",") if w.strip()]
    if not a.no_stream:
        for w in ["FUSED", "STREAM", "STREAM2"]:
            if w not in wls:
                wls.append(w)
    engines = [e.strip() for e in a.engines.split(",") if e.strip()]
    os.makedirs(a.out, exist_ok=True)
    data_dir = DATA_DIR

    ensure_venv()
    exe, build_err = (None, "not built (--no-build and no binary)") if a.no_build else build_floe()
    if a.no_build:
        cand = os.path.join(REPO, "target", "release", "examples", "workloads")
        if os.path.exists(cand):
            exe, build_err = cand, None
    for kind in sorted({NEEDS_DATA[w] for w in wls if w in NEEDS_DATA}):
        make_data(kind, a.size)

    runs = {}
    for wl in wls:
        engs = [e for e in engines if e in ENGINES.get(wl, DEFAULT_ENGINES)]
        failed = set()
        for rep in range(a.repeat):
            for eng in engs:
                key = (wl, eng)
                if eng in failed:
                    continue
                if eng == "floe" and exe is None:
                    runs.setdefault(key, []).append({"error": build_err})
                    failed.add(eng)
                    continue
                cmd, env = command(eng, wl, a.size, exe, a.threads, data_dir)
                r = run_one(cmd, env, a.timeout)
                runs.setdefault(key, []).append(r)
                status = r.get("error") or f"{r.get('seconds', 0):.4g} s"
                log(f"  {wl:7s} {eng:5s} #{rep + 1}: {status}  (peak {r.get('peak_mb') or 0:.0f} MB)")
                if "error" in r:
                    failed.add(eng)  # an engine that cannot do it will not do it the next time either

    rows = {k: median_row(v) for k, v in runs.items()}
    table = make_table(rows)
    summary = summary_lines(rows)
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    info = machine_info()
    md = [f"# floe benchmarks — size {a.size}, {stamp}", "",
          f"{info}. Median of {a.repeat} fresh processes per row; peak MB = max RSS of that process "
          f"(`/usr/bin/time -v`). `vs dask` = dask seconds / engine seconds (>1: faster than dask).", "",
          "Command: `python3 benches/harness/run.py " + " ".join(shlex.quote(x) for x in sys.argv[1:]) + "`", "",
          table, ""]
    if summary:
        md += [*(f"- {s}" for s in summary), ""]
    text = "\n".join(md)
    print(text)
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write(text)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"size": a.size, "when": stamp, "machine": info,
                   "runs": [{"workload": k[0], "engine": k[1], "runs": v} for k, v in runs.items()],
                   "rows": [{"workload": k[0], "engine": k[1], **v} for k, v in rows.items()]}, f, indent=1)
    log(f"wrote {os.path.join(a.out, 'results.md')}")


if __name__ == "__main__":
    main()
