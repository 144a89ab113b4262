# Sourced by the GPU scripts (gpu_check.sh, gpu_check_sm90.sh, gpu_all.sh):
# the shared setup (paths, steps, JIT cache) and the C++ build step.
# Uses the GoogleTest prefix at build/deps/gtest (copied from a machine that
# has one: the device machine has no internet) when it is present.

# gpu_setup DEFAULT_OUT BUILD_NAME "DEFAULT STEPS" [steps...]
# Sets ROOT, OUT (from $OUT or DEFAULT_OUT, created), BUILD (build/BUILD_NAME),
# STEPS (the steps given, else the defaults), status=0, and the kernel cache
# inside BUILD unless FA3JIT_CACHE_DIR is set.
gpu_setup() {
  ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  OUT=${OUT:-$1}
  BUILD=$ROOT/build/$2
  local default_steps=$3
  shift 3
  STEPS=${*:-$default_steps}
  mkdir -p "$OUT"
  export FA3JIT_CACHE_DIR=${FA3JIT_CACHE_DIR:-$BUILD/jit-cache}
  status=0
}

# has STEP: whether STEP is one of the steps to run.
has() { [[ " $STEPS " == *" $1 "* ]]; }

# gpu_cmake_build: configures $BUILD (Release) and builds the C++ tests and
# the command with 16 jobs.
gpu_cmake_build() {
  local gtest_args=()
  [ -d "$ROOT/build/deps/gtest" ] && gtest_args=(-DGTest_DIR="$ROOT/build/deps/gtest/lib/x86_64-linux-gnu/cmake/GTest")
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release "${gtest_args[@]}" &&
    ninja -C "$BUILD" -j16 fa3jit_tests fa3jit_cli
}

# gpu_build_failed: says so with the end of $OUT/build.log and stops the script.
gpu_build_failed() {
  echo "BUILD FAILED"
  tail -40 "$OUT/build.log"
  exit 1
}
