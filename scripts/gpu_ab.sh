#!/usr/bin/env bash
# A/B timing of two source trees in one GPU call: builds the `fa3jit`
# command of an older commit (a `git archive` tarball, carried to the GPU
# machine) and of the working tree, then runs the same `fa3jit bench`
# arguments alternately, A B A B ..., so that clock and thermal drift hit
# both alike.
#   here:  git archive -o build/ab_old.tar.gz COMMIT
#   GPU:   scripts/gpu_ab.sh build/ab_old.tar.gz ROUNDS bench arguments...
#          (carry build/ab_old.tar.gz)
# Several argument sets (e.g. one per --dtype) separated by a lone `::` run
# one after another within each round.
# Prints every round's rows, A first; logs in $OUT/ab_logs.tar.gz.
set -u -o pipefail
source "$(dirname "$0")/lib_gpu_build.sh"
old_tar=$(realpath "$1")
rounds=$2
shift 2
gpu_setup /tmp/fa3jit_gpu_ab gpu-ab ""
FINAL_OUT=$OUT
OUT=$(mktemp -d /tmp/fa3jit_gpu_ab_logs.XXXXXX)
trap 'tar -czf "$FINAL_OUT/ab_logs.tar.gz" -C "$OUT" . 2>/dev/null' EXIT
old_src=$(mktemp -d /tmp/fa3jit_ab_old.XXXXXX)
tar -xzf "$old_tar" -C "$old_src" || { echo "cannot unpack $old_tar"; exit 1; }
build_cli() {  # source dir, build dir
  cmake -S "$1" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFA3JIT_BUILD_TESTS=OFF && ninja -C "$2" -j16 fa3jit_cli
}
{ build_cli "$old_src" "$BUILD-a" && build_cli "$ROOT" "$BUILD-b"; } >"$OUT/build.log" 2>&1 || gpu_build_failed
echo "build ok"
# the argument sets, split at `::`
sets=()
cur=""
for a in "$@"; do
  if [[ $a == "::" ]]; then sets+=("$cur"); cur=""; else cur+="$a "; fi
done
sets+=("$cur")
for ((r = 1; r <= rounds; ++r)); do
  for ((i = 0; i < ${#sets[@]}; ++i)); do
    for side in a b; do
      log="$OUT/$side$r-$i.log"
      # each side its own kernel cache: the two trees' kernels differ
      # shellcheck disable=SC2086
      FA3JIT_CACHE_DIR=$BUILD-$side/jit-cache "$BUILD-$side/fa3jit" bench --device cuda ${sets[$i]} >"$log" 2>&1 ||
        status=1
      grep -E "^b[0-9]+ " "$log" | sed "s/^/$side$r  /" || tail -3 "$log"
    done
  done
done
exit $status
