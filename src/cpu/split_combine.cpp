#include "cpu/split_combine.h"

#include "../../kernels/common/seqinfo.cuh"
#include "../../kernels/common/softmax.cuh"
#include "cpu/row_convert.h"
#include "cpu/tile_kernel.h"

namespace fa3jit::cpu {

void combine_tile(const fa3jit_k::AttnParams& p, DType out_dtype, const SplitWorkspace& ws, const TileTask& task,
                  int64_t first_slot) {
  using namespace fa3jit_k;
  const SeqInfo s = seq_info(p, task.b);
  const int ns = ws.num_splits();
  const int rows = tile_rows(task);
  std::vector<float> acc(size_t(p.dv));
  for (int i = 0; i < rows; ++i) {
    const int r = tile_row_query(task, i), hh = tile_row_head(task, i);
    const int64_t slot = first_slot + i;
    const float sink = sink_logit(p, hh);
    SplitMerge m = merge_begin(sink);
    for (int k = 0; k < ns; ++k) merge_max(m, ws.lse(k, slot));
    for (int k = 0; k < ns; ++k) merge_add(m, ws.lse(k, slot));
    const float lse = merge_lse(m, sink);
    for (float& a : acc) a = 0.f;
    for (int k = 0; k < ns; ++k) {
      const float w = merge_weight(ws.lse(k, slot), lse);
      if (w == 0.f) continue;
      const float* part = ws.out(k, slot);
      for (int c = 0; c < p.dv; ++c) acc[c] += w * part[c];
    }
    store_row(p.out, out_dtype, out_offset(p, s, task.b, r, hh), p.dv, acc.data(), 1.f);
    if (p.lse) p.lse[lse_offset(p, s, task.b, r, hh)] = lse;
  }
}

}  // namespace fa3jit::cpu
