// The subcommands of the `fa3jit` command. Each takes the arguments that
// follow `fa3jit` (argv[0] is the subcommand's name, e.g. "bench"), returns
// the process exit code, and throws fa3jit::Error on bad input (main prints
// the message and exits 2).
#pragma once

namespace fa3jit::tools {

int cmd_info(int argc, char** argv);
int cmd_check(int argc, char** argv);
int cmd_bench(int argc, char** argv);

}  // namespace fa3jit::tools

// Implemented by tools/cmd_warmup.cpp (the JIT's warmup: precompiles a list
// of kernel specializations). Same conventions; global namespace.
int cmd_warmup(int argc, char** argv);
