// Host conversions between float and the storage types (fp16, bf16, fp8
// e4m3), round-to-nearest-even, as the GPU's cvt instructions do. Used by
// the CPU backend, the reference and the tests.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "fa3jit/tensor.h"

namespace fa3jit {

inline float bits_as_float(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
inline uint32_t float_as_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }

inline float bf16_to_float(uint16_t h) { return bits_as_float(uint32_t(h) << 16); }
inline uint16_t float_to_bf16(float f) {
  uint32_t u = float_as_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // NaN stays NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

inline float f16_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  if (exp == 0) {  // zero / subnormal
    const float v = std::ldexp(float(man), -24);
    return sign ? -v : v;
  }
  if (exp == 31) return bits_as_float(sign | 0x7f800000u | (man << 13));
  return bits_as_float(sign | ((exp + 112u) << 23) | (man << 13));
}
inline uint16_t float_to_f16(float f) {
  const uint32_t u = float_as_bits(f);
  const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  const float a = std::fabs(f);
  if (std::isnan(f)) return uint16_t(sign | 0x7e00u);
  if (a >= 65520.f) return uint16_t(sign | 0x7c00u);  // rounds to inf
  if (a < 6.103515625e-05f) {  // subnormal: multiples of 2^-24
    const float q = std::nearbyint(a * 16777216.f);  // ties to even (default mode)
    return uint16_t(sign | uint16_t(q));
  }
  uint32_t e = ((u >> 23) & 0xffu) - 112u, m = u & 0x7fffffu;
  uint32_t r = (e << 10) | (m >> 13);
  const uint32_t rest = m & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (r & 1u))) ++r;
  return uint16_t(sign | r);
}

// fp8 e4m3 (OCP "fn": no infinities, 0x7f/0xff = NaN, max 448).
inline float fp8e4m3_to_float(uint8_t x) {
  const uint32_t sign = x & 0x80u, exp = (x >> 3) & 0xfu, man = x & 0x7u;
  float v;
  if (exp == 0xf && man == 0x7) return std::nanf("");
  if (exp == 0) v = std::ldexp(float(man), -9);
  else v = std::ldexp(float(8 + man), int(exp) - 10);
  return sign ? -v : v;
}
inline uint8_t float_to_fp8e4m3(float f) {  // saturating, like cvt.satfinite
  if (std::isnan(f)) return 0x7f;
  const uint8_t sign = std::signbit(f) ? 0x80 : 0;
  float a = std::fabs(f);
  if (a >= 448.f) return uint8_t(sign | 0x7e);
  int e;
  std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  int exp = e - 1 + 7;  // biased exponent of a = 1.xxx * 2^(e-1)
  if (exp < 1) exp = 1;  // subnormal range shares the smallest scale
  const float step = std::ldexp(1.f, exp - 7 - 3);
  float q = std::nearbyint(a / step);  // ties to even
  // q in [8, 16) for normals, [0, 8) for subnormals; 16 carries into the next exponent
  uint32_t qi = uint32_t(q);
  if (qi >= 16) { qi = 8; ++exp; }
  if (qi < 8) return uint8_t(sign | qi);  // subnormal (exp field 0)
  if (exp > 15 || (exp == 15 && qi - 8 > 6)) return uint8_t(sign | 0x7e);
  return uint8_t(sign | (exp << 3) | (qi - 8));
}

// Loads element i (an element index, not bytes) of a buffer of type t.
inline float load_as_float(const void* p, DType t, int64_t i) {
  switch (t) {
    case DType::f32: return static_cast<const float*>(p)[i];
    case DType::f16: return f16_to_float(static_cast<const uint16_t*>(p)[i]);
    case DType::bf16: return bf16_to_float(static_cast<const uint16_t*>(p)[i]);
    case DType::fp8_e4m3: return fp8e4m3_to_float(static_cast<const uint8_t*>(p)[i]);
    case DType::i32: return float(static_cast<const int32_t*>(p)[i]);
  }
  return 0.f;
}
inline void store_from_float(void* p, DType t, int64_t i, float v) {
  switch (t) {
    case DType::f32: static_cast<float*>(p)[i] = v; break;
    case DType::f16: static_cast<uint16_t*>(p)[i] = float_to_f16(v); break;
    case DType::bf16: static_cast<uint16_t*>(p)[i] = float_to_bf16(v); break;
    case DType::fp8_e4m3: static_cast<uint8_t*>(p)[i] = float_to_fp8e4m3(v); break;
    case DType::i32: static_cast<int32_t*>(p)[i] = int32_t(v); break;
  }
}
// Rounds v to the precision of t (what storing then loading gives).
inline float round_to(DType t, float v) {
  switch (t) {
    case DType::f16: return f16_to_float(float_to_f16(v));
    case DType::bf16: return bf16_to_float(float_to_bf16(v));
    case DType::fp8_e4m3: return fp8e4m3_to_float(float_to_fp8e4m3(v));
    default: return v;
  }
}

}  // namespace fa3jit
