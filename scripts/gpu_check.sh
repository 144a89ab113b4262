#!/usr/bin/env bash
# The sm80 path on a GPU machine: build, GPU tests, compute-sanitizer
# (memcheck + racecheck) on a small sweep, SASS check (HMMA, no local
# memory), then the benchmark next to PyTorch SDPA (FA2) and cuDNN.
#   scripts/gpu_check.sh [steps]    steps: any of build test sanitize sass bench tiles (default: all)
# Logs go to $OUT (default /tmp/fa3jit_gpu_check). A GoogleTest prefix at
# build/deps/gtest (copied from a machine that has one) is used if present.
set -u -o pipefail
source "$(dirname "$0")/lib_gpu_build.sh"
gpu_setup /tmp/fa3jit_gpu_check gpu "build test sanitize sass bench tiles" "$@"

if has build; then
  {
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    nvcc --version | tail -2
    gpu_cmake_build
  } >"$OUT/build.log" 2>&1 || gpu_build_failed
  echo "build ok"
fi

if has test; then
  "$BUILD/fa3jit_tests" --gtest_filter='*Sm80*:*Gpu*' >"$OUT/tests.log" 2>&1 || status=1
  grep -E "^\[  (PASSED|FAILED|SKIPPED) |^\[==========\]|Failure|error|Expected|max_err|  out|softmax_lse" "$OUT/tests.log" | head -60
fi

if has sanitize; then
  small='All/Sm80Gpu.MatchesReference/bfloat16_d128_causal:All/Sm80Gpu.MatchesReference/paged16_decode_split_packed:All/Sm80Gpu.MatchesReference/split5_causal_sinks:All/Sm80Gpu.MatchesReference/zero_lengths_causal:All/Sm80Gpu.MatchesReference/fp8_d64_split:All/Sm80Gpu.MatchesReference/gqa4_packed_decode:All/Sm80Gpu.MatchesReference/out_strided:All/Sm80Gpu.MatchesReference/d72:All/Sm80Gpu.MatchesReference/qv_d64_dv128:All/Sm80Gpu.MatchesReference/float16_d256'
  {
    for tool in memcheck racecheck; do
      echo "=== compute-sanitizer --tool $tool"
      compute-sanitizer --tool "$tool" --error-exitcode 9 "$BUILD/fa3jit_tests" --gtest_filter="$small" 2>&1 |
        grep -E "ERROR SUMMARY|RACECHECK SUMMARY|Invalid|Race|hazard|PASSED|FAILED" | head -40
    done
    echo "=== fa3jit check --quick (path sm80)"
    "$BUILD/fa3jit" check --device cuda --path sm80 --quick 2>&1 | tail -15
  } >"$OUT/sanitize.log" 2>&1
  cat "$OUT/sanitize.log"
  grep -qE "ERROR SUMMARY: [1-9]|RACECHECK SUMMARY: [1-9]" "$OUT/sanitize.log" && status=1
fi

if has sass; then
  python3 "$ROOT/scripts/sass_summary.py" "$FA3JIT_CACHE_DIR" "$OUT/sass.log" --mma HMMA --limit 80
  cat "$OUT/sass.log" | head -50
fi

if has bench; then
  "$BUILD/fa3jit" bench --device cuda --path sm80 --json "$OUT/fa3jit.json" >"$OUT/bench.log" 2>&1 || status=1
  tail -40 "$OUT/bench.log"
  PYTHONUNBUFFERED=1 python3 "$ROOT/bench/sdpa_compare.py" --fa3jit-json "$OUT/fa3jit.json" --json "$OUT/sdpa.json" \
    >"$OUT/compare.log" 2>&1 || status=1
  cat "$OUT/compare.log"
fi
if has tiles; then
  # Tile A/B (FA3JIT_SM80_TILE = MxNxWxS), causal and not, a mid and a long
  # prefill per head dim; the first tile of each list is the default.
  # TILES="d:tile tile ..;d:.." overrides the list.
  TILES=${TILES:-"64:128x128x4x2 128x128x4x1 128x64x4x1;128:128x64x4x1 128x64x8x1 128x32x4x1 128x64x4x2;256:64x64x4x1 128x64x8x1 128x32x8x1"}
  {
    IFS=';' read -ra per_d <<<"$TILES"
    for spec in "${per_d[@]}"; do
      d=${spec%%:*}
      for tile in ${spec#*:}; do
        echo "=== d $d tile $tile"
        FA3JIT_SM80_TILE=$tile "$BUILD/fa3jit" bench --device cuda --path sm80 --d "$d" --seqlen 2048,8192 \
          --iters 10 2>&1 | grep -E "bfloat16|error|Error"
      done
    done
  } >"$OUT/tiles.log" 2>&1
  cat "$OUT/tiles.log"
fi
exit $status
