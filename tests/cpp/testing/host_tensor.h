// HostTensor: an owning host buffer with a Tensor view, for tests and tools.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "common/dtype_convert.h"
#include "fa3jit/tensor.h"

namespace fa3jit::testing {

class HostTensor {
 public:
  HostTensor() = default;
  HostTensor(DType dtype, std::vector<int64_t> shape) : dtype_(dtype), shape_(std::move(shape)) {
    bytes_.assign(size_t(numel()) * dtype_size(dtype_) + 16, 0);  // +16: never a null data()
  }
  bool empty() const { return shape_.empty(); }
  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t s : shape_) n *= s;
    return n;
  }
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype_); }
  void* data() { return bytes_.data(); }
  const void* data() const { return bytes_.data(); }
  template <class T> T* as() { return reinterpret_cast<T*>(bytes_.data()); }
  template <class T> const T* as() const { return reinterpret_cast<const T*>(bytes_.data()); }

  float get(int64_t i) const { return load_as_float(data(), dtype_, i); }
  void set(int64_t i, float v) { store_from_float(data(), dtype_, i, v); }

  // A contiguous view; none when empty.
  Tensor view(Device device = {}) const {
    if (empty()) return Tensor{};
    Tensor t;
    t.data = const_cast<uint8_t*>(bytes_.data());
    t.dtype = dtype_;
    t.device = device;
    t.ndim = int(shape_.size());
    int64_t st = 1;
    for (int j = t.ndim - 1; j >= 0; --j) {
      t.shape[j] = shape_[j];
      t.stride[j] = st;
      st *= shape_[j];
    }
    return t;
  }

  // Fills with N(mean, stddev) rounded to the dtype (never all zeros).
  // Benchmark-size tensors (2^24 elements and more; no test makes one) are
  // filled in 2^20-element chunks on every core, each chunk from its own
  // generator seeded by one draw of rng: a decode cache of gigabytes took
  // the benchmark tens of seconds on one thread.
  void fill_normal(std::mt19937_64& rng, float mean = 0.f, float stddev = 1.f) {
    if (numel() < (int64_t(1) << 24)) {
      std::normal_distribution<float> dist(mean, stddev);
      for (int64_t i = 0; i < numel(); ++i) set(i, dist(rng));
      return;
    }
    const uint64_t base = rng();
    constexpr int64_t kChunk = int64_t(1) << 20;
    const int64_t chunks = (numel() + kChunk - 1) / kChunk;
    std::atomic<int64_t> next{0};
    auto work = [&] {
      for (int64_t c = next++; c < chunks; c = next++) {
        std::mt19937_64 chunk_rng(base + uint64_t(c) * 0x9E3779B97F4A7C15ull);
        std::normal_distribution<float> dist(mean, stddev);
        for (int64_t i = c * kChunk, end = std::min(numel(), (c + 1) * kChunk); i < end; ++i) set(i, dist(chunk_rng));
      }
    };
    std::vector<std::thread> helpers(std::max(1u, std::thread::hardware_concurrency()) - 1);
    for (std::thread& t : helpers) t = std::thread(work);
    work();
    for (std::thread& t : helpers) t.join();
  }
  void fill_uniform(std::mt19937_64& rng, float lo, float hi) {
    std::uniform_real_distribution<float> dist(lo, hi);
    for (int64_t i = 0; i < numel(); ++i) set(i, dist(rng));
  }
  // Every byte set to `byte` (poison: 0xFF is NaN in fp16/bf16/fp32).
  void fill_bytes(uint8_t byte) { std::memset(bytes_.data(), byte, nbytes()); }

  static HostTensor from_ints(const std::vector<int32_t>& v) {
    HostTensor t(DType::i32, {int64_t(v.size())});
    if (!v.empty()) std::memcpy(t.data(), v.data(), v.size() * 4);
    return t;
  }

 private:
  DType dtype_ = DType::f32;
  std::vector<int64_t> shape_;
  std::vector<uint8_t> bytes_;
};

}  // namespace fa3jit::testing
