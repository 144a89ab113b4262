// The arguments of flash_attn_varlen, one field per keyword of the design
// brief (same names, same defaults). Fill it with designated initializers:
//   fa3jit::VarlenArgs a{.q = q, .k = k, .v = v, .cu_seqlens_q = cq, ...};
#pragma once
#include <array>
#include <memory>
#include <optional>

#include "fa3jit/device.h"
#include "fa3jit/tensor.h"

namespace fa3jit {

// Which implementation runs. Auto: the fastest correct one for the device
// that holds the tensors (CPU tensors always run on the CPU backend).
enum class KernelPath : int { Auto = 0, Cpu = 1, Sm80 = 2, Sm90 = 3 };

struct VarlenArgs {
  Tensor q{};             // (total_q, h, d) or (b, s_q, h, d)
  Tensor k{};             // (total_k, h_k, d), (b, s_k, h_k, d) or paged (pages, page_size, h_k, d)
  Tensor v{};             // like k with dv
  Tensor cu_seqlens_q{};  // int32 (b+1) or none (4-D q)
  Tensor cu_seqlens_k{};  // int32 (b+1) or none
  std::optional<int64_t> max_seqlen_q{};
  std::optional<int64_t> max_seqlen_k{};
  Tensor seqused_q{};   // int32 (b)
  Tensor seqused_k{};   // int32 (b)
  Tensor page_table{};  // int32 (b, max_pages_per_seq)
  std::optional<float> softmax_scale{};  // default 1/sqrt(d); with qv 1/sqrt(d + dv)
  bool causal = false;
  Tensor qv{};  // (total_q, h, dv): MLA
  Tensor q_descale{}, k_descale{}, v_descale{};  // fp32 (b, h_k)
  std::array<int, 2> window_size{-1, -1};
  int attention_chunk = 0;
  float softcap = 0.0f;
  int num_splits = 1;  // 0 = auto
  std::optional<bool> pack_gqa{};
  bool only_qv = false;
  int sm_margin = 0;
  bool return_softmax_lse = false;
  Tensor sinks{};  // bf16 or fp32 (h)
  Tensor out{};    // (total_q, h, dv) or (b, s_q, h, dv)

  // Beyond the brief's table.
  Tensor softmax_lse{};  // fp32 buffer for the LSE; allocated when none
  // Split-KV scratch (GPU calls that split): the fp32 partials come from it
  // instead of a stream-ordered allocation per call, so a serving loop
  // sizes it once and a captured graph holds kernels only (plus one 8-byte
  // memset where an sm90 launch takes its tiles from a counter: the
  // counter is the workspace's first bytes in capture). Contiguous, any
  // dtype, 16-byte aligned, on q's device, at least split_workspace_bytes()
  // bytes (auto splits never need more than SMs x 128 x (dv + 1) x 4). The
  // CPU backend ignores it.
  Tensor workspace{};
  KernelPath path = KernelPath::Auto;
  // On a GPU, cu_seqlens / seqused / page_table live in device memory; checking
  // them costs one small device-to-host copy and a stream sync. Serving loops
  // and CUDA-graph capture turn it off (the kernels then trust the metadata).
  bool check_metadata = true;
};

// What flash_attn_varlen returns. `out` and `softmax_lse` view either the
// caller's buffers or storage owned by this result.
struct VarlenResult {
  Tensor out{};
  Tensor softmax_lse{};  // none unless return_softmax_lse
  std::shared_ptr<void> out_storage;
  std::shared_ptr<void> lse_storage;
};

// Runs attention. `stream` is a CUstream / cudaStream_t for GPU tensors
// (nullptr = the default stream) and ignored on the CPU. Every argument is
// checked before any work; on error nothing is written.
VarlenResult flash_attn_varlen(const VarlenArgs& args, void* stream = nullptr);

// Bytes of `workspace` flash_attn_varlen(args) needs: num_splits x total_q
// x h x (dv + 1) x 4 when the call splits on a GPU (num_splits as resolved
// for these shapes and this device), else 0. Checks the arguments as the
// call would; runs and writes nothing.
int64_t split_workspace_bytes(const VarlenArgs& args, void* stream = nullptr);

// The most workspace any call with num_splits = 0 (auto) needs on `device`
// for value head dim dv, to size one buffer for a serving loop: auto splits
// fill at most one wave of tiles, so num_splits x total_q x h <= SMs x 128
// rows: SMs x 128 x (dv + 1) x 4 bytes (8.7 MB for dv 128 on an H100).
// 0 on the CPU (its backend keeps its own scratch).
int64_t split_workspace_bytes_bound(const DeviceInfo& device, int dv);

}  // namespace fa3jit
