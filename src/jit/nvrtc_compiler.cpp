#include "jit/nvrtc_compiler.h"

#include <nvrtc.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <unordered_map>

#include "fa3jit/error.h"
#include "jit/embedded_sources.h"
#include "jit/include_rewrite.h"

namespace fa3jit::jit {
namespace {

void check_nvrtc(nvrtcResult r, const char* what, const KernelSpec& spec) {
  if (r == NVRTC_SUCCESS) return;
  throw Error(ErrorKind::Runtime, std::string(what) + " failed for " + spec.describe() + ": " +
                                      nvrtcGetErrorString(r));
}

KernelSources load_sources() {
  KernelSources s;
  std::unordered_map<std::string, std::string_view> raw;
  for (const EmbeddedFile& f : embedded_kernel_files()) raw.emplace(f.path, std::string_view(f.text, f.size));
  auto exists = [&](const std::string& p) { return raw.count(p) != 0; };
  Sha256 h;
  h.field("fa3jit-kernel-sources/1");
  for (const EmbeddedFile& f : embedded_kernel_files()) {
    s.names.emplace_back(f.path);
    s.texts.push_back(resolve_relative_includes(std::string_view(f.text, f.size), f.path, exists));
    h.field(s.names.back());
    h.field(s.texts.back());
  }
  s.digest = h.finish();
  return s;
}

bool is_dir(const std::string& p) {
  std::error_code ec;
  return !p.empty() && std::filesystem::is_directory(p + "/cuda", ec);
}

std::vector<std::string> cccl_candidates() {
  std::vector<std::string> c;
  for (const char* env : {"CUDA_HOME", "CUDA_PATH"})
    if (const char* v = std::getenv(env); v && *v) c.push_back(std::string(v) + "/include/cccl");
  c.push_back("/usr/local/cuda/include/cccl");
#ifdef FA3JIT_CUDA_INCLUDE_DIR
  // A CMake list: "dir1;dir2".
  std::string_view dirs = FA3JIT_CUDA_INCLUDE_DIR;
  while (!dirs.empty()) {
    const size_t semi = dirs.find(';');
    const std::string_view d = dirs.substr(0, semi);
    if (!d.empty()) c.push_back(std::string(d) + "/cccl");
    if (semi == std::string_view::npos) break;
    dirs.remove_prefix(semi + 1);
  }
#endif
  return c;
}

const std::vector<int>& supported_archs() {
  static const std::vector<int> archs = [] {
    int n = 0;
    std::vector<int> a;
    if (nvrtcGetNumSupportedArchs(&n) == NVRTC_SUCCESS && n > 0) {
      a.resize(n);
      if (nvrtcGetSupportedArchs(a.data()) != NVRTC_SUCCESS) a.clear();
    }
    return a;
  }();
  return archs;
}

struct ProgramGuard {
  nvrtcProgram prog = nullptr;
  ~ProgramGuard() {
    if (prog) nvrtcDestroyProgram(&prog);
  }
};

}  // namespace

const std::string* KernelSources::find(const std::string& name) const {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return &texts[i];
  return nullptr;
}

const KernelSources& kernel_sources() {
  static const KernelSources s = load_sources();
  return s;
}

std::string find_cccl_include_dir() {
  for (const std::string& c : cccl_candidates())
    if (is_dir(c)) return c;
  return std::string();
}

const std::string& cccl_include_dir() {
  static const std::string dir = find_cccl_include_dir();
  return dir;
}

void check_spec(const KernelSpec& spec) {
  if (!kernel_sources().find(spec.entry_file))
    throw Error(ErrorKind::InvalidValue, "KernelSpec.entry_file \"" + spec.entry_file +
                                             "\" is not an embedded kernel source (a path relative to kernels/)");
  if (spec.kernel_name.empty())
    throw Error(ErrorKind::InvalidValue, "KernelSpec.kernel_name must name the kernel to compile (it is empty)");
  if (spec.arch_specific && spec.arch < 90)
    throw Error(ErrorKind::InvalidValue, "KernelSpec.arch_specific needs arch >= 90 (sm_XYa); arch is " +
                                             std::to_string(spec.arch));
  const std::vector<int>& archs = supported_archs();
  bool ok = archs.empty();  // unknown list: let NVRTC decide
  for (int a : archs) ok = ok || a == spec.arch;
  if (!ok) {
    std::string list;
    for (int a : archs) list += (list.empty() ? "" : ", ") + std::to_string(a);
    throw Error(ErrorKind::InvalidValue, "KernelSpec.arch " + std::to_string(spec.arch) +
                                             " is not supported by NVRTC " + nvrtc_version() + " (it supports " +
                                             list + ")");
  }
}

std::vector<std::string> nvrtc_options(const KernelSpec& spec) {
  int major = 0, minor = 0;
  nvrtcVersion(&major, &minor);
  std::vector<std::string> o;
  o.push_back(major >= 12 ? "--std=c++20" : "--std=c++17");
  o.push_back("--gpu-architecture=sm_" + std::to_string(spec.arch) + (spec.arch_specific ? "a" : ""));
  o.push_back("-default-device");
  o.push_back("-lineinfo");
  if (!cccl_include_dir().empty()) o.push_back("-I" + cccl_include_dir());
  o.insert(o.end(), spec.options.begin(), spec.options.end());
  return o;
}

CompiledKernel compile_with_nvrtc(const KernelSpec& spec) {
  check_spec(spec);
  const KernelSources& src = kernel_sources();
  std::vector<const char*> header_texts, header_names;
  for (size_t i = 0; i < src.names.size(); ++i) {
    header_names.push_back(src.names[i].c_str());
    header_texts.push_back(src.texts[i].c_str());
  }
  ProgramGuard g;
  check_nvrtc(nvrtcCreateProgram(&g.prog, src.find(spec.entry_file)->c_str(), spec.entry_file.c_str(),
                                 int(header_names.size()), header_texts.data(), header_names.data()),
              "nvrtcCreateProgram", spec);
  check_nvrtc(nvrtcAddNameExpression(g.prog, spec.kernel_name.c_str()), "nvrtcAddNameExpression", spec);
  const std::vector<std::string> options = nvrtc_options(spec);
  std::vector<const char*> opts;
  for (const std::string& o : options) opts.push_back(o.c_str());
  const nvrtcResult r = nvrtcCompileProgram(g.prog, int(opts.size()), opts.data());
  size_t log_size = 0;
  std::string log;
  if (nvrtcGetProgramLogSize(g.prog, &log_size) == NVRTC_SUCCESS && log_size > 1) {
    log.resize(log_size);
    if (nvrtcGetProgramLog(g.prog, log.data()) != NVRTC_SUCCESS) log = "(the log could not be read)";
    while (!log.empty() && (log.back() == '\0' || log.back() == '\n')) log.pop_back();
  }
  if (r != NVRTC_SUCCESS) {
    std::string opt_text;
    for (const std::string& o : options) opt_text += " " + o;
    throw Error(ErrorKind::Runtime, "NVRTC " + nvrtc_version() + " could not compile " + spec.describe() + " (" +
                                        nvrtcGetErrorString(r) + ")\noptions:" + opt_text + "\nNVRTC log:\n" + log);
  }
  const char* lowered = nullptr;
  check_nvrtc(nvrtcGetLoweredName(g.prog, spec.kernel_name.c_str(), &lowered), "nvrtcGetLoweredName", spec);
  CompiledKernel out;
  out.lowered_name = lowered;
  size_t cubin_size = 0;
  check_nvrtc(nvrtcGetCUBINSize(g.prog, &cubin_size), "nvrtcGetCUBINSize", spec);
  out.cubin.resize(cubin_size);
  check_nvrtc(nvrtcGetCUBIN(g.prog, out.cubin.data()), "nvrtcGetCUBIN", spec);
  return out;
}

}  // namespace fa3jit::jit
