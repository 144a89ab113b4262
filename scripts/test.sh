#!/usr/bin/env bash
# The test command: builds everything and runs the C++ tests (ctest), then
# the Python tests. GPU tests skip with a reason on machines without a
# supported GPU. CI=true builds with warnings as errors (the ci preset).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"
preset=release
[ "${CI:-}" = "true" ] && preset=ci
jobs="${FA3JIT_BUILD_JOBS:-$(nproc)}"

cmake --preset "$preset" -DFA3JIT_BUILD_TESTS=ON
cmake --build --preset "$preset" -j "$jobs"
ctest --test-dir "build/$preset" --output-on-failure -j "$jobs"
python3 scripts/check_fp8_transpose.py  # the sm90 fp8 V transpose's mapping (host model)

# ---- Python tests (section owned by the python engineer) ----
# `pip install .` (into build/python-site: no environment is modified), then
# pytest. $PYTHON picks the interpreter (.ci/run sets a venv). Without
# scikit-build-core (an offline GPU machine) the same CMake build runs directly.
if [ -f pyproject.toml ]; then
  py="${PYTHON:-python3}"
  werror=OFF
  [ "${CI:-}" = "true" ] && werror=ON
  if "$py" -c "import scikit_build_core, nanobind" 2>/dev/null; then
    CMAKE_BUILD_PARALLEL_LEVEL="$jobs" "$py" -m pip install -q --no-build-isolation --no-deps \
      -C cmake.define.FA3JIT_WERROR="$werror" --upgrade --target build/python-site .
    py_pkg="$PWD/build/python-site"
  else
    cmake -S . -B build/python-dev -G Ninja -DCMAKE_BUILD_TYPE=Release -DSKBUILD=ON \
      -DFA3JIT_BUILD_TESTS=OFF -DFA3JIT_BUILD_TOOLS=OFF -DFA3JIT_WERROR="$werror" \
      -DPython_EXECUTABLE="$(command -v "$py")"
    cmake --build build/python-dev -j "$jobs" --target _fa3jit
    py_pkg="$PWD/build/python-dev/python_pkg"
  fi
  PYTHONPATH="$py_pkg${PYTHONPATH:+:$PYTHONPATH}" "$py" -m pytest -q -rs tests/python bench/test_bench.py
fi
# ---- end of Python tests ----
