// flash_attn_varlen: validate, pick the path, allocate missing outputs,
// resolve the scheduling choices, run.
#include <algorithm>
#include <cstdlib>

#include "cpu/cpu_backend.h"
#include "dispatch/device_buffer.h"
#include "../../kernels/common/combine.cuh"
#include "dispatch/heuristics.h"
#include "dispatch/path_choice.h"
#include "dispatch/run_plan.h"
#include "fa3jit/args.h"
#include "fa3jit/device.h"
#include "fa3jit/error.h"
#include "validate/plan.h"

namespace fa3jit {
namespace detail {

// FA3JIT_SPLIT_MIN_BLOCKS: a tuning knob for benchmark sweeps (the key
// blocks each auto split keeps at least; default 1).
static int min_split_blocks() {
  static const int blocks = split_min_blocks_from(std::getenv("FA3JIT_SPLIT_MIN_BLOCKS"));
  return blocks;
}

void resolve_schedule(Plan& plan, const PathChoice& choice) {
  auto& p = plan.params;
  p.pack_gqa = plan.pack_gqa_requested >= 0
                   ? plan.pack_gqa_requested
                   : choose_pack_gqa(p.max_seqlen_q, p.h, p.h_k, choice.tile_m);
  if (p.h == p.h_k) p.pack_gqa = 0;
  if (plan.num_splits_requested > 0) {
    p.num_splits = plan.num_splits_requested;
  } else {
    const int group = p.pack_gqa ? p.h / p.h_k : 1;
    p.num_splits = choose_num_splits({.batch = p.batch,
                                      .heads = p.pack_gqa ? p.h_k : p.h,
                                      .q_rows = p.max_seqlen_q * group,
                                      .max_seqlen_k = p.max_seqlen_k,
                                      .workers = choice.workers,
                                      .tile_m = choice.tile_m,
                                      .tile_n = choice.tile_n,
                                      .min_split_blocks = min_split_blocks()});
  }
  // More splits than key blocks only adds empty work.
  const int key_blocks = std::max(1, (p.max_seqlen_k + choice.tile_n - 1) / choice.tile_n);
  p.num_splits = std::clamp(p.num_splits, 1, key_blocks);
}

int64_t split_workspace_needed(const Plan& plan, const PathChoice& choice) {
  if (choice.path == KernelPath::Cpu || plan.params.num_splits <= 1) return 0;
  return fa3jit_k::split_workspace_floats(plan.params) * int64_t(sizeof(float));
}

void check_split_workspace(const Plan& plan, const PathChoice& choice) {
  if (!plan.has_workspace) return;  // allocated per call
  const int64_t need = split_workspace_needed(plan, choice);
  if (need > plan.workspace_bytes) {
    const int64_t r = plan.workspace_reserved;
    throw Error(ErrorKind::InvalidValue,
                "workspace holds " + std::to_string(plan.workspace_bytes + r) + " bytes but this call needs " +
                    std::to_string(need + r) + (r ? " (" + std::to_string(r) + " of step scratch, then " : " (") +
                    "split-KV partials of num_splits = " + std::to_string(plan.params.num_splits) +
                    ": num_splits x total_q x h x (dv + 1) x 4 bytes; see split_workspace_bytes)");
  }
}

VarlenResult run_plan(Plan& plan, const PathChoice& choice, const VarlenArgs& args, void* stream) {
  resolve_schedule(plan, choice);
  check_split_workspace(plan, choice);

  VarlenResult result;
  if (args.out.defined()) {
    result.out = args.out;
  } else {
    result.out = detail::allocate_contiguous(plan.device, plan.out_dtype, plan.out_ndim, plan.out_shape.data(),
                                             result.out_storage);
  }
  detail::bind_out(plan, result.out);
  if (args.return_softmax_lse) {
    if (args.softmax_lse.defined()) {
      result.softmax_lse = args.softmax_lse;
    } else {
      result.softmax_lse = detail::allocate_contiguous(plan.device, DType::f32, plan.lse_ndim, plan.lse_shape.data(),
                                                       result.lse_storage);
    }
    detail::bind_lse(plan, result.softmax_lse);
  }
  detail::run_path(plan, choice, stream);
  return result;
}

}  // namespace detail

VarlenResult flash_attn_varlen(const VarlenArgs& args, void* stream) {
  detail::Plan plan = detail::validate_varlen_args(args, stream);
  const detail::PathChoice choice = detail::choose_path(plan);  // throws NotSupported
  return detail::run_plan(plan, choice, args, stream);
}

int64_t split_workspace_bytes_bound(const DeviceInfo& device, int dv) {
  if (device.backend == Backend::CPU) return 0;
  return int64_t(std::max(0, device.sm_count)) * 128 * (int64_t(std::max(0, dv)) + 1) * int64_t(sizeof(float));
}

int64_t split_workspace_bytes(const VarlenArgs& args, void* stream) {
  detail::Plan plan = detail::validate_varlen_args(args, stream);
  const detail::PathChoice choice = detail::choose_path(plan);
  detail::resolve_schedule(plan, choice);
  return detail::split_workspace_needed(plan, choice);
}

}  // namespace fa3jit
