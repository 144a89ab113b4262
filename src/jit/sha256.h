// SHA-256 (FIPS 180-4), written here so the JIT cache needs no dependency.
// Used for the cache key and the checksum of cache entries.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace fa3jit::jit {

using Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // A length-prefixed field, so that ("ab", "c") and ("a", "bc") differ.
  void field(std::string_view s);
  void field(int64_t v);
  Digest finish();

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

Digest sha256(const void* data, size_t size);
std::string to_hex(const Digest& d);

}  // namespace fa3jit::jit
