#include "cpu/split_combine.h"

#include "../../kernels/common/softmax.cuh"
#include "cpu/row_convert.h"

namespace fa3jit::cpu {

void combine_rows(const fa3jit_k::AttnParams& p, DType out_dtype, const SplitWorkspace& ws, int b, int hh,
                  int r_begin, int r_end) {
  using namespace fa3jit_k;
  const SeqInfo s = seq_info(p, b);
  const float sink = sink_logit(p, hh);
  const int ns = ws.num_splits();
  std::vector<float> acc(size_t(p.dv));
  for (int r = r_begin; r < r_end; ++r) {
    const int64_t row = packed_row(p, s, b, r);
    SplitMerge m = merge_begin(sink);
    for (int k = 0; k < ns; ++k) merge_max(m, ws.lse(k, row, hh));
    for (int k = 0; k < ns; ++k) merge_add(m, ws.lse(k, row, hh));
    const float lse = merge_lse(m, sink);
    for (float& a : acc) a = 0.f;
    for (int k = 0; k < ns; ++k) {
      const float w = merge_weight(ws.lse(k, row, hh), lse);
      if (w == 0.f) continue;
      const float* part = ws.out(k, row, hh);
      for (int c = 0; c < p.dv; ++c) acc[c] += w * part[c];
    }
    store_row(p.out, out_dtype, out_offset(p, s, b, r, hh), p.dv, acc.data(), 1.f);
    if (p.lse) p.lse[lse_offset(p, s, b, r, hh)] = lse;
  }
}

}  // namespace fa3jit::cpu
