// flash_attn_varlen from Python. The Python layer passes every tensor
// (outputs already allocated in the caller's framework), the stream of the
// caller's framework and the storage overrides; this function only converts
// and calls, with the GIL released while the library works.
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
#include "fa3jit/args.h"
#include "fa3jit/error.h"

namespace nb = nanobind;

namespace fa3jit::python {
namespace {

void run_varlen(nb::handle q, nb::handle k, nb::handle v, nb::handle cu_seqlens_q,
                nb::handle cu_seqlens_k, std::optional<int64_t> max_seqlen_q,
                std::optional<int64_t> max_seqlen_k, nb::handle seqused_q, nb::handle seqused_k,
                nb::handle page_table, std::optional<float> softmax_scale, bool causal,
                nb::handle qv, nb::handle q_descale, nb::handle k_descale, nb::handle v_descale,
                std::array<int, 2> window_size, int attention_chunk, float softcap,
                int num_splits, std::optional<bool> pack_gqa, bool only_qv, int sm_margin,
                bool return_softmax_lse, nb::handle sinks, nb::handle out,
                nb::handle softmax_lse, nb::handle workspace, uintptr_t stream, bool check_metadata,
                const std::string& path, bool uint16_is_bf16, bool uint8_is_fp8) {
  const ArgImporter in{StorageOverride{uint16_is_bf16, uint8_is_fp8}};
  // Imported arrays stay alive (and own their DLPack capsules) until return.
  ImportedTensor t_q = in.input(q, "q"), t_k = in.input(k, "k"), t_v = in.input(v, "v"),
                 t_cu_q = in.input(cu_seqlens_q, "cu_seqlens_q"),
                 t_cu_k = in.input(cu_seqlens_k, "cu_seqlens_k"),
                 t_used_q = in.input(seqused_q, "seqused_q"),
                 t_used_k = in.input(seqused_k, "seqused_k"),
                 t_pages = in.input(page_table, "page_table"), t_qv = in.input(qv, "qv"),
                 t_qd = in.input(q_descale, "q_descale"), t_kd = in.input(k_descale, "k_descale"),
                 t_vd = in.input(v_descale, "v_descale"), t_sinks = in.input(sinks, "sinks"),
                 t_out = in.output(out, "out"), t_lse = in.output(softmax_lse, "softmax_lse"),
                 t_ws = in.output(workspace, "workspace");
  if (!t_q.tensor.defined()) throw Error(ErrorKind::InvalidValue, "q must be given, not None");
  if (!t_k.tensor.defined()) throw Error(ErrorKind::InvalidValue, "k must be given, not None");
  if (!t_v.tensor.defined()) throw Error(ErrorKind::InvalidValue, "v must be given, not None");

  VarlenArgs a{.q = t_q.tensor,
               .k = t_k.tensor,
               .v = t_v.tensor,
               .cu_seqlens_q = t_cu_q.tensor,
               .cu_seqlens_k = t_cu_k.tensor,
               .max_seqlen_q = max_seqlen_q,
               .max_seqlen_k = max_seqlen_k,
               .seqused_q = t_used_q.tensor,
               .seqused_k = t_used_k.tensor,
               .page_table = t_pages.tensor,
               .softmax_scale = softmax_scale,
               .causal = causal,
               .qv = t_qv.tensor,
               .q_descale = t_qd.tensor,
               .k_descale = t_kd.tensor,
               .v_descale = t_vd.tensor,
               .window_size = window_size,
               .attention_chunk = attention_chunk,
               .softcap = softcap,
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
  call_without_gil(&flash_attn_varlen, a, stream);
}

}  // namespace

void bind_varlen(nb::module_& m) {
  m.def("flash_attn_varlen", &run_varlen, nb::arg("q").none(), nb::arg("k").none(),
        nb::arg("v").none(), nb::arg("cu_seqlens_q").none(), nb::arg("cu_seqlens_k").none(),
        nb::arg("max_seqlen_q").none(), nb::arg("max_seqlen_k").none(),
        nb::arg("seqused_q").none(), nb::arg("seqused_k").none(), nb::arg("page_table").none(),
        nb::arg("softmax_scale").none(), nb::arg("causal"), nb::arg("qv").none(),
        nb::arg("q_descale").none(), nb::arg("k_descale").none(), nb::arg("v_descale").none(),
        nb::arg("window_size"), nb::arg("attention_chunk"), nb::arg("softcap"),
        nb::arg("num_splits"), nb::arg("pack_gqa").none(), nb::arg("only_qv"),
        nb::arg("sm_margin"), nb::arg("return_softmax_lse"), nb::arg("sinks").none(),
        nb::arg("out").none(), nb::arg("softmax_lse").none(), nb::arg("workspace").none(), nb::arg("stream"),
        nb::arg("check_metadata"), nb::arg("path"), nb::arg("uint16_is_bf16"),
        nb::arg("uint8_is_fp8"),
        "fa3jit::flash_attn_varlen with every output given; see fa3jit.flash_attn_varlen_func.");
}

}  // namespace fa3jit::python
