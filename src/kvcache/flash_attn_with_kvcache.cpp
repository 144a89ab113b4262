// flash_attn_with_kvcache: check everything (the decode arguments here, the
// attention arguments through validate_varlen_args on the cache), then the
// append + rotary step, then the varlen path over the cache with
// seqused_k = cache_seqlens + new tokens and the cache rows / left padding
// in AttnParams (kv_batch_idx, leftpad_k). Nothing is written before every
// check passed and every kernel is loaded.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "device/cuda_driver.h"
#include "dispatch/device_buffer.h"
#include "dispatch/run_plan.h"
#include "fa3jit/error.h"
#include "fa3jit/kvcache.h"
#include "kvcache/append_step.h"
#include "kvcache/kvcache_layout.h"
#include "validate/plan.h"

namespace fa3jit {
namespace {

// Scratch of one call: the rotated q and the key lengths. On a GPU it is
// stream-ordered (cuMemAllocAsync / cuMemFreeAsync on the caller's stream:
// capturable into a CUDA graph, no host sync), freed after the attention
// kernels are enqueued.
class Scratch {
 public:
  // On a GPU with the caller's workspace, the scratch is its first bytes()
  // (the split-KV partials follow); else it is allocated on the stream.
  Scratch(const Device& dev, size_t seqused_bytes, size_t q_rot_bytes, void* stream, const Tensor& workspace)
      : stream_(static_cast<CUstream>(stream)) {
    const size_t q_at = (seqused_bytes + 255) / 256 * 256, total = q_at + q_rot_bytes;
    bytes_ = (total + 255) / 256 * 256;
    if (total == 0) return;
    if (dev.type == DeviceType::CPU) {
      host_.assign(total + 256, 0);
      base_ = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(host_.data()) + 255) / 256 * 256);
    } else if (workspace.defined()) {
      const int64_t have = workspace.numel() * int64_t(dtype_size(workspace.dtype));
      if (have < int64_t(total))
        throw Error(ErrorKind::InvalidValue,
                    "workspace holds " + std::to_string(have) + " bytes but this call's append / rotary scratch needs " +
                        std::to_string(total) + " before its split-KV partials (see split_workspace_bytes)");
      base_ = static_cast<char*>(workspace.data);
    } else {
      cuda::set_device(dev.index);
      CUdeviceptr p = 0;
      FA3JIT_CU(cuda::require_driver().cuMemAllocAsync(&p, total, stream_));
      device_ = p;
      base_ = reinterpret_cast<char*>(p);
    }
    seqused_ = seqused_bytes ? reinterpret_cast<int*>(base_) : nullptr;
    q_rot_ = q_rot_bytes ? base_ + q_at : nullptr;
  }
  ~Scratch() {
    if (device_)
      if (const cuda::Driver* d = cuda::driver()) d->cuMemFreeAsync(device_, stream_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  int* seqused() const { return seqused_; }
  void* q_rot() const { return q_rot_; }
  // Bytes it takes at the start of a workspace (256-aligned; 0 when none).
  size_t bytes() const { return bytes_; }

 private:
  CUstream stream_;
  std::vector<char> host_;
  CUdeviceptr device_ = 0;
  size_t bytes_ = 0;
  char* base_ = nullptr;
  int* seqused_ = nullptr;
  char* q_rot_ = nullptr;
};

// The cache as the varlen path sees it. With cache_batch_idx the rows are
// picked by kv_batch_idx, so the view claims b rows (never read beyond the
// real b_cache: the indices are in range).
Tensor cache_view(const Tensor& cache, const detail::KvcacheLayout& L, bool batch_idx) {
  Tensor t = cache;
  if (batch_idx) t.shape[0] = L.batch;
  return t;
}

// What validate_varlen_args and the kernels get for the key lengths.
struct KeyLengths {
  Tensor seqused_k;                     // none: every key of the row / pages
  std::vector<int32_t> host;            // CPU: the values (seqused_k views them)
  bool from_step = false;               // GPU: the append step writes them
  std::optional<int64_t> max_seqlen_k;  // when the values are known
};

KeyLengths key_lengths(const KvcacheArgs& a, const detail::KvcacheLayout& L, const detail::KvcacheMeta& m) {
  KeyLengths k;
  const Tensor* given = std::get_if<Tensor>(&a.cache_seqlens);
  if (m.readable) {
    int longest = 0;
    for (int b = 0; b < L.batch; ++b) longest = std::max(longest, m.cached_tokens(a, L, b) + m.new_tokens(L, b));
    k.max_seqlen_k = longest;
  }
  if (!L.append && given) {
    k.seqused_k = *given;
  } else if (L.append || std::holds_alternative<int64_t>(a.cache_seqlens)) {
    if (a.q.device.type == DeviceType::CPU) {
      k.host.resize(size_t(L.batch));
      for (int b = 0; b < L.batch; ++b) k.host[size_t(b)] = m.cached_tokens(a, L, b) + m.new_tokens(L, b);
    } else {
      k.from_step = true;
    }
    const int64_t shape[1] = {L.batch};
    k.seqused_k = detail::contiguous_view(k.host.empty() ? nullptr : k.host.data(), DType::i32, 1, shape, a.q.device);
  }
  return k;
}

VarlenArgs varlen_args_on_cache(const KvcacheArgs& a, const detail::KvcacheLayout& L, const detail::KvcacheMeta& m,
                                const KeyLengths& keys, const Tensor& q) {
  VarlenArgs v;
  v.q = q;
  v.k = cache_view(a.k_cache, L, a.cache_batch_idx.defined());
  v.v = cache_view(a.v_cache, L, a.cache_batch_idx.defined());
  v.cu_seqlens_q = a.cu_seqlens_q;
  v.max_seqlen_q = a.max_seqlen_q;
  if (!v.max_seqlen_q && !L.q_is_4d && m.readable) {
    int longest = 0;
    for (int b = 0; b < L.batch; ++b) longest = std::max(longest, m.query_rows(L, b));
    v.max_seqlen_q = longest;
  }
  v.max_seqlen_k = L.paged ? keys.max_seqlen_k : std::nullopt;
  v.seqused_k = keys.seqused_k;
  v.page_table = a.page_table;
  v.softmax_scale = a.softmax_scale;
  v.causal = a.causal;
  v.qv = a.qv;
  v.q_descale = a.q_descale, v.k_descale = a.k_descale, v.v_descale = a.v_descale;
  v.window_size = a.window_size;
  v.attention_chunk = a.attention_chunk.value_or(0);
  v.softcap = a.softcap;
  v.num_splits = a.num_splits;
  v.pack_gqa = a.pack_gqa;
  v.only_qv = a.only_qv;
  v.sm_margin = a.sm_margin;
  v.return_softmax_lse = a.return_softmax_lse;
  v.sinks = a.sinks;
  v.out = a.out;
  v.softmax_lse = a.softmax_lse;
  v.workspace = a.workspace;
  v.path = a.path;
  // Checked above when wanted; on a GPU the key lengths are not written yet.
  v.check_metadata = false;
  return v;
}

// Everything of a call up to the path choice: the decode checks, the key
// lengths, the varlen arguments on the cache (with scheduler_metadata's
// plan), validated, and the path. `scratch` receives the call's scratch.
// Nothing is written and no kernel is loaded.
struct PlannedCall {
  detail::KvcacheLayout layout;
  detail::KvcacheMeta meta;
  KeyLengths keys;
  VarlenArgs va;
  detail::Plan plan;
  detail::PathChoice choice;
};

PlannedCall plan_call(const KvcacheArgs& a, void* stream, std::optional<Scratch>& scratch) {
  PlannedCall c;
  c.layout = detail::check_kvcache_args(a);
  const detail::KvcacheLayout& L = c.layout;
  c.meta = detail::read_and_check_kvcache_metadata(a, L, stream);
  c.keys = key_lengths(a, L, c.meta);

  const bool rotary = L.rotary_dim > 0;
  const size_t q_rot_bytes = rotary ? size_t(L.total_q) * L.h * L.d * dtype_size(a.q.dtype) : 0;
  scratch.emplace(a.q.device, c.keys.from_step ? size_t(L.batch) * 4 : 0, q_rot_bytes, stream, a.workspace);
  if (c.keys.from_step) c.keys.seqused_k.data = scratch->seqused();
  const Tensor q =
      rotary ? detail::contiguous_view(scratch->q_rot(), a.q.dtype, a.q.ndim, a.q.shape.data(), a.q.device) : a.q;

  c.va = varlen_args_on_cache(a, L, c.meta, c.keys, q);
  if (a.scheduler_metadata.defined()) {
    const SchedulerMetadata plan = detail::check_scheduler_metadata(a);
    c.va.num_splits = plan[2];
    c.va.pack_gqa = plan[3] != 0;
  }
  try {
    c.plan = detail::validate_varlen_args(c.va, stream);
    if (c.plan.has_workspace && a.q.device.type != DeviceType::CPU && scratch->bytes() > 0) {
      // the split-KV partials go after the scratch
      const int64_t skip = std::min<int64_t>(int64_t(scratch->bytes()), c.plan.workspace_bytes);
      c.plan.workspace = static_cast<char*>(c.plan.workspace) + skip;
      c.plan.workspace_bytes -= skip;
      c.plan.workspace_reserved = skip;
    }
    c.plan.params.kv_batch_idx = static_cast<const int*>(a.cache_batch_idx.data);
    c.plan.params.leftpad_k = static_cast<const int*>(a.cache_leftpad.data);
    c.choice = detail::choose_path(c.plan);  // throws NotSupported
  } catch (const Error& e) {
    // The varlen rules name the cache as k / v: say so.
    throw Error(e.kind(), std::string(e.what()) +
                              " [flash_attn_with_kvcache: k / v here are k_cache / v_cache, seqused_k is "
                              "cache_seqlens + new tokens]");
  }
  return c;
}

}  // namespace

VarlenResult flash_attn_with_kvcache(const KvcacheArgs& a, void* stream) {
  std::optional<Scratch> scratch;
  PlannedCall c = plan_call(a, stream, scratch);
  const detail::KvcacheLayout& L = c.layout;
  VarlenArgs& va = c.va;
  // The splits are known now: a workspace too small is refused before the
  // append writes the caches.
  detail::resolve_schedule(c.plan, c.choice);
  detail::check_split_workspace(c.plan, c.choice);
  const bool on_gpu = a.q.device.type != DeviceType::CPU;
  const jit::Kernel* kernel = on_gpu ? &detail::append_kernel(a.q.dtype, *c.choice.device) : nullptr;

  // Outputs the caller did not give, allocated before anything is written.
  std::shared_ptr<void> out_storage, lse_storage;
  if (!va.out.defined()) {
    va.out =
        detail::allocate_contiguous(c.plan.device, c.plan.out_dtype, c.plan.out_ndim, c.plan.out_shape.data(), out_storage);
  }
  if (a.return_softmax_lse && !va.softmax_lse.defined()) {
    va.softmax_lse =
        detail::allocate_contiguous(c.plan.device, DType::f32, c.plan.lse_ndim, c.plan.lse_shape.data(), lse_storage);
  }

  const fa3jit_k::AppendParams step =
      detail::make_append_params(a, L, scratch->q_rot(), c.keys.from_step ? scratch->seqused() : nullptr);
  if (on_gpu)
    detail::append_on_gpu(*kernel, step, static_cast<CUstream>(stream));
  else
    detail::append_on_cpu(step);

  VarlenResult r = detail::run_plan(c.plan, c.choice, va, stream);
  r.out_storage = out_storage;
  r.lse_storage = lse_storage;
  return r;
}

SchedulerMetadata get_scheduler_metadata(const KvcacheArgs& a, void* stream) {
  std::optional<Scratch> scratch;
  PlannedCall c = plan_call(a, stream, scratch);
  detail::resolve_schedule(c.plan, c.choice);
  return {kSchedulerMetadataMarker, kSchedulerMetadataVersion, c.plan.params.num_splits, c.plan.params.pack_gqa};
}

int64_t split_workspace_bytes(const KvcacheArgs& a, void* stream) {
  KvcacheArgs probe = a;
  probe.workspace = Tensor{};  // the size, whatever the caller's buffer holds
  std::optional<Scratch> scratch;
  PlannedCall c = plan_call(probe, stream, scratch);
  detail::resolve_schedule(c.plan, c.choice);
  const int64_t split = detail::split_workspace_needed(c.plan, c.choice);
  if (a.q.device.type == DeviceType::CPU) return 0;
  return int64_t(scratch->bytes()) + split;
}

}  // namespace fa3jit
