// Lets the files in kernels/common compile three ways: NVRTC (kernels),
// nvcc, and the host C++ compiler (CPU backend, dispatch). Shared logic is
// written once and marked FA3JIT_HD.
#pragma once
#if defined(__CUDACC_RTC__)
typedef signed char int8_t;
typedef unsigned char uint8_t;
typedef short int16_t;
typedef unsigned short uint16_t;
typedef int int32_t;
typedef unsigned int uint32_t;
typedef long long int64_t;
typedef unsigned long long uint64_t;
#else
#include <cmath>
#include <cstdint>
#endif

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define FA3JIT_HD __host__ __device__ __forceinline__
#define FA3JIT_DEVICE_CODE 1
#else
#define FA3JIT_HD inline
#endif

namespace fa3jit_k {
// A compile-time bool as a value, for generic lambdas that take either
// branch (decltype(tag)::value).
template <bool B>
struct BoolTag {
  static constexpr bool value = B;
};

FA3JIT_HD int imin(int a, int b) { return a < b ? a : b; }
FA3JIT_HD int imax(int a, int b) { return a > b ? a : b; }
// Floor division (rounds toward -inf, also for negative a).
FA3JIT_HD int floor_div(int a, int b) { return (a >= 0) ? a / b : -((-a + b - 1) / b); }
FA3JIT_HD int ceil_div(int a, int b) { return (a + b - 1) / b; }
}  // namespace fa3jit_k
