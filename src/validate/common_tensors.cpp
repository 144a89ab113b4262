#include "validate/common_tensors.h"

#include <utility>

#include "validate/check_util.h"

namespace fa3jit::detail {
namespace {

struct Named {
  const char* name;
  const Tensor* t;
  bool last_stride_one;  // descales may broadcast (expand) with stride 0
};

std::array<Named, 15> all_tensors(const VarlenArgs& a) {
  return {{{"q", &a.q, true},
           {"k", &a.k, true},
           {"v", &a.v, true},
           {"cu_seqlens_q", &a.cu_seqlens_q, true},
           {"cu_seqlens_k", &a.cu_seqlens_k, true},
           {"seqused_q", &a.seqused_q, true},
           {"seqused_k", &a.seqused_k, true},
           {"page_table", &a.page_table, true},
           {"qv", &a.qv, true},
           {"q_descale", &a.q_descale, false},
           {"k_descale", &a.k_descale, false},
           {"v_descale", &a.v_descale, false},
           {"sinks", &a.sinks, true},
           {"out", &a.out, true},
           {"softmax_lse", &a.softmax_lse, true}}};
}

}  // namespace

void check_required(const VarlenArgs& a) {
  for (auto [name, t] : {std::pair{"q", &a.q}, std::pair{"k", &a.k}, std::pair{"v", &a.v}})
    if (!t->defined()) fail(ErrorKind::InvalidValue, name, " is required: got none");
}

void check_common_tensor_rules(const VarlenArgs& a) {
  for (const Named& n : all_tensors(a)) {
    if (!n.t->defined()) continue;
    check_well_formed(*n.t, n.name);
    if (!(n.t->device == a.q.device))
      fail(ErrorKind::InvalidValue, n.name, " is on ", device_name(n.t->device), " but q is on ",
           device_name(a.q.device), ": every tensor must be on the same device");
    check_data(*n.t, n.name);
    if (n.last_stride_one) check_last_stride(*n.t, n.name);
  }
}

}  // namespace fa3jit::detail
