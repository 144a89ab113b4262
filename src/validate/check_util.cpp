#include "validate/check_util.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace fa3jit::detail {

std::string stride_string(const Tensor& t) {
  std::ostringstream s;
  s << "(";
  for (int i = 0; i < t.ndim; ++i) s << (i ? ", " : "") << t.stride[i];
  if (t.ndim == 1) s << ",";
  s << ")";
  return s.str();
}

int to_int(int64_t v, const std::string& what) {
  if (v < 0 || v > INT32_MAX)
    fail(ErrorKind::InvalidValue, what, " = ", v, " must be in [0, 2147483647] (sizes are 32-bit)");
  return int(v);
}

void check_well_formed(const Tensor& t, const char* name) {
  if (t.ndim < 0 || t.ndim > kMaxDims)
    fail(ErrorKind::InvalidValue, name, " has ", t.ndim, " dims; tensors have 0 to ", kMaxDims, " dims");
  for (int i = 0; i < t.ndim; ++i)
    if (t.shape[i] < 0)
      fail(ErrorKind::InvalidValue, name, ".shape[", i, "] = ", t.shape[i], " must be >= 0");
}

void check_dtype(const Tensor& t, const char* name, DType want, const std::string& rule) {
  if (t.dtype == want) return;
  fail(ErrorKind::InvalidType, name, " must be ", dtype_name(want), rule.empty() ? "" : " (",
       rule, rule.empty() ? "" : ")", ": got ", dtype_name(t.dtype));
}

void check_rank(const Tensor& t, const char* name, int rank, const std::string& layout) {
  if (t.ndim == rank) return;
  fail(ErrorKind::InvalidValue, name, " must be ", rank, "-D ", layout, ": got shape ", shape_string(t));
}

void check_dim(const Tensor& t, const char* name, int dim, int64_t want, const std::string& what) {
  if (t.shape[dim] == want) return;
  fail(ErrorKind::InvalidValue, name, ".shape[", dim, "] = ", t.shape[dim], " must be ", want, " (",
       what, "): ", name, " has shape ", shape_string(t));
}

void check_last_stride(const Tensor& t, const char* name) {
  if (t.ndim == 0 || t.shape[t.ndim - 1] <= 1 || t.stride[t.ndim - 1] == 1) return;
  fail(ErrorKind::InvalidValue, name, " must have stride 1 in its last dim: got strides ",
       stride_string(t), " for shape ", shape_string(t));
}

void check_contiguous(const Tensor& t, const char* name) {
  if (t.is_contiguous()) return;
  fail(ErrorKind::InvalidValue, name, " must be contiguous: got strides ", stride_string(t),
       " for shape ", shape_string(t));
}

void check_data(const Tensor& t, const char* name) {
  if (t.data != nullptr || t.numel() == 0) return;
  fail(ErrorKind::InvalidValue, name, " has ", t.numel(), " elements (shape ", shape_string(t),
       ") but a null data pointer");
}

void check_no_self_overlap(const Tensor& t, const char* name) {
  // Sufficient condition: sorted by stride, each dim steps past everything
  // the smaller dims span. Dims of size 1 never step.
  std::vector<std::pair<int64_t, int64_t>> dims;  // (stride, size)
  for (int i = 0; i < t.ndim; ++i)
    if (t.shape[i] > 1) dims.emplace_back(t.stride[i], t.shape[i]);
  std::sort(dims.begin(), dims.end());
  int64_t span = 1;  // elements covered by the dims so far
  for (const auto& [stride, size] : dims) {
    if (stride < span)
      fail(ErrorKind::InvalidValue, name, " must not overlap itself: strides ", stride_string(t),
           " for shape ", shape_string(t), " make two elements share memory");
    span = stride * (size - 1) + span;
  }
}

}  // namespace fa3jit::detail
