#include "dispatch/sm90_tma.h"

#include <string>

#include "common/bounded_memo.h"
#include "device/cuda_driver.h"
#include "fa3jit/error.h"

namespace fa3jit::detail {
namespace {

[[noreturn]] void not_supported(const std::string& what) {
  throw Error(ErrorKind::NotSupported, what + " on the sm90 path (TMA)");
}

}  // namespace

void check_tma_view(const char* name, const TmaView& v, DType dtype) {
  if (!v.data) return;
  const int64_t es = int64_t(dtype_size(dtype));
  if (reinterpret_cast<uintptr_t>(v.data) % 16 != 0) not_supported(std::string(name) + ": data must be 16-byte aligned");
  const int64_t dims[3] = {v.heads, v.rows, v.batches};
  const int64_t strides[3] = {v.head_stride, v.row_stride, v.batch_stride};
  const char* what[3] = {"head", "row", "batch/page"};
  for (int i = 0; i < 3; ++i) {
    if (dims[i] <= 1) continue;
    if (strides[i] <= 0 || (strides[i] * es) % 16 != 0 || strides[i] * es >= (int64_t(1) << 40))
      not_supported(std::string(name) + ": the " + what[i] + " stride must be a positive multiple of 16 bytes, got " +
                    std::to_string(strides[i]) + " elements");
  }
}

namespace {

CUtensorMap encode_uncached(const char* name, const TmaView& v, DType dtype, int box_heads, int box_rows) {
  const int64_t es = int64_t(dtype_size(dtype));
  cuuint64_t dims[4] = {cuuint64_t(v.cols), cuuint64_t(v.heads), cuuint64_t(v.rows), cuuint64_t(v.batches)};
  // Dims of length 1 are never stepped over: any valid stride will do.
  const int64_t raw[3] = {v.head_stride, v.row_stride, v.batch_stride};
  cuuint64_t strides[3];
  int64_t span = v.cols * es;  // bytes covered by the dims inside
  for (int i = 0; i < 3; ++i) {
    const int64_t len = int64_t(dims[i + 1]);
    const int64_t s = len > 1 ? raw[i] * es : (span + 15) / 16 * 16;
    strides[i] = cuuint64_t(s);
    span = s * len > span ? s * len : span;
  }
  // One 128-byte swizzle row across: 64 16-bit or 128 fp8 elements.
  cuuint32_t box[4] = {cuuint32_t(128 / es), cuuint32_t(box_heads), cuuint32_t(box_rows), 1};
  cuuint32_t elem_strides[4] = {1, 1, 1, 1};
  const CUtensorMapDataType type = dtype == DType::bf16       ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
                                   : dtype == DType::fp8_e4m3 ? CU_TENSOR_MAP_DATA_TYPE_UINT8  // bytes are copied as they are
                                                              : CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
  CUtensorMap map;
  const CUresult r = cuda::require_driver().cuTensorMapEncodeTiled(
      &map, type, 4, const_cast<void*>(v.data), dims, strides, box, elem_strides, CU_TENSOR_MAP_INTERLEAVE_NONE,
      CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) cuda::check(r, (std::string("cuTensorMapEncodeTiled(") + name + ")").c_str());
  return map;
}

// Everything a map encodes (the address and layout of the view, the element
// type and the box): equal keys give byte-identical maps, whatever happened
// to the memory in between.
struct TmaKey {
  TmaView view;
  DType dtype = DType::bf16;
  int box_heads = 0, box_rows = 0;
  bool operator==(const TmaKey&) const = default;
};
struct TmaKeyHash {
  std::size_t operator()(const TmaKey& k) const {
    const TmaView& v = k.view;
    uint64_t h = reinterpret_cast<uintptr_t>(v.data);
    for (int64_t x : {v.cols, v.heads, v.rows, v.batches, v.head_stride, v.row_stride, v.batch_stride,
                      int64_t(k.dtype), int64_t(k.box_heads), int64_t(k.box_rows)})
      h = (h ^ uint64_t(x)) * 0x100000001b3ull;  // FNV-1a style mixing
    return std::size_t(h);
  }
};

}  // namespace

CUtensorMap encode_tma(const char* name, const TmaView& v, DType dtype, int box_heads, int box_rows) {
  // A call encodes q, k and v; a serving loop repeats them layer after
  // layer (1024 maps: 128 B each, ~300 layers' worth per thread)
  thread_local BoundedMemo<TmaKey, CUtensorMap, TmaKeyHash> memo(1024);
  return memo.get(TmaKey{v, dtype, box_heads, box_rows},
                  [&] { return encode_uncached(name, v, dtype, box_heads, box_rows); });
}

}  // namespace fa3jit::detail
