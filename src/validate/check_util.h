// Small building blocks of argument validation: message formatting and the
// per-tensor rules (dtype, rank, one dim, strides, data pointer). Every
// failure is an fa3jit::Error whose message names the argument and the rule.
#pragma once
#include <cstdint>
#include <sstream>
#include <string>

#include "fa3jit/error.h"
#include "fa3jit/tensor.h"

namespace fa3jit::detail {

template <class... Parts>
std::string cat(const Parts&... parts) {
  std::ostringstream s;
  (s << ... << parts);
  return s.str();
}

template <class... Parts>
[[noreturn]] void fail(ErrorKind kind, const Parts&... parts) {
  throw Error(kind, cat(parts...));
}

std::string stride_string(const Tensor& t);

// AttnParams keeps sizes as int: throws InvalidValue naming `what` unless
// 0 <= v <= INT32_MAX.
int to_int(int64_t v, const std::string& what);

// Rank in [0, 4] and no negative dim.
void check_well_formed(const Tensor& t, const char* name);
// `rule` says why (may be empty): "q must be int32 (rule): got float32".
void check_dtype(const Tensor& t, const char* name, DType want, const std::string& rule);
// `layout` is the expected layout and when it applies, e.g.
// "(total_q, h, d) when cu_seqlens_q is given".
void check_rank(const Tensor& t, const char* name, int rank, const std::string& layout);
// t.shape[dim] == want; `what` explains want ("b + 1, from cu_seqlens_q").
void check_dim(const Tensor& t, const char* name, int dim, int64_t want, const std::string& what);
// The last dim has stride 1 (ignored when it has at most one element).
void check_last_stride(const Tensor& t, const char* name);
void check_contiguous(const Tensor& t, const char* name);
// A tensor with elements must have a data pointer.
void check_data(const Tensor& t, const char* name);
// No two elements share memory (a written tensor must not alias itself).
void check_no_self_overlap(const Tensor& t, const char* name);

}  // namespace fa3jit::detail
