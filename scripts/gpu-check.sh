#!/usr/bin/env bash
# Build floe's GPU test binaries on this machine (no GPU or CUDA needed) and
# say how to run them on a GPU host (CUDA driver + libnvrtc + libcublas, no
# Rust toolchain needed there: the binaries are x86-64 Linux, glibc 2.36).
#
#   scripts/gpu-check.sh            build; print the binaries and the commands
#   scripts/gpu-check.sh --run      also run them here (they skip without a GPU)
#   scripts/gpu-check.sh --bundle D copy the test binaries, the GPU benchmarks
#                                   (gpu_bench, workloads) and a run.sh into folder D
set -euo pipefail
cd "$(dirname "$0")/.."
export RUST_BACKTRACE=0
mode="${1:-}"
# the test binaries of the cuda feature; cargo prints their paths as JSON
mapfile -t bins < <(cargo test --release --features cuda --test cuda_exec --test cuda_ptx --no-run --message-format=json 2>/dev/null \
    | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"].startswith("cuda_"):
        print(m["executable"])
')
if [ "${#bins[@]}" -eq 0 ]; then
    echo "no cuda_* test binaries were built (run: cargo test --release --features cuda --no-run)" >&2
    exit 1
fi
echo "GPU test binaries:"
printf '  %s\n' "${bins[@]}"
case "$mode" in
--run)
    for b in "${bins[@]}"; do "$b" --test-threads=1; done
    ;;
--bundle)
    dest="${2:?usage: scripts/gpu-check.sh --bundle DIR}"
    mkdir -p "$dest"
    for b in "${bins[@]}"; do cp "$b" "$dest/$(basename "$b" | sed 's/-[0-9a-f]*$//')"; done
    # the GPU benchmarks: examples/gpu_bench.rs and the workloads on --device cuda
    cargo build --release --features cuda --example gpu_bench --example workloads --quiet
    dir="${CARGO_TARGET_DIR:-target}/release/examples"
    cp "$dir/gpu_bench" "$dir/workloads" "$dest/"
    # no debug info: the folder must be small enough to copy
    strip "$dest"/cuda_* "$dest/gpu_bench" "$dest/workloads" 2>/dev/null || true
    cat > "$dest/run.sh" <<'RUN'
#!/usr/bin/env bash
# On the GPU host: run every GPU test binary of this folder, then the GPU
# benchmarks (gpu_bench; W1 and W3 on the GPU beside the CPU). libcuda comes
# with the driver; libnvrtc and libcublas (CUDA 12 or 13) are looked for in
# the CUDA toolkit and in pip's nvidia wheels, and linked under the plain
# names cudarc tries first.
#   run.sh [tests|bench|all] [--quick]
set -uo pipefail
cd "$(dirname "$0")"
export FLOE_REQUIRE_NVRTC=1 RUST_BACKTRACE=0
what="${1:-all}"; quick="${2:-}"
libs=/tmp/floe-culibs; mkdir -p "$libs"
search="/usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib $(ls -d /usr/local/cuda-*/lib64 2>/dev/null) $(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null | xargs -I{} sh -c 'ls -d {}/nvidia/*/lib 2>/dev/null')"
for name in nvrtc cublas cublasLt; do
    for d in $search; do
        f=$(ls "$d"/lib$name.so.1[0-9]* 2>/dev/null | grep -v alt | sort | head -1)
        if [ -n "$f" ]; then ln -sf "$f" "$libs/lib$name.so"; export LD_LIBRARY_PATH="$libs:$d:${LD_LIBRARY_PATH:-}"; echo "lib$name: $f"; break; fi
    done
done
nvidia-smi -L || true
rc=0
if [ "$what" != bench ]; then
    for t in ./cuda_*; do echo "== $t"; "$t" --test-threads=1 --nocapture || rc=1; done
fi
if [ "$what" != tests ]; then
    echo "== gpu_bench"; ./gpu_bench $quick || rc=1
    size=full; [ "$quick" = --quick ] && size=small
    # the GPU runs twice: the first compiles its kernels (an empty disk
    # cache), the second reads them from the disk cache
    export FLOE_PTX_CACHE=/tmp/floe-ptx-cache; rm -rf "$FLOE_PTX_CACHE"
    for w in W1 W3; do
        echo "== $w $size: cpu, then cuda (kernels compiled), then cuda (kernels from the disk cache)"
        ./workloads $w --size $size || rc=1
        ./workloads $w --size $size --device cuda || rc=1
        ./workloads $w --size $size --device cuda || rc=1
    done
fi
exit $rc
RUN
    chmod +x "$dest/run.sh"
    echo "bundle in $dest: copy the folder to the GPU host and run $dest/run.sh there"
    ;;
*)
    cat <<MSG

On a GPU host: copy these binaries there and run each with
  FLOE_REQUIRE_NVRTC=1 LD_LIBRARY_PATH=/usr/local/cuda/lib64 ./BINARY --test-threads=1 --nocapture
or make a folder to copy with:  scripts/gpu-check.sh --bundle gpu-bundle
(cuda_exec skips with a message where no GPU is present: check that it printed no SKIP.)
MSG
    ;;
esac
