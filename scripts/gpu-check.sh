#!/usr/bin/env bash
# Build floe's GPU test binaries on this machine (no GPU or CUDA needed) and
# say how to run them on a GPU host (CUDA driver + libnvrtc + libcublas, no
# Rust toolchain needed there: the binaries are x86-64 Linux, glibc 2.36).
#
#   scripts/gpu-check.sh            build; print the binaries and the commands
#   scripts/gpu-check.sh --run      also run them here (they skip without a GPU)
#   scripts/gpu-check.sh --bundle D copy the binaries and a run.sh into folder D
set -euo pipefail
cd "$(dirname "$0")/.."
export RUST_BACKTRACE=0
mode="${1:-}"
# the test binaries of the cuda feature; cargo prints their paths as JSON
mapfile -t bins < <(cargo test --release --features cuda --no-run --message-format=json 2>/dev/null \
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
    cat > "$dest/run.sh" <<'RUN'
#!/usr/bin/env bash
# On the GPU host: run every GPU test binary of this folder. libcuda comes
# with the driver; libnvrtc.so.12 and libcublas.so.12 must be on the loader
# path (e.g. /usr/local/cuda/lib64).
set -euo pipefail
cd "$(dirname "$0")"
export FLOE_REQUIRE_NVRTC=1 RUST_BACKTRACE=0
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}:/usr/local/cuda/lib64:/usr/local/cuda/targets/x86_64-linux/lib"
nvidia-smi -L || true
for t in ./cuda_*; do echo "== $t"; "$t" --test-threads=1 --nocapture; done
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
