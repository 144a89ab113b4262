#include "cpu/vector_ops.h"

#include <cstddef>  // defines __GLIBC__ where glibc is the C library

#include "cpu/tile_kernel.h"

// target_clones needs GCC, x86-64 and glibc's ifunc (the loader picks the clone).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__GLIBC__)
#define FA3JIT_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FA3JIT_VECTOR_CLONES
#endif

namespace fa3jit::cpu {

FA3JIT_VECTOR_CLONES
void add_scores(const float* x, const float* bt, int n, float* s) {
  constexpr int BK = kBlockKeys;
  for (int c = 0; c < n; ++c) {
    const float xc = x[c];
    const float* col = bt + c * BK;
    for (int t = 0; t < BK; ++t) s[t] += xc * col[t];
  }
}

FA3JIT_VECTOR_CLONES
void add_weighted_rows(const float* p, const float* v, int t_begin, int t_end, int n, float* acc) {
  for (int t = t_begin; t < t_end; ++t) {
    const float pt = p[t];
    const float* row = v + t * n;
    for (int c = 0; c < n; ++c) acc[c] += pt * row[c];
  }
}

}  // namespace fa3jit::cpu
