#!/usr/bin/env bash
# Every GPU check in one call (the device machine has ~16 cores, no
# internet, no GoogleTest: carry build/deps): build the C++ tests, the
# command and the Python extension; run ALL C++ tests (the GPU ones run
# there) and the Python tests (torch / cupy on the GPU); then the prefill
# benchmark of the sm80 and sm90 paths beside SDPA's FA2 and cuDNN.
#   scripts/gpu_all.sh [steps]   steps: build test python jit bench suite
#   (default: build test python jit bench)
# jit: the first call of a fresh process with a cold and a warm JIT cache
# (bench/jit_first_call.py). suite: bench/suite.py through
# scripts/bench_gpu.sh (SUITE_ARGS, default --quick) on this build.
# Every log goes into $OUT/logs.tar.gz (the device tool returns only a few
# files); $OUT also gets summary.txt and the suite's results.md.
set -u -o pipefail
source "$(dirname "$0")/lib_gpu_build.sh"
gpu_setup /tmp/fa3jit_gpu_all gpu-all "build test python jit bench" "$@"
summary=()
FINAL_OUT=$OUT
OUT=$(mktemp -d /tmp/fa3jit_gpu_all_logs.XXXXXX)  # packed into $FINAL_OUT at the end
pack_logs() {
  tar -czf "$FINAL_OUT/logs.tar.gz" -C "$OUT" . 2>/dev/null
  [ -f "$OUT/suite/results.md" ] && cp "$OUT/suite/results.md" "$FINAL_OUT/results.md"
  [ -f "$OUT/suite/results.json" ] && cp "$OUT/suite/results.json" "$FINAL_OUT/results.json"
  [ -f "$OUT/suite/report.tar.gz" ] && cp "$OUT/suite/report.tar.gz" "$FINAL_OUT/report.tar.gz"
  printf '%s\n' "${summary[@]}" >"$FINAL_OUT/summary.txt"
}
trap pack_logs EXIT

if has build; then
  {
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    gpu_cmake_build &&
      cmake -S "$ROOT" -B "$BUILD-py" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSKBUILD=ON -DFA3JIT_BUILD_TESTS=OFF \
        -DFA3JIT_BUILD_TOOLS=OFF -DPython_EXECUTABLE="$(command -v python3)" &&
      ninja -C "$BUILD-py" -j16 _fa3jit
  } >"$OUT/build.log" 2>&1 || gpu_build_failed
  echo "build ok"
fi

if has test; then
  # Kernels compile once into the shared cache (16 jobs), then the tests run 8 at a time.
  "$BUILD/fa3jit" warmup --all-common --jobs 16 >"$OUT/warmup.log" 2>&1 || status=1
  ctest --test-dir "$BUILD" -j8 --timeout 300 >"$OUT/cpp_tests.log" 2>&1 || status=1
  grep -E "\*\*\*Failed|Timeout|tests passed|tests failed" "$OUT/cpp_tests.log" | head -40
  summary+=("C++: $(grep -E 'tests passed|tests failed' "$OUT/cpp_tests.log")")
fi

if has python; then
  PYTHONPATH="$BUILD-py/python_pkg" python3 -m pytest -q -rs "$ROOT/tests/python" >"$OUT/py_tests.log" 2>&1 || status=1
  grep -E "FAILED|Error|passed|failed" "$OUT/py_tests.log" | tail -25
  summary+=("Python: $(tail -1 "$OUT/py_tests.log")")
fi

if has jit; then
  jit_cache=$(mktemp -d /tmp/fa3jit_first_call.XXXXXX)  # empty: the first run of each kernel is cold
  # shellcheck disable=SC2086
  PYTHONPATH="$BUILD-py/python_pkg" python3 "$ROOT/bench/jit_first_call.py" --cache-dir "$jit_cache" --d ${JIT_D:-64 128 256} \
    --json "$OUT/jit_first_call.json" 2>&1 | tee "$OUT/jit_first_call.txt" || status=1
fi

if has bench; then
  for path in sm80 sm90; do
    "$BUILD/fa3jit" bench --device cuda --path $path --json "$OUT/bench_$path.json" >"$OUT/bench_$path.log" 2>&1 || status=1
  done
  PYTHONUNBUFFERED=1 python3 "$ROOT/bench/sdpa_compare.py" --fa3jit-json "$OUT/bench_sm90.json" --json "$OUT/sdpa.json" \
    >"$OUT/sdpa.log" 2>&1 || status=1
  python3 "$ROOT/bench/side_by_side.py" --sdpa "$OUT/sdpa.json" sm80="$OUT/bench_sm80.json" sm90="$OUT/bench_sm90.json" |
    tee "$OUT/side_by_side.txt"
fi
if has suite; then
  # shellcheck disable=SC2086
  FA3JIT_PY_BUILD="$BUILD-py" OUT="$OUT/suite" BENCH_DEADLINE_S=${BENCH_DEADLINE_S:-560} \
    bash "$ROOT/scripts/bench_gpu.sh" ${SUITE_ARGS:---quick} >"$OUT/suite.log" 2>&1 || status=1
  tail -3 "$OUT/suite.log"
  summary+=("suite: $(grep -c '' "$OUT/suite/results.md" 2>/dev/null || echo no) lines of results.md")
fi
printf '%s\n' "${summary[@]}"
exit $status
