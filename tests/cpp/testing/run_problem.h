// Runs a testing::Problem through fa3jit::flash_attn_varlen on a device and
// kernel path, returning host copies of out / LSE; and times it. Used by the
// GPU tests and the `fa3jit check` / `fa3jit bench` commands.
#pragma once
#include <optional>
#include <vector>

#include "fa3jit/args.h"
#include "testing/host_tensor.h"
#include "testing/problem.h"

namespace fa3jit::testing {

struct RunOutput {
  HostTensor out, lse;  // lse empty unless the problem asks for it (out contiguous)
  bool out_gaps_untouched = true;  // with padded out strides: the gaps are still poison
};

// Choices beyond the ProblemConfig (scheduling knobs of VarlenArgs).
struct RunOptions {
  std::optional<bool> pack_gqa;       // VarlenArgs::pack_gqa
  std::optional<int> num_splits;      // overrides cfg.num_splits
  // CUDA, 3-D out given: out's head stride is dv + out_head_pad and its row
  // stride h * (dv + out_head_pad) + out_row_pad (a view into a bigger buffer).
  int out_head_pad = 0, out_row_pad = 0;
  // CUDA: the call gets a workspace of split_workspace_bytes() (at least 256 bytes), poisoned.
  bool workspace = false;
};

// CPU: runs on copies of the problem's (poisoned) out / lse buffers.
// CUDA: uploads every buffer, poisons out / lse on the device (0xFF), runs
// on the default stream, downloads. Throws fa3jit::Error as the library does.
RunOutput run_problem(const Problem& problem, const Device& device, KernelPath path);
RunOutput run_problem(const Problem& problem, const Device& device, KernelPath path, const RunOptions& options);

// CUDA: the call captured in CUDA graphs on fresh streams (the streams'
// first use is inside the capture) with the metadata check off, after one
// eager call that compiles; out / lse poisoned, then `graphs` graphs of the
// same call replayed at once, each on its own stream (they write the same
// values). `node_types` lists the first graph's node types
// (CUgraphNodeType), in no particular order.
struct GraphRun {
  RunOutput out;
  std::vector<int> node_types;
};
GraphRun run_problem_in_graphs(const Problem& problem, const Device& device, KernelPath path,
                               const RunOptions& options, int graphs);

// Per-call times after `warmup` calls, with the metadata check off.
// CUDA: `ms` is the GPU's time, cuEvent timing of a CUDA graph that replays
// `iters` calls (what a serving loop that captures its step sees; host
// launch costs cannot hide a short kernel's time); `host_ms` is the host
// cost of one eager call (enqueue time of `iters` back-to-back calls: the
// floor of the eager per-call time). CUDA calls get a split-KV workspace
// (allocated once, as a serving loop would). CPU: both are the wall time.
struct Timing {
  double ms = 0, host_ms = 0;
};
Timing time_problem(const Problem& problem, const Device& device, KernelPath path, int warmup, int iters);

}  // namespace fa3jit::testing
