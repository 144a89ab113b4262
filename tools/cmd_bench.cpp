// fa3jit bench: times a workload on a device, each shape checked against
// the float64 reference first.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "../kernels/common/mask.cuh"
#include "commands.h"
#include "fa3jit/device.h"
#include "fa3jit/error.h"
#include "options.h"
#include "runner.h"
#include "testing/problem.h"

namespace fa3jit::tools {
namespace {

struct Row {
  testing::ProblemConfig cfg;
  std::string shape, path, checked_on, error;
  double ms = 0, host_ms = 0, tflops = 0, gbps = 0, max_err = 0, tol = 0;
  bool ok = false;
  bool skipped = false;  // the path does not offer this combination (NotSupported)
};

std::string shape_of(const testing::ProblemConfig& c) {
  std::ostringstream s;
  s << "b" << c.batch << " sq" << c.seqlens_q[0] << " sk" << c.seqlens_k[0] << " h" << c.h << "/" << c.h_k << " d"
    << c.d;
  if (c.dv != c.d) s << " dv" << c.dv;
  s << " " << dtype_name(c.dtype);
  if (c.causal) s << " causal";
  if (c.page_size) s << " page" << c.page_size;
  if (c.num_splits != 1) s << " splits" << c.num_splits;
  return s.str();
}

// FLOPs of the visible (query, key) pairs: 2*d for q.k and 2*dv for p.v per
// pair and head. The pairs come from the same mask rule the kernels use.
double flops(const testing::ProblemConfig& c) {
  const fa3jit_k::MaskSpec mask{c.window_left, c.causal ? 0 : c.window_right, c.attention_chunk};
  double pairs = 0;
  for (int b = 0; b < c.batch; ++b) {
    const int sq = c.seqlens_q[b], sk = c.seqlens_k[b];
    for (int r = 0; r < sq; ++r) {
      const fa3jit_k::KeyRange k = fa3jit_k::key_range(mask, r, sq, sk);
      pairs += k.end - k.begin;
    }
  }
  return 2.0 * pairs * c.h * (c.d + c.dv);
}

// Bytes that any implementation must move at least once: q, k, v read,
// out written (decode shapes are bound by this, so they report GB/s).
double min_bytes(const testing::ProblemConfig& c) {
  double q_rows = 0, k_rows = 0;
  for (int b = 0; b < c.batch; ++b) {
    q_rows += c.seqlens_q[b];
    k_rows += c.seqlens_k[b];
  }
  const double in = double(dtype_size(c.dtype));
  const double out = c.dtype == DType::fp8_e4m3 ? 2.0 : in;  // fp8 writes bf16
  return q_rows * c.h * c.d * in + k_rows * c.h_k * (c.d + c.dv) * in + q_rows * c.h * c.dv * out;
}

// The problem the reference checks: the shape itself when the float64
// reference can afford it, else the same kernel specialization (dtype,
// head dims, GQA ratio, mask, paging, splits) on fewer, shorter sequences.
testing::ProblemConfig check_config(const testing::ProblemConfig& c) {
  if (flops(c) <= 3e8) return c;
  testing::ProblemConfig r = c;
  const int ratio = c.h / c.h_k;
  r.batch = 1;
  r.h_k = std::min(c.h_k, 2);
  r.h = r.h_k * ratio;
  r.seqlens_k = {std::min(c.seqlens_k[0], 512)};
  r.seqlens_q = {std::min(c.seqlens_q[0], r.seqlens_k[0])};
  return r;
}

std::vector<testing::ProblemConfig> workloads(const Options& o, bool gpu) {
  // Defaults: on the CPU a shape that runs in seconds on a few cores; on a
  // GPU the prefill set (16k tokens per batch, hidden size 2048).
  const std::vector<int> seqlens =
      o.get_ints("seqlen-q", o.get_ints("seqlen", gpu ? std::vector<int>{1024, 2048, 4096, 8192, 16384}
                                                      : std::vector<int>{1024},
                                        1),
                 1);
  const std::vector<int> ds = o.get_ints("d", gpu ? std::vector<int>{64, 128, 256} : std::vector<int>{128}, 8);
  std::vector<bool> causals{false, true};
  if (o.has("causal") && o.has("non-causal"))
    throw Error(ErrorKind::InvalidValue, "--causal and --non-causal exclude each other");
  if (o.has("causal")) causals = {true};
  if (o.has("non-causal")) causals = {false};
  const DType dtype = parse_dtype("dtype", o.get("dtype", "bf16"));
  std::vector<testing::ProblemConfig> out;
  for (int d : ds) {
    for (int sq : seqlens) {
      for (bool causal : causals) {
        testing::ProblemConfig c;
        c.dtype = dtype;
        c.d = d;
        c.dv = o.get_int("dv", d, 8);
        c.h = o.get_int("heads", gpu ? std::max(1, 2048 / d) : 8, 1);
        c.h_k = o.get_int("kv-heads", c.h, 1);
        if (c.h % c.h_k != 0)
          throw Error(ErrorKind::InvalidValue, "--heads (" + std::to_string(c.h) + ") must be a multiple of --kv-heads (" +
                                                   std::to_string(c.h_k) + ")");
        c.batch = o.get_int("batch", gpu ? std::max(1, 16384 / sq) : 2, 1);
        const int sk = o.get_int("seqlen-k", sq, 1);
        c.seqlens_q.assign(c.batch, sq);
        c.seqlens_k.assign(c.batch, sk);
        c.causal = causal;
        c.page_size = o.get_int("paged", 0, 1);
        c.num_splits = o.get_int("splits", 1, 0);
        c.descale = dtype == DType::fp8_e4m3;
        // the sm90 fp8 kernels round P to e4m3: the check's plain computation does too
        c.p_e4m3 = dtype == DType::fp8_e4m3 && o.get("path", "auto") != "sm80" && o.get("path", "auto") != "cpu";
        c.return_lse = true;
        c.seed = 7;
        out.push_back(c);
      }
    }
  }
  return out;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') o += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) continue;
    o += ch;
  }
  return o;
}

void write_json(const std::string& file, const DeviceInfo& info, const Device& device, const std::vector<Row>& rows) {
  std::ofstream f(file);
  if (!f) throw Error(ErrorKind::InvalidValue, "--json: cannot write '" + file + "'");
  f << "{\n  \"device\": \"" << device_name(device) << "\",\n  \"device_name\": \"" << json_escape(info.name)
    << "\",\n  \"results\": [\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    const testing::ProblemConfig& c = r.cfg;
    f << "    {\"shape\": \"" << r.shape << "\", \"batch\": " << c.batch << ", \"seqlen_q\": " << c.seqlens_q[0]
      << ", \"seqlen_k\": " << c.seqlens_k[0] << ", \"heads\": " << c.h << ", \"kv_heads\": " << c.h_k
      << ", \"d\": " << c.d << ", \"dv\": " << c.dv << ", \"dtype\": \"" << dtype_name(c.dtype)
      << "\", \"causal\": " << (c.causal ? "true" : "false") << ", \"page_size\": " << c.page_size
      << ", \"splits\": " << c.num_splits << ", \"path\": \"" << r.path << "\", \"ok\": " << (r.ok ? "true" : "false")
      << ", \"skipped\": " << (r.skipped ? "true" : "false")
      << ", \"time_ms\": " << r.ms << ", \"host_ms\": " << r.host_ms << ", \"tflops\": " << r.tflops << ", \"gbps\": " << r.gbps << ", \"max_err\": " << r.max_err
      << ", \"tol\": " << r.tol << ", \"checked_on\": \"" << r.checked_on << "\", \"error\": \""
      << json_escape(r.error) << "\"}" << (i + 1 < rows.size() ? "," : "") << "\n";
  }
  f << "  ]\n}\n";
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  Options opts("bench",
               {{"device", "DEV", "cpu, cuda, cuda:N (default: the best device present)"},
                {"path", "PATH", "auto, cpu, sm80 or sm90 (default auto)"},
                {"batch", "N", "sequences per batch (default: 2 on the CPU, 16384/seqlen on a GPU)"},
                {"seqlen", "N[,N..]", "query and key length (default: 1024 on the CPU, 1k..16k on a GPU)"},
                {"seqlen-q", "N[,N..]", "query length (overrides --seqlen for queries)"},
                {"seqlen-k", "N", "key length (default: the query length)"},
                {"heads", "N", "query heads (default: 8 on the CPU, 2048/d on a GPU)"},
                {"kv-heads", "N", "key/value heads (default: --heads)"},
                {"d", "N[,N..]", "q/k head dim (default: 128 on the CPU, 64,128,256 on a GPU)"},
                {"dv", "N", "v head dim (default: d)"},
                {"causal", "", "causal only (default: causal and not)"},
                {"non-causal", "", "non-causal only"},
                {"paged", "PAGE_SIZE", "paged KV cache with this page size"},
                {"dtype", "T", "bf16, fp16, fp32 or fp8 (default bf16)"},
                {"splits", "N", "num_splits (1 = none, 0 = auto; default 1)"},
                {"iters", "N", "timed iterations (default: 3 on the CPU, 20 on a GPU)"},
                {"warmup", "N", "untimed iterations first (default: 1 on the CPU, 5 on a GPU)"},
                {"json", "FILE", "also write the results as JSON"}},
               argc, argv);
  if (opts.help_requested()) {
    std::fputs(opts.usage("Times attention forward on a device (default: the best one present). Each\n"
                          "shape is checked against the float64 reference before it is timed (large\n"
                          "shapes on a smaller problem of the same kernel). TFLOPS count the visible\n"
                          "(query, key) pairs of the mask; GB/s count q, k, v and out once (the least\n"
                          "any kernel moves; what bounds decode shapes). On a GPU the time is that\n"
                          "of a CUDA graph replaying the calls (the GPU's time); host ms is what one\n"
                          "eager call costs the host. Exits 1 if a check fails.")
                   .c_str(),
               stdout);
    return 0;
  }
  const Device device = opts.has("device") ? parse_device("device", opts.get("device", "")) : default_device();
  const DeviceInfo& info = device_info(device);
  const KernelPath path = parse_path("path", opts.get("path", "auto"));
  check_path_fits_device(path, device);
  const bool gpu = device.type != DeviceType::CPU;
  const int iters = opts.get_int("iters", gpu ? 20 : 3, 1);
  const int warmup = opts.get_int("warmup", gpu ? 5 : 1, 0);
  const std::vector<testing::ProblemConfig> shapes = workloads(opts, gpu);

  std::printf("fa3jit bench on %s (%s), %d iterations\n", device_name(device).c_str(), info.name.c_str(), iters);
  int w = 5;  // the shape column fits the longest shape
  for (const testing::ProblemConfig& cfg : shapes) w = std::max(w, int(shape_of(cfg).size()));
  std::printf("%-*s %-6s %10s %8s %8s %10s %10s  %s\n", w, "shape", "path", "time ms", "TFLOPS", "GB/s", "host ms",
              "max_err", "checked on");
  std::vector<Row> rows;
  std::map<std::string, testing::CheckResult> checked;  // one check per reduced problem
  int failures = 0;
  for (const testing::ProblemConfig& cfg : shapes) {
    Row row;
    row.cfg = cfg;
    row.shape = shape_of(cfg);
    try {
      const testing::Problem problem = testing::make_problem(cfg);
      row.path = path_name(resolved_path(problem, device, path));
      const testing::ProblemConfig ccfg = check_config(cfg);
      const std::string check_shape = shape_of(ccfg);
      const bool itself = check_shape == row.shape;
      row.checked_on = itself ? "itself" : check_shape;
      auto it = checked.find(check_shape);
      if (it == checked.end()) {
        const testing::Problem small = itself ? testing::Problem{} : testing::make_problem(ccfg);
        const testing::Problem& p = itself ? problem : small;
        const RunResult r = run_case(p, device, path);
        it = checked.emplace(check_shape, check_against_reference(p, r.out.view(), r.lse.view())).first;
      }
      const testing::CheckResult& c = it->second;
      row.max_err = c.max_err;
      row.tol = c.tol;
      row.ok = c.ok;
      if (!c.ok) {
        row.error = "check failed: " + c.message;
      } else {
        const testing::Timing t = time_case(problem, device, path, warmup, iters);
        row.ms = t.ms;
        row.host_ms = t.host_ms;
        row.tflops = flops(cfg) / (row.ms * 1e-3) / 1e12;
        row.gbps = min_bytes(cfg) / (row.ms * 1e-3) / 1e9;
      }
    } catch (const Error& e) {
      row.ok = false;
      row.skipped = e.kind() == ErrorKind::NotSupported;
      row.error = e.what();
    }
    failures += !row.ok && !row.skipped;
    if (row.ok) {
      std::printf("%-*s %-6s %10.3f %8.3f %8.1f %10.3f %10.2e  %s\n", w, row.shape.c_str(), row.path.c_str(), row.ms,
                  row.tflops, row.gbps, row.host_ms, row.max_err, row.checked_on.c_str());
    } else {
      std::printf("%-*s %-6s %s: %s\n", w, row.shape.c_str(), row.path.c_str(),
                  row.skipped ? "not supported" : "FAILED", row.error.c_str());
    }
    std::fflush(stdout);
    rows.push_back(row);
  }
  if (opts.has("json")) write_json(opts.get("json", ""), info, device, rows);
  if (failures) std::printf("%d of %zu shapes failed\n", failures, rows.size());
  const auto timed = std::count_if(rows.begin(), rows.end(), [](const Row& r) { return r.ok; });
  if (timed == 0) {
    std::printf("no shape ran on %s with path %s\n", device_name(device).c_str(), path_name(path));
    return 1;  // a bench that measured nothing is not a success
  }
  return failures ? 1 : 0;
}

}  // namespace fa3jit::tools
