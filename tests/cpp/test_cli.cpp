// The `fa3jit` command, run as a user runs it (the binary's path comes
// from FA3JIT_FA3JIT_BIN, which CMake sets for ctest).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

struct Ran {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

Ran run_fa3jit(const std::string& args) {
  const char* bin = std::getenv("FA3JIT_FA3JIT_BIN");
  Ran r;
  if (!bin) return r;
  std::string command = "'";
  command += bin;
  command += "' " + args + " 2>&1";
  FILE* p = popen(command.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::getenv("FA3JIT_FA3JIT_BIN")) GTEST_SKIP() << "FA3JIT_FA3JIT_BIN is not set (run through ctest)";
  }
};

TEST_F(Cli, InfoListsTheCpuAndTheBackend) {
  const Ran r = run_fa3jit("info");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "cpu ")) << r.output;
  EXPECT_TRUE(contains(r.output, "CPU backend")) << r.output;
  EXPECT_TRUE(contains(r.output, "JIT cache:")) << r.output;
  EXPECT_TRUE(contains(r.output, "NVRTC:")) << r.output;
}

TEST_F(Cli, QuickCheckOnTheCpuPasses) {
  const Ran r = run_fa3jit("check --device cpu --quick");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, " 0 failed")) << r.output;
  EXPECT_FALSE(contains(r.output, "\nFAIL")) << r.output;
}

TEST_F(Cli, UnknownOptionIsNamed) {
  const Ran r = run_fa3jit("bench --batchsize 3");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "unknown option '--batchsize'")) << r.output;
}

TEST_F(Cli, BadValueIsNamed) {
  const Ran r = run_fa3jit("check --device gpu");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "--device")) << r.output;
  EXPECT_TRUE(contains(r.output, "'gpu'")) << r.output;
}

TEST_F(Cli, UnknownCommandIsNamed) {
  const Ran r = run_fa3jit("benchmark");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "unknown command 'benchmark'")) << r.output;
}

TEST_F(Cli, HelpForEachCommand) {
  for (const char* cmd : {"info", "check", "bench", "warmup"}) {
    const Ran r = run_fa3jit(std::string(cmd) + " --help");
    EXPECT_EQ(r.exit_code, 0) << cmd << ": " << r.output;
    EXPECT_TRUE(contains(r.output, std::string("usage: fa3jit ") + cmd)) << r.output;
  }
  const Ran top = run_fa3jit("--help");
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_TRUE(contains(top.output, "warmup")) << top.output;
}

TEST_F(Cli, SmallBenchOnTheCpuChecksAndTimes) {
  const Ran r = run_fa3jit("bench --device=cpu --batch 1 --seqlen=64 --heads 2 --d 64 --iters 1 --warmup 0");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "b1 sq64 sk64 h2/2 d64 bfloat16 causal")) << r.output;
  EXPECT_TRUE(contains(r.output, "itself")) << r.output;
}

TEST_F(Cli, GpuPathOnTheCpuIsAnError) {
  const Ran r = run_fa3jit("check --device cpu --path sm80 --quick");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "--path sm80 needs a CUDA device")) << r.output;
}

TEST_F(Cli, AbsentDeviceIsAnError) {
  const Ran r = run_fa3jit("check --device cuda:57 --quick");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "cuda:57 is not present")) << r.output;
}

}  // namespace
