#!/usr/bin/env bash
# Nsight Compute profile of the attention kernel of `fa3jit bench` shapes,
# in one GPU call: builds only the `fa3jit` command (like gpu_knobs.sh),
# then per argument string profiles one launch of the forward kernel (the
# timed run, after the reference check's launch) with the sections that say
# where the time goes: speed of light, pipe utilization (tensor, FMA, XU =
# MUFU), warp stall reasons, scheduler issue rate.
#   scripts/gpu_profile.sh "--path sm90 --d 128 --seqlen 4096 --non-causal" \
#                          "--path sm90 --dtype fp8 --d 128 --seqlen 4096 --non-causal"
# Each string is one `fa3jit bench` shape (one d, one seqlen, causal or not);
# environment knobs (FA3JIT_SM90_*) apply to every shape. One report per
# shape: $OUT/profile_N.txt (ncu --print-details all), and the lines that
# matter, printed last. ncu replays the kernel once per metric pass, so a
# 16k shape takes a minute: prefer 4k. PROFILE_KERNEL (a regex, default
# fwd_kernel), PROFILE_SKIP (1) and PROFILE_COUNT (1) pick other launches,
# e.g. PROFILE_KERNEL="fwd_kernel|combine" PROFILE_SKIP=2 PROFILE_COUNT=2
# for a split-KV forward and its combine. PROFILE_SOURCE=1 also samples
# warp stalls per SASS instruction (SourceCounters, report kept as
# $OUT/profile_N.ncu-rep) and prints the instructions where the warps wait
# most (scripts/ncu_source_top.py on ncu's source page; written in session
# 5 without a GPU at hand, so its first run may need the column names fixed).
set -u -o pipefail
source "$(dirname "$0")/lib_gpu_build.sh"
gpu_setup /tmp/fa3jit_gpu_profile gpu-profile ""
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFA3JIT_BUILD_TESTS=OFF &&
    ninja -C "$BUILD" -j16 fa3jit_cli
} >"$OUT/build.log" 2>&1 || gpu_build_failed
echo "build ok"
n=0
for args in "$@"; do
  n=$((n + 1))
  source_sections=()
  [[ ${PROFILE_SOURCE:-0} == 1 ]] && source_sections=(--section SourceCounters -f -o "$OUT/profile_$n")
  # shellcheck disable=SC2086
  timeout "${PROFILE_TIMEOUT_S:-200}" ncu --kernel-name "regex:${PROFILE_KERNEL:-fwd_kernel}" --launch-skip "${PROFILE_SKIP:-1}" --launch-count "${PROFILE_COUNT:-1}" \
    --section SpeedOfLight --section ComputeWorkloadAnalysis --section WarpStateStats --section SchedulerStats \
    --section Occupancy "${source_sections[@]}" --print-details all \
    "$BUILD/fa3jit" bench --device cuda --warmup 0 --iters 1 $args >"$OUT/profile_$n.txt" 2>&1 || status=1
  if [[ ${PROFILE_SOURCE:-0} == 1 ]]; then
    # with -o the details go to the report: print them from there
    ncu -i "$OUT/profile_$n.ncu-rep" --print-details all >>"$OUT/profile_$n.txt" 2>&1 || status=1
    ncu -i "$OUT/profile_$n.ncu-rep" --page source --print-source sass --csv >"$OUT/source_$n.csv" 2>&1 || status=1
    python3 "$ROOT/scripts/ncu_source_top.py" "$OUT/source_$n.csv" --top "${PROFILE_TOP:-30}" | tee "$OUT/source_top_$n.txt"
  fi
  echo "== $args"
  grep -E "fwd_kernel|combine_splits|Duration|Compute \(SM\) Throughput|Memory Throughput|Executed Ipc Active|Issue Slots Busy|No Eligible|Stall|Pipe|Tensor|Warp Cycles Per Issued" \
    "$OUT/profile_$n.txt" | head -45
done
exit $status
