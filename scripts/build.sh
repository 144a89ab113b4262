#!/usr/bin/env bash
# Builds the library and the `fa3jit` command (Release) into build/release.
# The main job:  scripts/build.sh && build/release/fa3jit bench
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"
# Tests are not needed for the command (and GoogleTest may be absent here);
# scripts/test.sh turns them back on in the same build directory.
cmake --preset release -DFA3JIT_BUILD_TESTS=OFF
cmake --build --preset release -j "${FA3JIT_BUILD_JOBS:-$(nproc)}" --target fa3jit_cli
