#include "options.h"

#include <charconv>
#include <sstream>

#include "fa3jit/error.h"

namespace fa3jit::tools {
namespace {

Error bad_value(const std::string& option, const std::string& text, const std::string& rule) {
  return Error(ErrorKind::InvalidValue, "--" + option + " " + rule + ", got '" + text + "'");
}

bool parse_int(const std::string& text, int& value) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end && !text.empty();
}

}  // namespace

Options::Options(std::string command, std::vector<OptionSpec> specs, int argc, char** argv)
    : command_(std::move(command)), specs_(std::move(specs)) {
  specs_.push_back({"help", "", "show this help"});
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h") arg = "--help";
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      throw Error(ErrorKind::InvalidValue, "fa3jit " + command_ + ": unexpected argument '" + arg +
                                               "' (options start with --; see fa3jit " + command_ +
                                               " --help)");
    }
    std::string name = arg.substr(2);
    std::string value;
    bool inline_value = false;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    const OptionSpec& s = spec(name);
    if (s.value_name.empty()) {
      if (inline_value) throw Error(ErrorKind::InvalidValue, "--" + name + " takes no value, got '" + value + "'");
    } else if (!inline_value) {
      if (i + 1 >= argc) {
        throw Error(ErrorKind::InvalidValue, "--" + name + " needs a value (" + s.value_name + ")");
      }
      value = argv[++i];
    }
    values_[name] = value;
  }
}

const OptionSpec& Options::spec(const std::string& name) const {
  for (const OptionSpec& s : specs_) {
    if (s.name == name) return s;
  }
  throw Error(ErrorKind::InvalidValue, "fa3jit " + command_ + ": unknown option '--" + name +
                                           "' (see fa3jit " + command_ + " --help)");
}

std::string Options::usage(const std::string& summary) const {
  std::ostringstream s;
  s << "usage: fa3jit " << command_ << " [options]\n\n" << summary << "\n\noptions:\n";
  for (const OptionSpec& o : specs_) {
    std::string left = "  --" + o.name + (o.value_name.empty() ? "" : " " + o.value_name);
    if (left.size() < 26) left.resize(26, ' ');
    else left += "  ";
    s << left << o.help << "\n";
  }
  return s.str();
}

bool Options::has(const std::string& name) const { return values_.count(name) > 0; }

std::string Options::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

int Options::get_int(const std::string& name, int fallback, int min) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  int v = 0;
  if (!parse_int(it->second, v)) throw bad_value(name, it->second, "must be an integer");
  if (v < min) throw bad_value(name, it->second, "must be >= " + std::to_string(min));
  return v;
}

std::vector<int> Options::get_ints(const std::string& name, std::vector<int> fallback, int min) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  std::vector<int> out;
  std::stringstream ss(it->second);
  std::string item;
  while (std::getline(ss, item, ',')) {
    int v = 0;
    if (!parse_int(item, v)) throw bad_value(name, it->second, "must be integers separated by commas");
    if (v < min) throw bad_value(name, it->second, "must be >= " + std::to_string(min));
    out.push_back(v);
  }
  if (out.empty()) throw bad_value(name, it->second, "must list at least one integer");
  return out;
}

Device parse_device(const std::string& option, const std::string& text) {
  const size_t colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  int index = 0;
  if (colon != std::string::npos && (!parse_int(text.substr(colon + 1), index) || index < 0)) {
    throw bad_value(option, text, "must be cpu, cuda, cuda:N or musa:N with N >= 0");
  }
  if (kind == "cpu" && colon == std::string::npos) return Device{DeviceType::CPU, 0};
  if (kind == "cuda") return Device{DeviceType::CUDA, index};
  if (kind == "musa") return Device{DeviceType::MUSA, index};
  throw bad_value(option, text, "must be cpu, cuda, cuda:N or musa:N");
}

KernelPath parse_path(const std::string& option, const std::string& text) {
  if (text == "auto") return KernelPath::Auto;
  if (text == "cpu") return KernelPath::Cpu;
  if (text == "sm80") return KernelPath::Sm80;
  if (text == "sm90") return KernelPath::Sm90;
  throw bad_value(option, text, "must be auto, cpu, sm80 or sm90");
}

DType parse_dtype(const std::string& option, const std::string& text) {
  if (text == "bf16" || text == "bfloat16") return DType::bf16;
  if (text == "fp16" || text == "f16" || text == "float16") return DType::f16;
  if (text == "fp32" || text == "f32" || text == "float32") return DType::f32;
  if (text == "fp8" || text == "fp8_e4m3" || text == "float8_e4m3") return DType::fp8_e4m3;
  throw bad_value(option, text, "must be bf16, fp16, fp32 or fp8");
}

const char* path_name(KernelPath path) {
  switch (path) {
    case KernelPath::Auto: return "auto";
    case KernelPath::Cpu: return "cpu";
    case KernelPath::Sm80: return "sm80";
    case KernelPath::Sm90: return "sm90";
  }
  return "?";
}

}  // namespace fa3jit::tools
