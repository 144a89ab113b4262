// Results of a pure function kept per key, at most `cap` of them (all are
// dropped when a new one would exceed it). For host work that a serving
// loop repeats with the same arguments on every call: the sm90 tensor maps
// of each layer's q / k / v (cuTensorMapEncodeTiled costs microseconds, a
// lookup tens of nanoseconds). Not thread-safe: keep one per thread.
#pragma once
#include <cstddef>
#include <unordered_map>

namespace fa3jit::detail {

template <class Key, class Value, class Hash>
class BoundedMemo {
 public:
  explicit BoundedMemo(std::size_t cap) : cap_(cap) {}

  // The value of `key`: the kept one, or make() (then kept). Nothing is
  // kept when make throws.
  template <class Make>
  const Value& get(const Key& key, Make&& make) {
    if (auto it = map_.find(key); it != map_.end()) return it->second;
    Value v = make();
    if (map_.size() >= cap_) map_.clear();
    return map_.emplace(key, v).first->second;
  }

  std::size_t size() const { return map_.size(); }

 private:
  std::size_t cap_;
  std::unordered_map<Key, Value, Hash> map_;
};

}  // namespace fa3jit::detail
