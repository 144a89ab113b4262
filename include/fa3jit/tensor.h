// A non-owning tensor view: data pointer, dtype, shape and strides (in
// elements), and the device that holds the memory. A default-constructed
// Tensor is "none" (an argument that is not given).
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace fa3jit {

enum class DType : int { f32 = 0, f16 = 1, bf16 = 2, fp8_e4m3 = 3, i32 = 4 };

enum class DeviceType : int { CPU = 0, CUDA = 1, MUSA = 2 };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;
  friend bool operator==(const Device&, const Device&) = default;
};

inline constexpr int kMaxDims = 4;

struct Tensor {
  void* data = nullptr;
  DType dtype = DType::f32;
  int ndim = 0;  // 0 together with data == nullptr means "not given"
  std::array<int64_t, kMaxDims> shape{};
  std::array<int64_t, kMaxDims> stride{};  // in elements
  Device device{};

  bool defined() const { return data != nullptr || ndim > 0; }
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= shape[i];
    return n;
  }
  int64_t size(int i) const { return shape[i < 0 ? i + ndim : i]; }
  bool is_contiguous() const;
};

// A contiguous (row-major) view of `data` with the given shape.
Tensor make_tensor(void* data, DType dtype, std::initializer_list<int64_t> shape,
                   Device device = {});

size_t dtype_size(DType t);
const char* dtype_name(DType t);
std::string device_name(const Device& d);
std::string shape_string(const Tensor& t);

}  // namespace fa3jit
