// Command-line options of the fa3jit subcommands: `--name value`,
// `--name=value` and flags, checked against a list of known options so
// that a typo is an error that names it.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "fa3jit/args.h"
#include "fa3jit/tensor.h"

namespace fa3jit::tools {

struct OptionSpec {
  std::string name;        // without the dashes: "seqlen-q"
  std::string value_name;  // empty: a flag that takes no value
  std::string help;
};

class Options {
 public:
  // Parses argv[1..argc) (argv[0] is the subcommand). Throws fa3jit::Error
  // for an unknown option, a missing value, or a positional argument.
  Options(std::string command, std::vector<OptionSpec> specs, int argc, char** argv);

  bool help_requested() const { return has("help"); }
  std::string usage(const std::string& summary) const;

  bool has(const std::string& name) const;
  std::string get(const std::string& name, const std::string& fallback) const;
  // The value as an integer >= min; an error names the option otherwise.
  int get_int(const std::string& name, int fallback, int min) const;
  // A comma-separated list of integers >= min ("64,128").
  std::vector<int> get_ints(const std::string& name, std::vector<int> fallback, int min) const;

 private:
  const OptionSpec& spec(const std::string& name) const;
  std::string command_;
  std::vector<OptionSpec> specs_;
  std::map<std::string, std::string> values_;
};

// "cpu", "cuda", "cuda:1", "musa:0". `option` names the argument in errors.
Device parse_device(const std::string& option, const std::string& text);
// "auto", "cpu", "sm80", "sm90".
KernelPath parse_path(const std::string& option, const std::string& text);
// "bf16", "fp16", "fp32", "fp8" (and the long names).
DType parse_dtype(const std::string& option, const std::string& text);
const char* path_name(KernelPath path);

}  // namespace fa3jit::tools
