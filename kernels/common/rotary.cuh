// Rotary position embedding of one element, written once for the CPU append
// and the GPU kernel. Dims [0, rotary_dim) rotate in pairs: interleaved
// pairs (2i, 2i + 1), else halves (i, i + rotary_dim / 2); pair i turns by
// the angle whose cos / sin are cos[pos][i] / sin[pos][i]:
//   (x0, x1) -> (x0 cos - x1 sin, x0 sin + x1 cos).
// The products and the sum are rounded separately (no fused multiply-add),
// so host and device give bit-identical results.
#pragma once
#include "platform.cuh"

namespace fa3jit_k {

struct RotaryPair {
  int partner;  // the other dim of the pair
  int angle;    // index into the cos / sin row
  bool first;   // this dim is x0 of its pair
};

FA3JIT_HD RotaryPair rotary_pair(int e, int rotary_dim, bool interleaved) {
  if (interleaved) return {e ^ 1, e >> 1, (e & 1) == 0};
  const int half = rotary_dim / 2;
  return e < half ? RotaryPair{e + half, e, true} : RotaryPair{e - half, e - half, false};
}

// The rotated value of dim e given its own value x and its partner's.
FA3JIT_HD float rotary_value(float x, float partner, float c, float s, bool first) {
  const float x0 = first ? x : partner, x1 = first ? partner : x;
#if defined(__CUDA_ARCH__)
  return first ? __fsub_rn(__fmul_rn(x0, c), __fmul_rn(x1, s)) : __fadd_rn(__fmul_rn(x0, s), __fmul_rn(x1, c));
#else
  const float a = first ? x0 * c : x0 * s;
  const float b = first ? x1 * s : x1 * c;
  return first ? a - b : a + b;
#endif
}

}  // namespace fa3jit_k
