// The two inner loops of the CPU kernel, written as plain loops over
// contiguous floats so the compiler vectorizes them; on x86-64 (GCC) they
// are also compiled for AVX2 and picked at load time.
#pragma once

namespace fa3jit::cpu {

// s[t] += sum_c x[c] * bt[c * kBlockKeys + t] for t in [0, kBlockKeys):
// one row of scores against a transposed block (bt: [n][kBlockKeys]).
void add_scores(const float* x, const float* bt, int n, float* s);

// acc[c] += sum_t p[t] * v[t * n + c] for t in [t_begin, t_end), c in [0, n):
// probabilities times a row-major value block (v: [kBlockKeys][n]).
void add_weighted_rows(const float* p, const float* v, int t_begin, int t_end, int n, float* acc);

}  // namespace fa3jit::cpu
