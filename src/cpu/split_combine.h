// Split-KV on the CPU: each split of a row's keys leaves a float partial
// (out normalized by its own sum, v_descale applied, and its LSE, no sink);
// combine_rows merges them with the shared merge_* logic, folding in the sink.
#pragma once
#include <cstdint>
#include <vector>

#include "../../kernels/common/seqinfo.cuh"
#include "fa3jit/tensor.h"

namespace fa3jit::cpu {

// Index of query row r of sequence b in [0, total_q): the packed row for
// varlen q, b * max_seqlen_q + r for 4-D q.
inline int64_t packed_row(const fa3jit_k::AttnParams& p, const fa3jit_k::SeqInfo& s, int b, int r) {
  return (p.cu_seqlens_q ? int64_t(s.q_start) : int64_t(b) * p.max_seqlen_q) + r;
}

class SplitWorkspace {
 public:
  SplitWorkspace(int num_splits, int64_t total_q, int h, int dv)
      : num_splits_(num_splits), total_q_(total_q), h_(h), dv_(dv),
        out_(size_t(num_splits) * size_t(total_q) * size_t(h) * size_t(dv)),
        lse_(size_t(num_splits) * size_t(total_q) * size_t(h)) {}

  int num_splits() const { return num_splits_; }
  float* out(int split, int64_t row, int hh) { return out_.data() + index(split, row, hh) * dv_; }
  const float* out(int split, int64_t row, int hh) const { return out_.data() + index(split, row, hh) * dv_; }
  float& lse(int split, int64_t row, int hh) { return lse_[size_t(index(split, row, hh))]; }
  float lse(int split, int64_t row, int hh) const { return lse_[size_t(index(split, row, hh))]; }

 private:
  int64_t index(int split, int64_t row, int hh) const { return (split * total_q_ + row) * h_ + hh; }
  int num_splits_;
  int64_t total_q_;
  int h_, dv_;
  std::vector<float> out_, lse_;
};

// Merges the splits of rows [r_begin, r_end) of sequence b, head hh, and
// writes out (in out_dtype) and the LSE (when params.lse is set).
void combine_rows(const fa3jit_k::AttnParams& p, DType out_dtype, const SplitWorkspace& ws, int b, int hh,
                  int r_begin, int r_end);

}  // namespace fa3jit::cpu
