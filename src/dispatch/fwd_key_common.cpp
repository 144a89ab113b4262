#include "dispatch/fwd_key_common.h"

#include "../../kernels/sm80/tile_config.cuh"
#include "../../kernels/sm90/tile_config.cuh"

namespace fa3jit::detail {
namespace k = fa3jit_k::sm80;

static_assert(int(fa3jit_k::sm90::kMaskNone) == int(k::kMaskNone) &&
                  int(fa3jit_k::sm90::kMaskCausal) == int(k::kMaskCausal) &&
                  int(fa3jit_k::sm90::kMaskLocal) == int(k::kMaskLocal),
              "the sm80 and sm90 kernels must number the mask kinds alike");

int fwd_mask_kind(const fa3jit_k::AttnParams& p) {
  const bool local = p.window_left >= 0 || (!p.is_causal && p.window_right >= 0) || p.attention_chunk > 0;
  return local ? k::kMaskLocal : (p.is_causal ? k::kMaskCausal : k::kMaskNone);
}

const char* fwd_mask_name(int mask) {
  switch (mask) {
    case k::kMaskCausal: return "causal";
    case k::kMaskLocal: return "local";
    default: return "nomask";
  }
}

bool fwd_is_varlen(const fa3jit_k::AttnParams& p) {
  return p.cu_seqlens_q != nullptr || p.cu_seqlens_k != nullptr || p.seqused_q != nullptr || p.seqused_k != nullptr;
}

}  // namespace fa3jit::detail
