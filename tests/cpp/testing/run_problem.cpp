#include "testing/run_problem.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include "device/cuda_driver.h"
#include "dispatch/device_buffer.h"
#include "fa3jit/error.h"

namespace fa3jit::testing {
namespace {

// One device allocation, freed on destruction.
struct DeviceBuffer {
  CUdeviceptr ptr = 0;
  size_t bytes = 0;
  explicit DeviceBuffer(size_t n) : bytes(n) {
    FA3JIT_CU(cuda::require_driver().cuMemAlloc(&ptr, n == 0 ? 16 : n));
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
    if (ptr) cuda::require_driver().cuMemFree(ptr);
  }
};

size_t tensor_bytes(const Tensor& t) { return size_t(t.numel()) * dtype_size(t.dtype); }

// The problem's arguments with every tensor copied to device memory.
class DeviceArgs {
 public:
  DeviceArgs(const Problem& problem, const Device& device, const RunOptions& options) : device_(device) {
    cuda::set_device(device.index);
    args_ = problem.args();
    if (options.pack_gqa) args_.pack_gqa = options.pack_gqa;
    if (options.num_splits) args_.num_splits = *options.num_splits;
    for (Tensor* t : {&args_.q, &args_.k, &args_.v, &args_.cu_seqlens_q, &args_.cu_seqlens_k, &args_.seqused_q,
                      &args_.seqused_k, &args_.page_table, &args_.qv, &args_.q_descale, &args_.k_descale,
                      &args_.v_descale, &args_.sinks, &args_.out, &args_.softmax_lse})
      upload(*t);
    if ((options.out_head_pad > 0 || options.out_row_pad > 0) && args_.out.defined() && args_.out.ndim == 3)
      pad_out(options.out_head_pad, options.out_row_pad);
    poison();
  }
  VarlenArgs& args() { return args_; }

  // A poisoned workspace of the size the call asks for (args' path set),
  // at least 256 bytes (a serving loop's buffer is never empty; the sm90
  // dynamic walk's counter takes 8 of them in graph capture).
  void add_workspace() {
    auto buf = std::make_unique<DeviceBuffer>(size_t(std::max<int64_t>(256, split_workspace_bytes(args_))));
    if (buf->bytes) FA3JIT_CU(cuda::require_driver().cuMemsetD8Async(buf->ptr, 0xFF, buf->bytes, nullptr));
    FA3JIT_CU(cuda::require_driver().cuStreamSynchronize(nullptr));
    const int64_t floats = int64_t(buf->bytes / 4);
    args_.workspace = detail::contiguous_view(reinterpret_cast<void*>(buf->ptr), DType::f32, 1, &floats, device_);
    buffers_.push_back(std::move(buf));
  }

  // Every byte of the caller-provided out / lse set to 0xFF (NaN).
  void poison() {
    const cuda::Driver& d = cuda::require_driver();
    if (args_.out.defined())
      FA3JIT_CU(d.cuMemsetD8Async(reinterpret_cast<CUdeviceptr>(args_.out.data), 0xFF, out_bytes_, nullptr));
    if (args_.softmax_lse.defined())
      FA3JIT_CU(d.cuMemsetD8Async(reinterpret_cast<CUdeviceptr>(args_.softmax_lse.data), 0xFF,
                                  tensor_bytes(args_.softmax_lse), nullptr));
    FA3JIT_CU(d.cuStreamSynchronize(nullptr));
  }

  // The caller's out as a contiguous host tensor; `gaps_untouched` tells
  // whether the bytes of a padded buffer outside the view are still poison.
  HostTensor download_out(bool& gaps_untouched) const {
    const Tensor& t = args_.out;
    if (!t.defined()) return HostTensor();
    std::vector<uint8_t> raw(out_bytes_);
    FA3JIT_CU(cuda::require_driver().cuMemcpyDtoH(raw.data(), reinterpret_cast<CUdeviceptr>(t.data), raw.size()));
    HostTensor h(t.dtype, std::vector<int64_t>(t.shape.begin(), t.shape.begin() + t.ndim));
    if (!padded_) {
      std::memcpy(h.data(), raw.data(), h.nbytes());
      return h;
    }
    const size_t es = dtype_size(t.dtype), row_bytes = size_t(t.shape[2]) * es;
    std::vector<bool> covered(raw.size(), false);
    for (int64_t r = 0; r < t.shape[0]; ++r)
      for (int64_t hh = 0; hh < t.shape[1]; ++hh) {
        const size_t src = size_t(r * t.stride[0] + hh * t.stride[1]) * es;
        std::memcpy(static_cast<uint8_t*>(h.data()) + size_t(r * t.shape[1] + hh) * row_bytes, raw.data() + src, row_bytes);
        std::fill(covered.begin() + long(src), covered.begin() + long(src + row_bytes), true);
      }
    gaps_untouched = true;
    for (size_t i = 0; i < raw.size(); ++i)
      if (!covered[i] && raw[i] != 0xFF) gaps_untouched = false;
    return h;
  }

 private:
  // Replaces the (3-D) out buffer by a strided view into a bigger one.
  void pad_out(int head_pad, int row_pad) {
    Tensor& t = args_.out;
    const int64_t head_stride = t.shape[2] + head_pad, row_stride = t.shape[1] * head_stride + row_pad;
    out_bytes_ = size_t(std::max<int64_t>(1, t.shape[0]) * row_stride) * dtype_size(t.dtype);
    auto buf = std::make_unique<DeviceBuffer>(out_bytes_);
    t.data = reinterpret_cast<void*>(buf->ptr);
    t.stride[0] = row_stride;
    t.stride[1] = head_stride;
    t.stride[2] = 1;
    buffers_.push_back(std::move(buf));
    padded_ = true;
  }

  void upload(Tensor& t) {
    if (!t.defined()) return;
    auto buf = std::make_unique<DeviceBuffer>(tensor_bytes(t));
    if (buf->bytes) FA3JIT_CU(cuda::require_driver().cuMemcpyHtoD(buf->ptr, t.data, buf->bytes));
    t.data = reinterpret_cast<void*>(buf->ptr);
    t.device = device_;
    if (&t == &args_.out) out_bytes_ = buf->bytes;
    buffers_.push_back(std::move(buf));
  }

  Device device_;
  size_t out_bytes_ = 0;
  bool padded_ = false;
  VarlenArgs args_;
  std::vector<std::unique_ptr<DeviceBuffer>> buffers_;
};

HostTensor shape_like(const Tensor& t) {
  return HostTensor(t.dtype, std::vector<int64_t>(t.shape.begin(), t.shape.begin() + t.ndim));
}

HostTensor download(const Tensor& t) {
  if (!t.defined()) return HostTensor();
  HostTensor h = shape_like(t);
  if (h.nbytes()) FA3JIT_CU(cuda::require_driver().cuMemcpyDtoH(h.data(), reinterpret_cast<CUdeviceptr>(t.data), h.nbytes()));
  return h;
}

HostTensor host_copy(const HostTensor& src) {
  if (src.empty()) return HostTensor();
  HostTensor h(src.dtype(), src.shape());
  std::memcpy(h.data(), src.data(), src.nbytes());
  return h;
}

HostTensor host_copy_of_view(const Tensor& t) {
  if (!t.defined()) return HostTensor();
  HostTensor h = shape_like(t);
  std::memcpy(h.data(), t.data, h.nbytes());
  return h;
}

RunOutput run_cpu(const Problem& problem, KernelPath path, const RunOptions& options) {
  VarlenArgs args = problem.args();
  if (options.pack_gqa) args.pack_gqa = options.pack_gqa;
  if (options.num_splits) args.num_splits = *options.num_splits;
  args.path = path;
  RunOutput r;
  r.out = host_copy(problem.out);
  r.lse = host_copy(problem.lse);
  args.out = r.out.view();
  args.softmax_lse = r.lse.view();
  const VarlenResult res = flash_attn_varlen(args);
  if (problem.out.empty()) r.out = host_copy_of_view(res.out);
  if (problem.lse.empty()) r.lse = host_copy_of_view(res.softmax_lse);
  return r;
}

}  // namespace

RunOutput run_problem(const Problem& problem, const Device& device, KernelPath path) {
  return run_problem(problem, device, path, RunOptions{});
}

RunOutput run_problem(const Problem& problem, const Device& device, KernelPath path, const RunOptions& options) {
  if (device.type == DeviceType::CPU) return run_cpu(problem, path, options);
  if (device.type != DeviceType::CUDA)
    throw Error(ErrorKind::NotSupported, "run_problem: device " + device_name(device) + " is not supported");
  DeviceArgs dev(problem, device, options);
  dev.args().path = path;
  if (options.workspace) dev.add_workspace();
  const VarlenResult res = flash_attn_varlen(dev.args(), nullptr);
  FA3JIT_CU(cuda::require_driver().cuStreamSynchronize(nullptr));
  RunOutput r;
  r.out = dev.args().out.defined() ? dev.download_out(r.out_gaps_untouched) : download(res.out);
  r.lse = download(res.softmax_lse);
  return r;
}

GraphRun run_problem_in_graphs(const Problem& problem, const Device& device, KernelPath path,
                               const RunOptions& options, int graphs) {
  if (device.type != DeviceType::CUDA)
    throw Error(ErrorKind::NotSupported, "run_problem_in_graphs: device " + device_name(device) + " is not a CUDA GPU");
  DeviceArgs dev(problem, device, options);
  VarlenArgs& args = dev.args();
  args.path = path;
  if (!args.out.defined())  // an allocated out would be each graph's own
    throw Error(ErrorKind::InvalidValue, "run_problem_in_graphs: the problem must give out (cfg.give_out)");
  if (options.workspace) dev.add_workspace();
  const cuda::Driver& d = cuda::require_driver();
  flash_attn_varlen(args, nullptr);  // compiles and checks the metadata
  FA3JIT_CU(d.cuStreamSynchronize(nullptr));
  args.check_metadata = false;
  std::vector<CUstream> streams(size_t(graphs), nullptr);
  std::vector<CUgraph> gs(size_t(graphs), nullptr);
  std::vector<CUgraphExec> execs(size_t(graphs), nullptr);
  auto release = [&] {
    for (CUgraphExec e : execs)
      if (e) d.cuGraphExecDestroy(e);
    for (CUgraph g : gs)
      if (g) d.cuGraphDestroy(g);
    for (CUstream s : streams)
      if (s) d.cuStreamDestroy(s);
  };
  GraphRun run;
  try {
    VarlenResult res;
    for (size_t i = 0; i < streams.size(); ++i) {
      FA3JIT_CU(d.cuStreamCreate(&streams[i], CU_STREAM_NON_BLOCKING));
      FA3JIT_CU(d.cuStreamBeginCapture(streams[i], CU_STREAM_CAPTURE_MODE_GLOBAL));
      try {
        res = flash_attn_varlen(args, streams[i]);
      } catch (...) {
        d.cuStreamEndCapture(streams[i], &gs[i]);
        throw;
      }
      FA3JIT_CU(d.cuStreamEndCapture(streams[i], &gs[i]));
      FA3JIT_CU(d.cuGraphInstantiate(&execs[i], gs[i], 0));
    }
    size_t n = 0;
    FA3JIT_CU(d.cuGraphGetNodes(gs[0], nullptr, &n));
    std::vector<CUgraphNode> nodes(n);
    FA3JIT_CU(d.cuGraphGetNodes(gs[0], nodes.data(), &n));
    for (CUgraphNode node : nodes) {
      CUgraphNodeType type{};
      FA3JIT_CU(d.cuGraphNodeGetType(node, &type));
      run.node_types.push_back(int(type));
    }
    dev.poison();
    for (size_t i = 0; i < streams.size(); ++i) FA3JIT_CU(d.cuGraphLaunch(execs[i], streams[i]));
    for (CUstream s : streams) FA3JIT_CU(d.cuStreamSynchronize(s));
    run.out.out = dev.download_out(run.out.out_gaps_untouched);
    run.out.lse = download(res.softmax_lse);
  } catch (...) {
    release();
    throw;
  }
  release();
  return run;
}

Timing time_problem(const Problem& problem, const Device& device, KernelPath path, int warmup, int iters) {
  if (iters < 1) throw Error(ErrorKind::InvalidValue, "time_problem: iters must be >= 1, got " + std::to_string(iters));
  using Clock = std::chrono::steady_clock;
  if (device.type == DeviceType::CPU) {
    for (int i = 0; i < warmup; ++i) run_cpu(problem, path, {});
    const auto t0 = Clock::now();
    for (int i = 0; i < iters; ++i) run_cpu(problem, path, {});
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / iters;
    return {ms, ms};
  }
  if (device.type != DeviceType::CUDA)
    throw Error(ErrorKind::NotSupported, "time_problem: device " + device_name(device) + " is not supported");
  DeviceArgs dev(problem, device, RunOptions{});
  VarlenArgs& args = dev.args();
  args.path = path;
  dev.add_workspace();  // a serving loop's setting: split scratch sized once, no allocation per call
  const cuda::Driver& d = cuda::require_driver();
  // Every handle is released on every exit (an Error may come from any call).
  CUstream stream = nullptr;
  CUevent start = nullptr, stop = nullptr;
  CUgraph graph = nullptr;
  CUgraphExec exec = nullptr;
  auto release = [&] {
    if (exec) d.cuGraphExecDestroy(exec);
    if (graph) d.cuGraphDestroy(graph);
    if (start) d.cuEventDestroy(start);
    if (stop) d.cuEventDestroy(stop);
    if (stream) d.cuStreamDestroy(stream);
  };
  Timing t;
  try {
    FA3JIT_CU(d.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING));
    FA3JIT_CU(d.cuEventCreate(&start, CU_EVENT_DEFAULT));
    FA3JIT_CU(d.cuEventCreate(&stop, CU_EVENT_DEFAULT));
    flash_attn_varlen(args, stream);  // checks the metadata once (and compiles)
    args.check_metadata = false;      // then times the kernels alone
    for (int i = 0; i < warmup; ++i) flash_attn_varlen(args, stream);
    FA3JIT_CU(d.cuStreamSynchronize(stream));

    const auto t0 = Clock::now();
    for (int i = 0; i < iters; ++i) flash_attn_varlen(args, stream);
    t.host_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / iters;
    FA3JIT_CU(d.cuStreamSynchronize(stream));

    FA3JIT_CU(d.cuStreamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
    try {
      for (int i = 0; i < iters; ++i) flash_attn_varlen(args, stream);
    } catch (...) {
      d.cuStreamEndCapture(stream, &graph);
      throw;
    }
    FA3JIT_CU(d.cuStreamEndCapture(stream, &graph));
    FA3JIT_CU(d.cuGraphInstantiate(&exec, graph, 0));
    FA3JIT_CU(d.cuGraphLaunch(exec, stream));  // the first replay uploads the graph
    FA3JIT_CU(d.cuEventRecord(start, stream));
    FA3JIT_CU(d.cuGraphLaunch(exec, stream));
    FA3JIT_CU(d.cuEventRecord(stop, stream));
    FA3JIT_CU(d.cuEventSynchronize(stop));
    float ms = 0.f;
    FA3JIT_CU(d.cuEventElapsedTime(&ms, start, stop));
    t.ms = double(ms) / iters;
  } catch (...) {
    release();
    throw;
  }
  release();
  return t;
}

}  // namespace fa3jit::testing
