// The checked and normalized form of VarlenArgs that dispatch runs.
#pragma once
#include <array>
#include <cstdint>

#include "../../kernels/common/params.cuh"
#include "fa3jit/args.h"

namespace fa3jit::detail {

struct Plan {
  fa3jit_k::AttnParams params{};  // out / lse bound by bind_out / bind_lse
  Device device{};
  DType in_dtype = DType::bf16;
  DType out_dtype = DType::bf16;
  bool q_is_4d = false;  // fixed-length (b, s_q, h, d) batch
  bool paged = false;
  // Rows of k's token dim as stored: total_k (packed 3-D), s_k (4-D) or
  // page_size (paged). Bounds the sm90 path's TMA box reads.
  int k_rows = 0;
  int num_splits_requested = 1;  // as given: 0 = auto (resolved by dispatch)
  int pack_gqa_requested = -1;   // -1 = auto, 0/1 as given
  KernelPath path = KernelPath::Auto;
  int sm_margin = 0;
  // The caller's split-KV scratch (args.workspace), when given: the part
  // left for the partials, after `workspace_reserved` bytes that the entry
  // point keeps for itself (flash_attn_with_kvcache's step scratch).
  bool has_workspace = false;
  void* workspace = nullptr;
  int64_t workspace_bytes = 0;
  int64_t workspace_reserved = 0;
  // Shapes of the outputs, for allocation: out (total_q, h, dv) or
  // (b, s_q, h, dv); lse (h, total_q) or (b, h, s_q).
  int out_ndim = 3;
  std::array<int64_t, 4> out_shape{};
  int lse_ndim = 2;
  std::array<int64_t, 4> lse_shape{};
};

// Checks every argument (dtypes, ranks, shapes, strides, devices, head
// dims, metadata values) and builds the Plan. Throws fa3jit::Error naming
// the argument and the rule. Reads but never writes the caller's memory.
// On a GPU with args.check_metadata, copies the int32 metadata to the host
// (stream-ordered on `stream`, then a sync) to check it.
Plan validate_varlen_args(const VarlenArgs& args, void* stream);

// Points the plan's out / lse at a tensor of the shape the plan wants
// (checked by validate when given by the caller).
void bind_out(Plan& plan, const Tensor& out);
void bind_lse(Plan& plan, const Tensor& lse);

}  // namespace fa3jit::detail
