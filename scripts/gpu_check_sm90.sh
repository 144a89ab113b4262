#!/usr/bin/env bash
# The sm90 (Hopper) path on an H100/H200 machine: build, GPU tests, SASS
# check (HGMMA, or QGMMA for fp8, present; no local memory), then the benchmark of the sm90
# path next to the sm80 path, PyTorch SDPA (FA2) and cuDNN.
#   scripts/gpu_check_sm90.sh [steps]    steps: any of build test sanitize sass bench (default: build test sass bench)
# Logs go to $OUT (default /tmp/fa3jit_gpu_check_sm90). A GoogleTest prefix
# at build/deps/gtest (copied from a machine that has one) is used if present.
set -u -o pipefail
source "$(dirname "$0")/lib_gpu_build.sh"
gpu_setup /tmp/fa3jit_gpu_check_sm90 gpu-sm90 "build test sass bench" "$@"

if has build; then
  {
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    gpu_cmake_build
  } >"$OUT/build.log" 2>&1 || gpu_build_failed
  echo "build ok"
fi

if has test; then
  "$BUILD/fa3jit_tests" --gtest_filter="${SM90_FILTER:-*Sm90*}" >"$OUT/tests.log" 2>&1 || status=1
  grep -E "^\[  (PASSED|FAILED|SKIPPED) |^\[==========\]|Failure|error|Expected|max_err|  out|softmax_lse|spills" \
    "$OUT/tests.log" | head -80
fi

if has sanitize; then
  small='All/Sm90Gpu.MatchesReference/bfloat16_d128_causal:All/Sm90Gpu.MatchesReference/paged128_decode_packed:All/Sm90Gpu.MatchesReference/zero_lengths_causal:All/Sm90Gpu.MatchesReference/long_many_tiles_causal'
  for tool in memcheck racecheck synccheck; do
    echo "=== compute-sanitizer --tool $tool"
    compute-sanitizer --tool "$tool" --error-exitcode 9 "$BUILD/fa3jit_tests" --gtest_filter="$small" 2>&1 |
      grep -E "ERROR SUMMARY|RACECHECK SUMMARY|Invalid|Race|hazard|PASSED|FAILED" | head -20
  done | tee "$OUT/sanitize.log"
fi

if has sass; then
  python3 "$ROOT/scripts/sass_summary.py" "$FA3JIT_CACHE_DIR" "$OUT/sass.log" --mma HGMMA,QGMMA --kernel sm90
  head -40 "$OUT/sass.log"
  grep -qE "(^| )MMA=0 " "$OUT/sass.log" && { echo "an sm90 kernel has no HGMMA / QGMMA"; status=1; }
  grep -qE "LDL=[1-9]|STL=[1-9]" "$OUT/sass.log" && { echo "an sm90 kernel uses local memory"; status=1; }
  grep -q " SERIAL " "$OUT/sass.log" && { echo "ptxas serialized the wgmma of an sm90 kernel"; status=1; }
fi

if has bench; then
  args=(--device cuda --d "${BENCH_D:-64,128,256}" --seqlen "${BENCH_SEQLEN:-512,1024,2048,4096,8192,16384}")
  "$ROOT/build/gpu-sm90/fa3jit" bench "${args[@]}" --path sm90 --json "$OUT/sm90.json" >"$OUT/bench.log" 2>&1 || status=1
  cat "$OUT/bench.log"
  if [ -n "${BENCH_SM80:-}" ]; then
    "$ROOT/build/gpu-sm90/fa3jit" bench "${args[@]}" --path sm80 >"$OUT/bench_sm80.log" 2>&1
    cat "$OUT/bench_sm80.log"
  fi
  PYTHONUNBUFFERED=1 python3 "$ROOT/bench/sdpa_compare.py" --fa3jit-json "$OUT/sm90.json" --json "$OUT/sdpa.json" \
    >"$OUT/compare.log" 2>&1 || status=1
  cat "$OUT/compare.log"
fi
exit $status
