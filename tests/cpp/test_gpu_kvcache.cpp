// flash_attn_with_kvcache on a GPU: the decode feature matrix on the sm80
// path and on the automatic choice (the Hopper path where it applies),
// checked like the CPU tests (caches byte for byte, attention against the
// float64 reference); and CUDA-graph safety: one decode step captured with
// check_metadata off and a fixed num_splits, replayed with new cache
// lengths, a new page table and new tokens copied into the same buffers.
// Skips when no sm_80+ CUDA GPU is present.
#include <gtest/gtest.h>

#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include "device/cuda_driver.h"
#include "fa3jit/device.h"
#include "fa3jit/error.h"
#include "fa3jit/kvcache.h"
#include "testing/gpu_case.h"
#include "testing/kvcache_problem.h"
#include "testing/run_kvcache.h"

namespace fa3jit::testing {
namespace {

const DeviceInfo* gpu() { return find_cuda_gpu(80); }

#define SKIP_WITHOUT_GPU() \
  if (!gpu()) GTEST_SKIP() << "no supported sm_80+ CUDA GPU: " << cuda::driver_unavailable_reason()

Device gpu_device() { return Device{DeviceType::CUDA, gpu()->index}; }

struct GpuCase {
  KvcacheCase c;
  KernelPath path;
  friend void PrintTo(const GpuCase& g, std::ostream* os) { *os << g.c.name; }
};

std::vector<GpuCase> gpu_cases() {
  std::vector<GpuCase> out;
  for (const KvcacheCase& c : kvcache_cases(true)) {
    out.push_back({c, KernelPath::Sm80});
    out.push_back({{c.name + "_auto", c.cfg}, KernelPath::Auto});
  }
  return out;
}

class KvcacheGpu : public ::testing::TestWithParam<GpuCase> {};

TEST_P(KvcacheGpu, MatchesReference) {
  SKIP_WITHOUT_GPU();
  const KvcacheProblem problem = make_kvcache_problem(GetParam().c.cfg);
  const KvcacheExpected expected = expected_kvcache(problem);
  const KvcacheRun run = run_kvcache(problem, gpu_device(), GetParam().path);
  EXPECT_EQ(check_kvcache_run(expected, run), "");
}

INSTANTIATE_TEST_SUITE_P(Cases, KvcacheGpu, ::testing::ValuesIn(gpu_cases()),
                         [](const auto& info) { return info.param.c.name; });

// A serving decode step on the Hopper path itself: paged cache (pages of
// 128), one appended token, 32 q-heads on 8 kv-heads, splits from the
// heuristic or asked for (flash_attn_with_kvcache reaches the sm90 kernel).
TEST(KvcacheGpu, DecodeStepOnTheSm90Path) {
  const DeviceInfo* h100 = find_cuda_gpu(90, 90);
  if (!h100) GTEST_SKIP() << no_gpu_message("sm_90");
  for (int splits : {0, 1, 3}) {
    KvcacheConfig c;
    c.batch = 3;
    c.h = 32;
    c.h_k = 8;
    c.d = c.dv = 128;
    c.page_size = 128;
    c.s_cache = 4200;
    c.cache_seqlens = {4000, 0, 900};
    c.new_lens = {1};
    c.q_lens = {1};
    c.causal = true;
    c.num_splits = splits;
    const KvcacheProblem problem = make_kvcache_problem(c);
    const KvcacheExpected expected = expected_kvcache(problem);
    const KvcacheRun run = run_kvcache(problem, Device{DeviceType::CUDA, h100->index}, KernelPath::Sm90);
    EXPECT_EQ(check_kvcache_run(expected, run), "") << "num_splits " << splits;
  }
}

TEST(KvcacheGpu, CheckMetadataRefusedWhileCapturing) {
  SKIP_WITHOUT_GPU();
  KvcacheConfig c;
  c.cache_seqlens = {3, 4, 5};
  const KvcacheProblem p = make_kvcache_problem(c);
  DeviceKvcache dev(p, gpu_device());
  const cuda::Driver& d = cuda::require_driver();
  CUstream s = nullptr;
  FA3JIT_CU(d.cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
  FA3JIT_CU(d.cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
  std::string message;
  try {
    flash_attn_with_kvcache(dev.args(), s);  // check_metadata is on
  } catch (const Error& e) {
    message = e.what();
  }
  CUgraph g = nullptr;
  FA3JIT_CU(d.cuStreamEndCapture(s, &g));
  if (g) d.cuGraphDestroy(g);
  d.cuStreamDestroy(s);
  EXPECT_NE(message.find("check_metadata must be false while the stream is captured"), std::string::npos) << message;
}

// One decode step (paged cache, append 1 token with rotary, causal, split-KV
// fixed at 3) captured once and replayed on new inputs in the same buffers.
// The splits are fixed by num_splits = 3, or (by_plan) by a
// get_scheduler_metadata plan of the first inputs with its splits set to 3
// and num_splits left at 0 (auto): the plan, not the heuristic on the
// replayed lengths, decides. With a workspace (sized by
// split_workspace_bytes, poisoned: the step's scratch and the split
// partials) the captured graph holds kernels only.
void check_graph_replay(bool by_plan, bool with_workspace = false) {
  KvcacheConfig c;
  c.batch = 3;
  c.h = 8, c.h_k = 2, c.d = 64, c.dv = 64;
  c.page_size = 16;
  c.s_cache = with_workspace ? 1024 : 256;
  c.new_lens = {1};
  c.rotary_dim = 32;
  c.causal = true;
  c.num_splits = by_plan ? 0 : 3;
  c.cache_seqlens = {100, 7, 230};
  if (with_workspace) c.cache_seqlens = {700, 7, 1000};  // 3 splits of at least one key block
  c.seed = 11;
  const KvcacheProblem first = make_kvcache_problem(c);
  KvcacheConfig c2 = c;
  c2.cache_seqlens = {31, 200, 0};  // new lengths; the new seed draws a new page table and new tokens
  c2.seed = 12;
  const KvcacheProblem second = make_kvcache_problem(c2);

  const cuda::Driver& d = cuda::require_driver();
  cuda::set_device(gpu()->index);
  DeviceKvcache dev(first, gpu_device());
  HostTensor plan;
  if (by_plan) {
    SchedulerMetadata words = get_scheduler_metadata(dev.args());
    ASSERT_EQ(words[0], kSchedulerMetadataMarker);
    words[2] = 3;
    plan = HostTensor::from_ints({words.begin(), words.end()});
    dev.args().scheduler_metadata = plan.view();
  }
  if (with_workspace) {
    const int64_t bytes = split_workspace_bytes(dev.args());
    // seqused_k (256-aligned) + rotated q (3 x 8 x 64 bf16), then
    // num_splits x total_q x h x (dv + 1) x 4
    EXPECT_EQ(bytes, 256 + 3 * 8 * 64 * 2 + 3 * 3 * 8 * (64 + 1) * 4);
    dev.args().workspace = dev.workspace(bytes);
  }
  {  // Load the kernels before capturing (a first call compiles them).
    DeviceKvcache warm(first, gpu_device());
    warm.args().scheduler_metadata = dev.args().scheduler_metadata;
    flash_attn_with_kvcache(warm.args());
    FA3JIT_CU(d.cuCtxSynchronize());
    EXPECT_EQ(check_kvcache_run(expected_kvcache(first), warm.results()), "") << "uncaptured call";
  }
  dev.args().check_metadata = false;
  CUstream s = nullptr;
  FA3JIT_CU(d.cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
  FA3JIT_CU(d.cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
  try {
    flash_attn_with_kvcache(dev.args(), s);
  } catch (...) {
    CUgraph g = nullptr;
    d.cuStreamEndCapture(s, &g);
    throw;
  }
  CUgraph graph = nullptr;
  FA3JIT_CU(d.cuStreamEndCapture(s, &graph));
  if (with_workspace) {  // append (+ rotary), forward, combine: no memory nodes
    size_t n = 0;
    FA3JIT_CU(d.cuGraphGetNodes(graph, nullptr, &n));
    std::vector<CUgraphNode> nodes(n);
    FA3JIT_CU(d.cuGraphGetNodes(graph, nodes.data(), &n));
    EXPECT_EQ(n, 3u);
    for (CUgraphNode node : nodes) {
      CUgraphNodeType type{};
      FA3JIT_CU(d.cuGraphNodeGetType(node, &type));
      EXPECT_EQ(int(type), int(CU_GRAPH_NODE_TYPE_KERNEL));
    }
  }
  CUgraphExec exec = nullptr;
  FA3JIT_CU(d.cuGraphInstantiate(&exec, graph, 0));

  // Capturing ran nothing: the caches are untouched until the first replay.
  EXPECT_EQ(std::memcmp(dev.download(dev.args().k_cache).data(), first.k_cache.data(), first.k_cache.nbytes()), 0);

  FA3JIT_CU(d.cuGraphLaunch(exec, s));
  FA3JIT_CU(d.cuStreamSynchronize(s));
  EXPECT_EQ(check_kvcache_run(expected_kvcache(first), dev.results()), "") << "first replay";

  // New inputs in the same device buffers, then replay.
  KvcacheArgs& a = dev.args();
  dev.upload_into(a.q, second.q);
  dev.upload_into(a.k, second.k);
  dev.upload_into(a.v, second.v);
  dev.upload_into(a.k_cache, second.k_cache);
  dev.upload_into(a.v_cache, second.v_cache);
  dev.upload_into(std::get<Tensor>(a.cache_seqlens), second.cache_seqlens);
  dev.upload_into(a.page_table, second.page_table);
  HostTensor poison_out = second.out, poison_lse = second.lse;
  dev.upload_into(a.out, poison_out);
  dev.upload_into(a.softmax_lse, poison_lse);
  FA3JIT_CU(d.cuCtxSynchronize());  // pageable uploads may still be in flight on the legacy stream
  FA3JIT_CU(d.cuGraphLaunch(exec, s));
  FA3JIT_CU(d.cuStreamSynchronize(s));
  EXPECT_EQ(check_kvcache_run(expected_kvcache(second), dev.results()), "") << "replay with new inputs";

  d.cuGraphExecDestroy(exec);
  d.cuGraphDestroy(graph);
  d.cuStreamDestroy(s);
}

TEST(KvcacheGpu, CudaGraphReplaysWithNewLengthsAndPageTable) {
  SKIP_WITHOUT_GPU();
  check_graph_replay(false);
}

TEST(KvcacheGpu, CudaGraphReplaysASchedulerMetadataPlan) {
  SKIP_WITHOUT_GPU();
  check_graph_replay(true);
}

TEST(KvcacheGpu, CudaGraphWithAWorkspaceHoldsKernelsOnly) {
  SKIP_WITHOUT_GPU();
  check_graph_replay(false, true);
}

// A workspace smaller than the splits need is refused by name before the
// append writes the caches.
TEST(KvcacheGpu, TooSmallWorkspaceIsNamedAndNothingWritten) {
  SKIP_WITHOUT_GPU();
  KvcacheConfig c;
  c.batch = 2;
  c.h = 8, c.h_k = 2, c.d = 64, c.dv = 64;
  c.s_cache = 1024;
  c.new_lens = {1};
  c.num_splits = 4;
  c.cache_seqlens = {800, 900};  // 4 splits of at least one key block
  c.seed = 5;
  const KvcacheProblem prob = make_kvcache_problem(c);
  cuda::set_device(gpu()->index);
  DeviceKvcache dev(prob, gpu_device());
  const int64_t need = split_workspace_bytes(dev.args());
  ASSERT_EQ(need, 256 + 4 * 2 * 8 * (64 + 1) * 4);  // seqused_k after the append, then the partials
  dev.args().workspace = dev.workspace(need - 16);
  try {
    flash_attn_with_kvcache(dev.args());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("workspace holds " + std::to_string(need - 16) + " bytes but this call needs " +
                                         std::to_string(need)),
              std::string::npos)
        << e.what();
  }
  const KvcacheRun r = dev.results();
  EXPECT_EQ(std::memcmp(r.k_cache.data(), prob.k_cache.data(), prob.k_cache.nbytes()), 0) << "k_cache written";
  EXPECT_EQ(std::memcmp(r.out.data(), prob.out.data(), prob.out.nbytes()), 0) << "out written";
}

}  // namespace
}  // namespace fa3jit::testing
