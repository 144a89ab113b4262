#!/usr/bin/env bash
# The benchmark report on a GPU machine (no internet there): builds the
# Python extension with the direct CMake route of scripts/test.sh, installs
# carried wheels from .whl/ that are not installed yet, runs bench/suite.py,
# and leaves in $OUT (default /tmp/fa3jit_bench) at most 8 files:
#   results.md, results.json, bench.log, build.log, report.tar.gz (all of
#   the suite's output, the PNGs included), env.txt.
#
#   scripts/bench_gpu.sh                       # --quick (< 3 min of benchmarking)
#   scripts/bench_gpu.sh --budget-seconds 420  # the full grid, capped
#   scripts/bench_gpu.sh --families decode,mla --budget-seconds 300
# The full grid does not fit in one 10-minute device call: run it as two
# calls on the warm machine (the second reuses the build and the kernel
# cache), e.g. --families prefill,varlen,diffusion then --families decode,mla,
# and join the two results.json here with
#   python3 bench/report.py --out DIR A/results.json B/results.json
# Arguments go to bench/suite.py (default: --quick). Without --budget-seconds
# the suite's budget is what is left of BENCH_DEADLINE_S (default 560: the
# device tool stops a command at 600 s) after the build, less 40 s to spare,
# and at most the suite's own default. results.json is rewritten in $OUT as
# rows come in, so a run that is stopped still leaves what it measured.
# Exit status: the suite's (3: the build failed).
#
# Carrying wheels (on the machine that prepares the call, in the repo root):
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
#     --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any -d .whl \
#     matplotlib contourpy cycler fonttools kiwisolver pyparsing python-dateutil pillow six packaging
# and name .whl in the call's carry. The GPU image already has matplotlib;
# a wheel whose distribution is installed is skipped, so carrying is only
# needed on an image without it.
set -u -o pipefail
start=$SECONDS
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-/tmp/fa3jit_bench}
BUILD=${FA3JIT_PY_BUILD:-$ROOT/build/bench-python}  # an existing build of _fa3jit is reused
RESULTS=$(mktemp -d /tmp/fa3jit_bench_results.XXXXXX)  # outside $OUT: only 8 files come back
PY=${PYTHON:-python3}
JOBS=${FA3JIT_BUILD_JOBS:-$(nproc)}
[ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"
mkdir -p "$OUT"
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--quick)

{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  nvcc --version | tail -2
  "$PY" -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__, \
'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version())"
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

# Carried wheels: install those whose distribution is missing here.
site=/tmp/fa3jit_bench_site
if compgen -G "$ROOT/.whl/*.whl" >/dev/null; then
  mapfile -t wheels < <("$PY" - "$ROOT"/.whl/*.whl <<'PY'
import sys
from importlib import metadata
for path in sys.argv[1:]:
    dist = path.rsplit("/", 1)[-1].split("-")[0].replace("_", "-")
    try:
        metadata.version(dist)
    except metadata.PackageNotFoundError:
        print(path)
PY
  )
  if [ ${#wheels[@]} -gt 0 ]; then
    echo "installing ${#wheels[@]} carried wheels into $site"
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target "$site" "${wheels[@]}" || echo "bench_gpu: installing carried wheels failed; going on"
  fi
fi
export PYTHONPATH="$BUILD/python_pkg:$site${PYTHONPATH:+:$PYTHONPATH}"

# The extension, built directly with CMake (no scikit-build-core needed).
{
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSKBUILD=ON \
    -DFA3JIT_BUILD_TESTS=OFF -DFA3JIT_BUILD_TOOLS=OFF -DPython_EXECUTABLE="$(command -v "$PY")" &&
    cmake --build "$BUILD" -j "$JOBS" --target _fa3jit
} >"$OUT/build.log" 2>&1 || { echo "bench_gpu: BUILD FAILED"; tail -40 "$OUT/build.log"; exit 3; }
echo "build ok"

if [[ " ${args[*]} " != *" --budget-seconds"* ]]; then
  left=$(( ${BENCH_DEADLINE_S:-560} - (SECONDS - start) - 40 ))
  default=540
  [[ " ${args[*]} " == *" --quick "* ]] && default=150
  (( left > default )) && left=$default
  (( left < 30 )) && left=30
  args+=(--budget-seconds "$left")
fi

# Kernels compiled at first use stay cached while the machine is warm.
export FA3JIT_CACHE_DIR=${FA3JIT_CACHE_DIR:-$BUILD/jit-cache}
PYTHONUNBUFFERED=1 "$PY" "$ROOT/bench/suite.py" --out "$RESULTS" --partial-json "$OUT/results.json" \
  "${args[@]}" 2>&1 | tee "$OUT/bench.log"
status=${PIPESTATUS[0]}

for f in results.md results.json; do
  [ -f "$RESULTS/$f" ] && cp "$RESULTS/$f" "$OUT/$f"
done
tar -czf "$OUT/report.tar.gz" -C "$RESULTS" . 2>/dev/null || echo "bench_gpu: could not pack $RESULTS"
exit "$status"
