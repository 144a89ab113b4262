// Runs a KvcacheProblem through fa3jit::flash_attn_with_kvcache on the CPU
// or a CUDA device and returns host copies of everything it writes (both
// caches, out, LSE); and the device copy of a problem for finer control
// (the CUDA-graph test).
#pragma once
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "fa3jit/kvcache.h"
#include "testing/kvcache_problem.h"

namespace fa3jit::testing {

struct KvcacheRun {
  HostTensor k_cache, v_cache, out, lse;  // lse empty unless return_lse
};

// The problem is not modified (the CPU run works on copies of its buffers).
KvcacheRun run_kvcache(const KvcacheProblem& problem, const Device& device, KernelPath path = KernelPath::Auto);

// Every buffer of a problem in device memory (out / lse poisoned), with
// arguments viewing them. Freed on destruction.
class DeviceKvcache {
 public:
  DeviceKvcache(const KvcacheProblem& problem, const Device& device);
  ~DeviceKvcache();
  DeviceKvcache(const DeviceKvcache&) = delete;
  DeviceKvcache& operator=(const DeviceKvcache&) = delete;

  KvcacheArgs& args() { return args_; }
  // Overwrites a device tensor of the same size with host data (sync).
  void upload_into(const Tensor& dst, const HostTensor& src);
  HostTensor download(const Tensor& t) const;
  KvcacheRun results() const;
  // A float32 device buffer of at least `bytes`, poisoned (0xFF), owned
  // like the rest: a split-KV workspace.
  Tensor workspace(int64_t bytes);

 private:
  Tensor upload(const Tensor& host);
  Device device_;
  KvcacheArgs args_;
  std::vector<void*> owned_;
};

}  // namespace fa3jit::testing

namespace fa3jit::testing {

// Empty when `run` matches `expected`: both caches byte for byte (the
// appended tokens, and nothing else touched), out / LSE within the design's
// tolerance of the float64 reference; else what differs.
std::string check_kvcache_run(const KvcacheExpected& expected, const KvcacheRun& run);

struct KvcacheCase {
  std::string name;
  KvcacheConfig cfg;
  friend void PrintTo(const KvcacheCase& c, std::ostream* os) { *os << c.name; }
};
// The feature matrix both the CPU and the GPU tests run: dense and paged
// caches (page sizes 1, 16), cache_batch_idx, cache_leftpad, rotary
// (interleaved or not, rotary_seqlens), speculative 2-8 queries causal,
// varlen q / new tokens, scalar cache_seqlens, GQA, splits, dtypes.
std::vector<KvcacheCase> kvcache_cases(bool gpu);

}  // namespace fa3jit::testing
