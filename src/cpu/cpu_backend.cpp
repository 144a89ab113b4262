#include "cpu/cpu_backend.h"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../../kernels/common/mask.cuh"
#include "../../kernels/common/seqinfo.cuh"
#include "cpu/split_combine.h"
#include "cpu/thread_pool.h"
#include "cpu/tile_kernel.h"
#include "fa3jit/error.h"

namespace fa3jit::cpu {
namespace {

// Upper bound on the split-KV partials held at once (larger problems run in waves).
constexpr int64_t kSplitWorkspaceBytes = int64_t(64) << 20;

// Every (sequence, head or kv-head group, row tile) of the problem, the
// most work first (causal / varlen tiles differ a lot) so that the threads
// finish together. With pack_gqa one task holds all q-heads of a kv-head,
// so each K/V block is converted once for the whole group.
std::vector<TileTask> make_tasks(const fa3jit_k::AttnParams& p) {
  const int group = p.h / p.h_k;
  const int heads_per_task = p.pack_gqa ? group : 1;
  const int rows_per_task = std::max(1, kTileRows / heads_per_task);
  const fa3jit_k::MaskSpec mask = fa3jit_k::mask_spec(p);
  std::vector<std::pair<int64_t, TileTask>> work;  // (visible keys x rows, task)
  for (int b = 0; b < p.batch; ++b) {
    const fa3jit_k::SeqInfo s = fa3jit_k::seq_info(p, b);
    for (int r0 = 0; r0 < s.seqlen_q; r0 += rows_per_task) {
      const int r1 = std::min(s.seqlen_q, r0 + rows_per_task);
      const fa3jit_k::KeyRange keys = fa3jit_k::key_range_of_rows(mask, r0, r1, s.seqlen_q, s.seqlen_k);
      const int64_t cost = int64_t(keys.end - keys.begin + 1) * (r1 - r0);
      for (int h0 = 0; h0 < p.h; h0 += heads_per_task) work.push_back({cost, {b, h0, heads_per_task, r0, r1}});
    }
  }
  std::stable_sort(work.begin(), work.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
  std::vector<TileTask> tasks;
  tasks.reserve(work.size());
  for (const auto& w : work) tasks.push_back(w.second);
  return tasks;
}

void check_plan(const detail::Plan& plan) {
  const auto& p = plan.params;
  if (plan.device.type != DeviceType::CPU)
    throw Error(ErrorKind::InvalidValue,
                "cpu backend: q must be in host memory, but it is on " + device_name(plan.device));
  if (!p.out) throw Error(ErrorKind::InvalidValue, "cpu backend: out is not bound (bind_out before running)");
  if (p.num_splits < 1)
    throw Error(ErrorKind::InvalidValue,
                "cpu backend: num_splits must be resolved to >= 1 before running, got " +
                    std::to_string(p.num_splits));
  if (p.h_k <= 0 || p.h % p.h_k != 0)
    throw Error(ErrorKind::InvalidValue, "cpu backend: h (" + std::to_string(p.h) +
                                             ") must be a multiple of h_k (" + std::to_string(p.h_k) + ")");
}

}  // namespace

int num_threads() {
  if (const char* env = std::getenv("FA3JIT_NUM_THREADS"); env && *env) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (*end != '\0' || n < 1 || n > 4096)
      throw Error(ErrorKind::InvalidValue,
                  std::string("FA3JIT_NUM_THREADS must be an integer in [1, 4096], got '") + env + "'");
    return int(n);
  }
  // Read once: glibc answers from /sys on every call (~6 us, more than
  // validating a call).
  static const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  return cores;
}

void run_attention(const detail::Plan& plan) {
  check_plan(plan);
  const auto& p = plan.params;
  const std::vector<TileTask> tasks = make_tasks(p);
  const int64_t num_tasks = int64_t(tasks.size());
  ThreadPool& pool = ThreadPool::instance();

  if (p.num_splits == 1) {
    pool.parallel_for(num_tasks, [&](int64_t i) {
      run_tile(p, plan.in_dtype, plan.out_dtype, tasks[size_t(i)], 0, nullptr, 0);
    });
    return;
  }
  // Split-KV in waves of tasks whose partials fit the workspace budget: all
  // (task, split) pairs of a wave in parallel, then the wave's merges.
  const int ns = p.num_splits;
  const int64_t slot_bytes = int64_t(ns) * (p.dv + 1) * int64_t(sizeof(float));
  const int64_t max_slots = std::max<int64_t>(1, kSplitWorkspaceBytes / slot_bytes);
  SplitWorkspace ws(ns, p.dv);
  std::vector<int64_t> first_slot;
  for (int64_t begin = 0; begin < num_tasks;) {
    first_slot.clear();
    int64_t slots = 0, end = begin;
    while (end < num_tasks && (end == begin || slots + tile_rows(tasks[size_t(end)]) <= max_slots)) {
      first_slot.push_back(slots);
      slots += tile_rows(tasks[size_t(end)]);
      ++end;
    }
    ws.reset(slots);
    pool.parallel_for((end - begin) * ns, [&](int64_t i) {
      const int64_t t = i / ns;
      run_tile(p, plan.in_dtype, plan.out_dtype, tasks[size_t(begin + t)], int(i % ns), &ws, first_slot[size_t(t)]);
    });
    pool.parallel_for(end - begin, [&](int64_t t) {
      combine_tile(p, plan.out_dtype, ws, tasks[size_t(begin + t)], first_slot[size_t(t)]);
    });
    begin = end;
  }
}

}  // namespace fa3jit::cpu
