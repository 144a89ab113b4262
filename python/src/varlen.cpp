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
#include "fa3jit/args.h"
#include "fa3jit/error.h"
#include "tensor_from_array.h"

namespace nb = nanobind;

namespace fa3jit::python {
namespace {

KernelPath path_from_name(const std::string& s) {
  if (s == "auto") return KernelPath::Auto;
  if (s == "cpu") return KernelPath::Cpu;
  if (s == "sm80") return KernelPath::Sm80;
  if (s == "sm90") return KernelPath::Sm90;
  throw Error(ErrorKind::InvalidValue,
              "path must be 'auto', 'cpu', 'sm80' or 'sm90'; got '" + s + "'");
}

void run_varlen(nb::handle q, nb::handle k, nb::handle v, nb::handle cu_seqlens_q,
                nb::handle cu_seqlens_k, std::optional<int64_t> max_seqlen_q,
                std::optional<int64_t> max_seqlen_k, nb::handle seqused_q, nb::handle seqused_k,
                nb::handle page_table, std::optional<float> softmax_scale, bool causal,
                nb::handle qv, nb::handle q_descale, nb::handle k_descale, nb::handle v_descale,
                std::array<int, 2> window_size, int attention_chunk, float softcap,
                int num_splits, std::optional<bool> pack_gqa, bool only_qv, int sm_margin,
                bool return_softmax_lse, nb::handle sinks, nb::handle out,
                nb::handle softmax_lse, uintptr_t stream, bool check_metadata,
                const std::string& path, bool uint16_is_bf16, bool uint8_is_fp8) {
  const StorageOverride st{uint16_is_bf16, uint8_is_fp8};
  // Imported arrays stay alive (and own their DLPack capsules) until return.
  ImportedTensor t_q = import_tensor(q, "q", false, st), t_k = import_tensor(k, "k", false, st),
                 t_v = import_tensor(v, "v", false, st),
                 t_cu_q = import_tensor(cu_seqlens_q, "cu_seqlens_q", false, st),
                 t_cu_k = import_tensor(cu_seqlens_k, "cu_seqlens_k", false, st),
                 t_used_q = import_tensor(seqused_q, "seqused_q", false, st),
                 t_used_k = import_tensor(seqused_k, "seqused_k", false, st),
                 t_pages = import_tensor(page_table, "page_table", false, st),
                 t_qv = import_tensor(qv, "qv", false, st),
                 t_qd = import_tensor(q_descale, "q_descale", false, st),
                 t_kd = import_tensor(k_descale, "k_descale", false, st),
                 t_vd = import_tensor(v_descale, "v_descale", false, st),
                 t_sinks = import_tensor(sinks, "sinks", false, st),
                 t_out = import_tensor(out, "out", true, st),
                 t_lse = import_tensor(softmax_lse, "softmax_lse", true, st);
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
               .path = path_from_name(path),
               .check_metadata = check_metadata};
  VarlenResult r;
  {
    nb::gil_scoped_release no_gil;
    r = flash_attn_varlen(a, reinterpret_cast<void*>(stream));
  }
  // The Python layer allocates every output; storage owned by the result
  // would be freed on return, so its appearance is a bug, said loudly.
  if (r.out_storage || r.lse_storage)
    throw Error(ErrorKind::Runtime,
                "internal: fa3jit allocated an output the Python layer should have given");
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
        nb::arg("out").none(), nb::arg("softmax_lse").none(), nb::arg("stream"),
        nb::arg("check_metadata"), nb::arg("path"), nb::arg("uint16_is_bf16"),
        nb::arg("uint8_is_fp8"),
        "fa3jit::flash_attn_varlen with every output given; see fa3jit.flash_attn_varlen_func.");
}

}  // namespace fa3jit::python
