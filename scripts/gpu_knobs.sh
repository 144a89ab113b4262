#!/usr/bin/env bash
# Tuning sweep on a GPU machine: builds only the `fa3jit` command, then runs
# `fa3jit bench` once per line of a variants file and prints one table.
#   scripts/gpu_knobs.sh VARIANTS_FILE
# Each line of VARIANTS_FILE: `label | ENV=VALUE ... | bench arguments`
# (blank lines and lines starting with # are skipped), e.g.
#   d128 causal bn128 | FA3JIT_SM90_BLOCK_N=128 | --path sm90 --d 128 --seqlen 4096 --causal
# Each variant may run $KNOBS_VARIANT_TIMEOUT_S seconds (default 150).
# Stops starting new variants after $KNOBS_DEADLINE_S seconds (default 500)
# so that the table still prints inside the device tool's 10 minutes.
# The table goes to $OUT/knobs.txt, the logs (build, one bench_N.log per
# variant) to $OUT/knobs_logs.tar.gz (the device tool returns few files).
set -u -o pipefail
source "$(dirname "$0")/lib_gpu_build.sh"
variants=$(realpath "$1")
gpu_setup /tmp/fa3jit_gpu_knobs gpu-knobs ""
start=$SECONDS
FINAL_OUT=$OUT
OUT=$(mktemp -d /tmp/fa3jit_gpu_knobs_logs.XXXXXX)
trap 'tar -czf "$FINAL_OUT/knobs_logs.tar.gz" -C "$OUT" . 2>/dev/null' EXIT
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFA3JIT_BUILD_TESTS=OFF &&
    ninja -C "$BUILD" -j16 fa3jit_cli
} >"$OUT/build.log" 2>&1 || gpu_build_failed
echo "build ok ($((SECONDS - start)) s)"

table=$FINAL_OUT/knobs.txt
: >"$table"
n=0
while IFS='|' read -r label envs args; do
  [[ -z "${label// /}" || "$label" == \#* ]] && continue
  n=$((n + 1))
  if ((SECONDS - start > ${KNOBS_DEADLINE_S:-500})); then
    echo "== $label: skipped (deadline)" >>"$table"
    continue
  fi
  # shellcheck disable=SC2086
  timeout "${KNOBS_VARIANT_TIMEOUT_S:-150}" env $envs "$BUILD/fa3jit" bench --device cuda $args >"$OUT/bench_$n.log" 2>&1 || status=1
  {
    echo "== $label [$(echo $envs)]"
    grep -E "^b[0-9]+ " "$OUT/bench_$n.log" || tail -3 "$OUT/bench_$n.log"
  } >>"$table"
done <"$variants"
cat "$table"
exit $status
