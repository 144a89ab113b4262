// Split-KV on the CPU: each split of a tile's keys leaves float partials per
// tile row (out normalized by its own sum with v_descale applied, and its
// LSE, no sink); combine_tile merges them with the shared merge_* logic,
// folding in the sink. Tasks run in waves so the workspace stays bounded.
#pragma once
#include <cstdint>
#include <vector>

#include "../../kernels/common/params.cuh"
#include "fa3jit/tensor.h"

namespace fa3jit::cpu {

struct TileTask;

// Partials of one wave of tiles: `slots` tile rows (each tile owns a
// consecutive run of slots), for every split.
class SplitWorkspace {
 public:
  SplitWorkspace(int num_splits, int dv) : num_splits_(num_splits), dv_(dv) {}

  // Room for `slots` tile rows; contents undefined until the splits write them.
  void reset(int64_t slots) {
    slots_ = slots;
    out_.resize(size_t(num_splits_) * size_t(slots) * size_t(dv_));
    lse_.resize(size_t(num_splits_) * size_t(slots));
  }
  int num_splits() const { return num_splits_; }
  float* out(int split, int64_t slot) { return out_.data() + index(split, slot) * dv_; }
  const float* out(int split, int64_t slot) const { return out_.data() + index(split, slot) * dv_; }
  float& lse(int split, int64_t slot) { return lse_[size_t(index(split, slot))]; }
  float lse(int split, int64_t slot) const { return lse_[size_t(index(split, slot))]; }

 private:
  int64_t index(int split, int64_t slot) const { return split * slots_ + slot; }
  int num_splits_, dv_;
  int64_t slots_ = 0;
  std::vector<float> out_, lse_;
};

// Merges the splits of every row of `task` (its partials start at slot
// `first_slot`) and writes out (in out_dtype) and the LSE (when params.lse).
void combine_tile(const fa3jit_k::AttnParams& p, DType out_dtype, const SplitWorkspace& ws, const TileTask& task,
                  int64_t first_slot);

}  // namespace fa3jit::cpu
