// The compile-time shape of one sm80 forward instance, shared by the kernel
// and the host code that picks it (so both agree on the shared-memory size
// and on what the feature flags mean). Host- and device-compilable.
#pragma once
#include "../common/params.cuh"

namespace fa3jit_k::sm80 {

// Feature flags (template argument kFlags of fwd_kernel).
enum : int {
  kFlagPaged = 1,      // K/V rows gathered through the page table
  kFlagSoftcap = 2,    // softcap * tanh(s / softcap)
  kFlagSinks = 4,      // attention-sink logits join the denominator
  kFlagQv = 8,         // scores += qv . v
  kFlagOnlyQv = 16,    // scores = qv . v (no q . k)
  kFlagSplit = 32,     // write fp32 partials for the combine kernel
  kFlagPackGqa = 64,   // a tile holds the q-heads of one kv-head
};

// Mask kinds (template argument kMask): which per-element rule can cut a
// key block short besides the sequence end.
enum : int { kMaskNone = 0, kMaskCausal = 1, kMaskLocal = 2 /* window and/or chunk */ };

// Shared-memory rows are padded by 8 elements (16 bytes) so that ldmatrix
// reads of 8 consecutive rows hit 8 distinct bank groups.
FA3JIT_HD constexpr int smem_stride(int cols) { return cols + 8; }

// Bytes of dynamic shared memory: Q, `stages` K and V blocks (+ QV), all
// 16-bit elements.
FA3JIT_HD constexpr int fwd_smem_bytes(int d, int dv, int block_m, int block_n, bool has_qv, int stages) {
  return 2 * (block_m * smem_stride(d) + stages * block_n * (smem_stride(d) + smem_stride(dv)) +
              (has_qv ? block_m * smem_stride(dv) : 0));
}

}  // namespace fa3jit_k::sm80
