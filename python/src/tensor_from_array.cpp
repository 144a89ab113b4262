#include "tensor_from_array.h"

#include <string>

#include "fa3jit/error.h"

namespace nb = nanobind;

namespace fa3jit::python {
namespace {

// DLPack type codes by number, so that a nanobind without the float8 names
// still builds (kDLFloat8_e4m3fn is 10 in DLPack 1.1).
constexpr uint8_t kDLInt = 0, kDLUInt = 1, kDLFloat = 2, kDLBfloat = 4, kDLFloat8_e4m3fn = 10;

std::string dlpack_dtype_name(const nb::dlpack::dtype& t) {
  const char* base = "code" ;
  switch (t.code) {
    case kDLInt: base = "int"; break;
    case kDLUInt: base = "uint"; break;
    case kDLFloat: base = "float"; break;
    case kDLBfloat: base = "bfloat"; break;
    case kDLFloat8_e4m3fn: return "float8_e4m3fn";
    default: return "DLPack type code " + std::to_string(t.code);
  }
  return base + std::to_string(t.bits) + (t.lanes != 1 ? "x" + std::to_string(t.lanes) : "");
}

DType to_dtype(const nb::dlpack::dtype& t, const char* name, const StorageOverride& storage) {
  if (t.lanes == 1) {
    if (t.code == kDLFloat && t.bits == 32) return DType::f32;
    if (t.code == kDLFloat && t.bits == 16) return DType::f16;
    if (t.code == kDLBfloat && t.bits == 16) return DType::bf16;
    if (t.code == kDLFloat8_e4m3fn && t.bits == 8) return DType::fp8_e4m3;
    if (t.code == kDLInt && t.bits == 32) return DType::i32;
    if (t.code == kDLUInt && t.bits == 16 && storage.uint16_is_bf16) return DType::bf16;
    if (t.code == kDLUInt && t.bits == 8 && storage.uint8_is_fp8) return DType::fp8_e4m3;
  }
  throw Error(ErrorKind::InvalidType,
              std::string(name) + " has dtype " + dlpack_dtype_name(t) +
                  "; fa3jit takes float16, bfloat16, float8_e4m3fn or float32 data and int32 "
                  "metadata (cu_seqlens, seqused, page_table)");
}

Device to_device(int32_t type, int32_t id, const char* name) {
  switch (type) {
    case nb::device::cpu::value:
    case nb::device::cuda_host::value:  // pinned host memory: the CPU reads it
      return {DeviceType::CPU, 0};
    case nb::device::cuda::value:
    case nb::device::cuda_managed::value:
      return {DeviceType::CUDA, id};
  }
  throw Error(ErrorKind::InvalidValue, std::string(name) + " lives on DLPack device type " +
                                           std::to_string(type) +
                                           "; fa3jit takes CPU or CUDA memory");
}

template <typename Array>
Tensor describe(const Array& a, const char* name, const StorageOverride& storage) {
  if (a.ndim() > size_t(kMaxDims))
    throw Error(ErrorKind::InvalidValue, std::string(name) + " has " + std::to_string(a.ndim()) +
                                             " dimensions; fa3jit tensors have at most " +
                                             std::to_string(kMaxDims));
  Tensor t;
  t.data = const_cast<void*>(static_cast<const void*>(a.data()));
  t.dtype = to_dtype(a.dtype(), name, storage);
  t.ndim = int(a.ndim());
  for (int i = 0; i < t.ndim; ++i) {
    t.shape[i] = int64_t(a.shape(size_t(i)));
    t.stride[i] = int64_t(a.stride(size_t(i)));  // nanobind counts strides in elements
  }
  // An empty array addresses no memory, and exporters report any strides
  // for it (numpy: all 0): give it the contiguous ones, as make_tensor does.
  if (t.numel() == 0) {
    int64_t st = 1;
    for (int i = t.ndim - 1; i >= 0; --i) {
      t.stride[i] = st;
      st *= t.shape[i];
    }
  }
  t.device = to_device(a.device_type(), a.device_id(), name);
  return t;
}

}  // namespace

ImportedTensor import_tensor(const nb::handle& obj, const char* name, bool writable,
                             const StorageOverride& storage) {
  ImportedTensor r;
  if (obj.is_none()) return r;
  // convert = false: never a silent copy (a copied `out` would lose the result).
  if (writable) {
    if (!nb::try_cast(obj, r.output, false))
      throw Error(ErrorKind::InvalidType,
                  std::string(name) + " must be a writable array with DLPack or the buffer "
                                      "protocol (torch, cupy, jax, numpy); got " +
                      std::string(nb::type_name(obj.type()).c_str()));
    r.tensor = describe(r.output, name, storage);
  } else {
    if (!nb::try_cast(obj, r.input, false))
      throw Error(ErrorKind::InvalidType,
                  std::string(name) + " must be an array with DLPack or the buffer protocol "
                                      "(torch, cupy, jax, numpy); got " +
                      std::string(nb::type_name(obj.type()).c_str()));
    r.tensor = describe(r.input, name, storage);
  }
  return r;
}

}  // namespace fa3jit::python
