// fa3jit: the command-line tool (info, check, bench, warmup).
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "commands.h"
#include "fa3jit/error.h"
#include "fa3jit/version.h"

namespace {

const char* kUsage =
    "usage: fa3jit <command> [options]\n"
    "\n"
    "fa3jit " FA3JIT_VERSION_STRING ": variable-length attention forward (FlashAttention-3 class),\n"
    "kernels compiled at run time with NVRTC.\n"
    "\n"
    "commands:\n"
    "  info     devices found, which are supported and why, the backend `auto` uses,\n"
    "           the JIT cache and the NVRTC version\n"
    "  check    correctness sweep of random problems against the float64 reference\n"
    "  bench    time a workload (default: one sized for the best device present)\n"
    "  warmup   precompile kernel specializations into the JIT cache\n"
    "\n"
    "`fa3jit <command> --help` shows a command's options.\n";

int dispatch(int argc, char** argv) {
  const std::string command = argv[0];
  if (command == "info") return fa3jit::tools::cmd_info(argc, argv);
  if (command == "check") return fa3jit::tools::cmd_check(argc, argv);
  if (command == "bench") return fa3jit::tools::cmd_bench(argc, argv);
  if (command == "warmup") return cmd_warmup(argc, argv);
  if (command == "--version" || command == "version") {
    std::printf("fa3jit %s\n", fa3jit::kVersion);
    return 0;
  }
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  throw fa3jit::Error(fa3jit::ErrorKind::InvalidValue,
                      "unknown command '" + command + "' (commands: info, check, bench, warmup; see fa3jit --help)");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  try {
    return dispatch(argc - 1, argv + 1);
  } catch (const fa3jit::Error& e) {
    std::fprintf(stderr, "fa3jit: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fa3jit: internal error: %s\n", e.what());
    return 1;
  }
}
