#!/usr/bin/env bash
# Environment knobs measured through the benchmark suite (L2 rotation, CUDA
# graphs, cuDNN beside), in one GPU call: `fa3jit bench` re-reads the same
# inputs from L2, which flatters short decode shapes.
#   scripts/gpu_suite_knobs.sh FAMILY REGEX "label ENV=V ..." ["label ENV=V ..."]...
# e.g.
#   scripts/gpu_suite_knobs.sh decode '^b1 sq1 sk1024 h32/8 .* dense$' \
#     "default" "min1 FA3JIT_SPLIT_MIN_BLOCKS=1" "bn64 FA3JIT_SM90_BLOCK_N=64"
# Each variant runs scripts/bench_gpu.sh (the first builds the extension,
# the rest reuse it) with fa3jit and SDPA's cuDNN on the shapes of FAMILY
# whose label matches REGEX, and prints its table rows; the reports go to
# $OUT/<label>/.
set -u -o pipefail
family=$1 match=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-/tmp/fa3jit_suite_knobs}
for variant in "$@"; do
  read -r label envs <<<"$variant"
  mkdir -p "$OUT/$label"
  # shellcheck disable=SC2086
  env $envs BENCH_DEADLINE_S=200 OUT="$OUT/$label" "$root/scripts/bench_gpu.sh" --families "$family" \
    --peers fa3jit,sdpa_cudnn --target-seconds 0.3 --budget-seconds 60 --match "$match" >/dev/null 2>&1
  echo "== $label [$envs]"
  grep -E '^\| b' "$OUT/$label/results.md" || echo "no results (see $OUT/$label/bench.log)"
done
