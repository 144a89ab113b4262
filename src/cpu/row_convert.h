// Whole-row conversions between a storage dtype and float, with the dtype
// switch outside the element loop so each loop is a simple, vectorizable one.
#pragma once
#include <array>
#include <cstdint>

#include "common/dtype_convert.h"
#include "fa3jit/tensor.h"

namespace fa3jit::cpu {

// All 256 fp8 e4m3 values as float (a table beats decoding each element).
inline const std::array<float, 256>& fp8e4m3_table() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) t[i] = fp8e4m3_to_float(uint8_t(i));
    return t;
  }();
  return table;
}

// dst[i] = element (offset + i) of base, as float, for i in [0, n).
inline void load_row(const void* base, DType t, int64_t offset, int n, float* dst) {
  switch (t) {
    case DType::f32: {
      const float* s = static_cast<const float*>(base) + offset;
      for (int i = 0; i < n; ++i) dst[i] = s[i];
      return;
    }
    case DType::f16: {
      const uint16_t* s = static_cast<const uint16_t*>(base) + offset;
      for (int i = 0; i < n; ++i) dst[i] = f16_to_float(s[i]);
      return;
    }
    case DType::bf16: {
      const uint16_t* s = static_cast<const uint16_t*>(base) + offset;
      for (int i = 0; i < n; ++i) dst[i] = bf16_to_float(s[i]);
      return;
    }
    case DType::fp8_e4m3: {
      const uint8_t* s = static_cast<const uint8_t*>(base) + offset;
      const float* table = fp8e4m3_table().data();
      for (int i = 0; i < n; ++i) dst[i] = table[s[i]];
      return;
    }
    default:
      for (int i = 0; i < n; ++i) dst[i] = load_as_float(base, t, offset + i);
      return;
  }
}

// Element (offset + i) of base = src[i] * scale, rounded to t.
inline void store_row(void* base, DType t, int64_t offset, int n, const float* src, float scale) {
  switch (t) {
    case DType::f32: {
      float* d = static_cast<float*>(base) + offset;
      for (int i = 0; i < n; ++i) d[i] = src[i] * scale;
      return;
    }
    case DType::bf16: {
      uint16_t* d = static_cast<uint16_t*>(base) + offset;
      for (int i = 0; i < n; ++i) d[i] = float_to_bf16(src[i] * scale);
      return;
    }
    default:
      for (int i = 0; i < n; ++i) store_from_float(base, t, offset + i, src[i] * scale);
      return;
  }
}

}  // namespace fa3jit::cpu
