// What the sm80 and sm90 kernel keys share: the mask kind a plan needs,
// its name in key descriptions, and whether the sequences are variable.
#pragma once
#include "../../kernels/common/params.cuh"

namespace fa3jit::detail {

// The kernels' kMask argument (kMaskNone / kMaskCausal / kMaskLocal, the same
// values on both paths): a window or chunk needs the local rule; causal alone
// the causal one.
int fwd_mask_kind(const fa3jit_k::AttnParams& p);

// "nomask", "causal" or "local".
const char* fwd_mask_name(int mask);

// True when lengths come from cu_seqlens / seqused (recorded for logs).
bool fwd_is_varlen(const fa3jit_k::AttnParams& p);

}  // namespace fa3jit::detail
