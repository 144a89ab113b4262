// flash_attn_with_kvcache from Python. The Python layer passes every tensor
// (outputs already allocated in the caller's framework), cache_seqlens as a
// tensor or an int, and the caller's stream; this function only converts and
// calls, with the GIL released while the library works. The caches are
// imported writable when new tokens are appended into them.
#include "fa3jit/kvcache.h"

#include <nanobind/nanobind.h>
#include <nanobind/stl/array.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "bindings.h"
#include "call_args.h"

namespace nb = nanobind;

namespace fa3jit::python {
namespace {

// flash_attn_with_kvcache, or with plan_only get_scheduler_metadata (the
// plan's 4 words as a tuple; nothing is written): one argument list for both.
nb::object run_kvcache(nb::handle q, nb::handle k_cache, nb::handle v_cache, nb::handle k, nb::handle v,
                 nb::handle qv, nb::handle rotary_cos, nb::handle rotary_sin,
                 nb::handle cache_seqlens, std::optional<int64_t> cache_seqlens_int,
                 nb::handle cache_batch_idx, nb::handle cache_leftpad, nb::handle page_table,
                 nb::handle cu_seqlens_q, nb::handle cu_seqlens_k_new,
                 std::optional<int64_t> max_seqlen_q, nb::handle rotary_seqlens,
                 nb::handle q_descale, nb::handle k_descale, nb::handle v_descale,
                 std::optional<float> softmax_scale, bool causal, std::array<int, 2> window_size,
                 std::optional<int> attention_chunk, float softcap, bool rotary_interleaved,
                 nb::handle scheduler_metadata, int num_splits, std::optional<bool> pack_gqa,
                 bool only_qv, int sm_margin, bool return_softmax_lse, nb::handle sinks,
                 nb::handle out, nb::handle softmax_lse, nb::handle workspace, uintptr_t stream, bool check_metadata,
                 const std::string& path, bool uint16_is_bf16, bool uint8_is_fp8, bool plan_only) {
  const ArgImporter im{StorageOverride{uint16_is_bf16, uint8_is_fp8}};
  const bool appends = !k.is_none();
  auto in = [&](nb::handle h, const char* name) { return im.input(h, name); };
  // Imported arrays stay alive (and own their DLPack capsules) until return.
  ImportedTensor t_q = in(q, "q"), t_kc = im.import(k_cache, "k_cache", appends),
                 t_vc = im.import(v_cache, "v_cache", appends), t_k = in(k, "k"),
                 t_v = in(v, "v"), t_qv = in(qv, "qv"), t_cos = in(rotary_cos, "rotary_cos"),
                 t_sin = in(rotary_sin, "rotary_sin"), t_lens = in(cache_seqlens, "cache_seqlens"),
                 t_idx = in(cache_batch_idx, "cache_batch_idx"),
                 t_pad = in(cache_leftpad, "cache_leftpad"), t_pages = in(page_table, "page_table"),
                 t_cu_q = in(cu_seqlens_q, "cu_seqlens_q"),
                 t_cu_new = in(cu_seqlens_k_new, "cu_seqlens_k_new"),
                 t_rot = in(rotary_seqlens, "rotary_seqlens"), t_qd = in(q_descale, "q_descale"),
                 t_kd = in(k_descale, "k_descale"), t_vd = in(v_descale, "v_descale"),
                 t_sched = in(scheduler_metadata, "scheduler_metadata"),
                 t_sinks = in(sinks, "sinks"), t_out = im.output(out, "out"),
                 t_lse = im.output(softmax_lse, "softmax_lse"), t_ws = im.output(workspace, "workspace");

  CacheSeqlens lens;
  if (t_lens.tensor.defined())
    lens = t_lens.tensor;
  else if (cache_seqlens_int)
    lens = *cache_seqlens_int;

  KvcacheArgs a{.q = t_q.tensor,
                .k_cache = t_kc.tensor,
                .v_cache = t_vc.tensor,
                .k = t_k.tensor,
                .v = t_v.tensor,
                .qv = t_qv.tensor,
                .rotary_cos = t_cos.tensor,
                .rotary_sin = t_sin.tensor,
                .cache_seqlens = lens,
                .cache_batch_idx = t_idx.tensor,
                .cache_leftpad = t_pad.tensor,
                .page_table = t_pages.tensor,
                .cu_seqlens_q = t_cu_q.tensor,
                .cu_seqlens_k_new = t_cu_new.tensor,
                .max_seqlen_q = max_seqlen_q,
                .rotary_seqlens = t_rot.tensor,
                .q_descale = t_qd.tensor,
                .k_descale = t_kd.tensor,
                .v_descale = t_vd.tensor,
                .softmax_scale = softmax_scale,
                .causal = causal,
                .window_size = window_size,
                .attention_chunk = attention_chunk,
                .softcap = softcap,
                .rotary_interleaved = rotary_interleaved,
                .scheduler_metadata = t_sched.tensor,
                .num_splits = num_splits,
                .pack_gqa = pack_gqa,
                .only_qv = only_qv,
                .sm_margin = sm_margin,
                .return_softmax_lse = return_softmax_lse,
                .sinks = t_sinks.tensor,
                .out = t_out.tensor,
                .softmax_lse = t_lse.tensor,
                .workspace = t_ws.tensor,
                .path = kernel_path_from_name(path),
                .check_metadata = check_metadata};
  if (plan_only) {
    SchedulerMetadata w;
    {
      nb::gil_scoped_release no_gil;
      w = get_scheduler_metadata(a, reinterpret_cast<void*>(stream));
    }
    return nb::make_tuple(w[0], w[1], w[2], w[3]);
  }
  call_without_gil(&flash_attn_with_kvcache, a, stream);
  return nb::none();
}

}  // namespace

void bind_kvcache(nb::module_& m) {
  m.def("flash_attn_with_kvcache", &run_kvcache, nb::arg("q").none(), nb::arg("k_cache").none(),
        nb::arg("v_cache").none(), nb::arg("k").none(), nb::arg("v").none(), nb::arg("qv").none(),
        nb::arg("rotary_cos").none(), nb::arg("rotary_sin").none(), nb::arg("cache_seqlens").none(),
        nb::arg("cache_seqlens_int").none(), nb::arg("cache_batch_idx").none(),
        nb::arg("cache_leftpad").none(), nb::arg("page_table").none(),
        nb::arg("cu_seqlens_q").none(), nb::arg("cu_seqlens_k_new").none(),
        nb::arg("max_seqlen_q").none(), nb::arg("rotary_seqlens").none(),
        nb::arg("q_descale").none(), nb::arg("k_descale").none(), nb::arg("v_descale").none(),
        nb::arg("softmax_scale").none(), nb::arg("causal"), nb::arg("window_size"),
        nb::arg("attention_chunk").none(), nb::arg("softcap"), nb::arg("rotary_interleaved"),
        nb::arg("scheduler_metadata").none(), nb::arg("num_splits"), nb::arg("pack_gqa").none(),
        nb::arg("only_qv"), nb::arg("sm_margin"), nb::arg("return_softmax_lse"),
        nb::arg("sinks").none(), nb::arg("out").none(), nb::arg("softmax_lse").none(),
        nb::arg("workspace").none(), nb::arg("stream"), nb::arg("check_metadata"), nb::arg("path"), nb::arg("uint16_is_bf16"),
        nb::arg("uint8_is_fp8"), nb::arg("plan_only") = false,
        "fa3jit::flash_attn_with_kvcache with every output given (plan_only: get_scheduler_metadata's words); see "
        "fa3jit.flash_attn_with_kvcache.");
}

}  // namespace fa3jit::python
