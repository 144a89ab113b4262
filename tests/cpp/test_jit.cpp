// The JIT: NVRTC compiles (no GPU needed), the disk cache (hits, repairs,
// locks across processes, unusable directories, stale temp files, the CCCL
// version in the key), and on a GPU, loading and
// launching the selftest kernel (kernels/jit_selftest.cu).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "device/cuda_driver.h"
#include "fa3jit/error.h"
#include "jit/cccl_version.h"
#include "jit/include_rewrite.h"
#include "jit/jit.h"
#include "jit/jit_internal.h"
#include "jit/nvrtc_compiler.h"
#include "jit/sha256.h"
#include "jit/stale_temp_files.h"
#include "jit/warmup.h"

namespace fa3jit::jit {
namespace {

namespace fs = std::filesystem;

KernelSpec selftest_spec(int n, int arch = 80, bool arch_specific = false) {
  KernelSpec s;
  s.entry_file = "jit_selftest.cu";
  s.kernel_name = "fa3jit_k::fa3jit_selftest_add<" + std::to_string(n) + ">";
  s.arch = arch;
  s.arch_specific = arch_specific;
  return s;
}

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

void write_text(const std::string& path, const std::string& text) { write_bytes(path, {text.begin(), text.end()}); }

// Writes a one-byte file whose mtime is `age` ago.
void write_file_aged(const std::string& path, std::chrono::seconds age) {
  write_bytes(path, {'x'});
  timespec now;
  ASSERT_EQ(clock_gettime(CLOCK_REALTIME, &now), 0);
  const timespec then = {now.tv_sec - time_t(age.count()), now.tv_nsec};
  const timespec times[2] = {then, then};  // atime, mtime
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

int count_lines_containing(const std::string& path, const std::string& needle) {
  std::ifstream f(path);
  int n = 0;
  for (std::string line; std::getline(f, line);) n += line.find(needle) != std::string::npos;
  return n;
}

// Sets an environment variable for the life of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Every test gets an empty cache directory of its own and an empty
// in-memory table, so that hits and misses are the test's own.
class JitCache : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fa3jit_test_jit_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/cache";
    cache_env_.emplace("FA3JIT_CACHE_DIR", dir_.c_str());
    disable_env_.emplace("FA3JIT_CACHE_DISABLE", nullptr);
    trace_env_.emplace("FA3JIT_JIT_TRACE", nullptr);
    forget_compiled_kernels_for_testing();
  }
  void TearDown() override {
    trace_env_.reset();
    disable_env_.reset();
    cache_env_.reset();
    std::error_code ec;
    fs::permissions(root_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(root_, ec);
  }
  std::string entry_path(const KernelSpec& s) { return cache_entry_path(cache_key(s)); }

  std::string root_, dir_;
  std::optional<ScopedEnv> cache_env_, disable_env_, trace_env_;
};

using JitCompile = JitCache;

// ---------------------------------------------------------------- hashing

TEST(JitSha256, MatchesFipsTestVectors) {
  EXPECT_EQ(to_hex(sha256("", 0)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(to_hex(sha256("abc", 3)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(to_hex(sha256(two_blocks.data(), two_blocks.size())),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million(1000000, 'a');
  Sha256 chunked;  // odd chunk sizes cross the 64-byte block boundary
  for (size_t i = 0; i < million.size(); i += 997) chunked.update(million.substr(i, 997));
  EXPECT_EQ(to_hex(chunked.finish()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(JitSha256, FieldsAreLengthPrefixed) {
  Sha256 a, b;
  a.field("ab");
  a.field("c");
  b.field("a");
  b.field("bc");
  EXPECT_NE(a.finish(), b.finish());
}

// --------------------------------------------------------------- includes

TEST(JitIncludes, ResolvesBesideTheIncluderThenFromKernelsRoot) {
  const std::vector<std::string> files = {"common/params.cuh", "common/mask.cuh", "sm80/tile.cuh"};
  auto exists = [&](const std::string& p) { return std::find(files.begin(), files.end(), p) != files.end(); };
  const std::string text =
      "#include \"params.cuh\"\n"
      "  #  include \"../common/mask.cuh\"  // note\n"
      "#include \"common/params.cuh\"\n"
      "#include \"missing.cuh\"\n"
      "#include <cuda/ptx>\n"
      "int x;";
  EXPECT_EQ(resolve_relative_includes(text, "common/mask.cuh", exists),
            "#include \"common/params.cuh\"\n"
            "  #  include \"common/mask.cuh\"  // note\n"
            "#include \"common/params.cuh\"\n"
            "#include \"missing.cuh\"\n"
            "#include <cuda/ptx>\n"
            "int x;");
  // From sm80/, "tile.cuh" is beside the includer; "params.cuh" is not
  // found anywhere (it is common/params.cuh) and stays as written.
  EXPECT_EQ(resolve_relative_includes("#include \"tile.cuh\"\n#include \"params.cuh\"\n", "sm80/fwd.cu", exists),
            "#include \"sm80/tile.cuh\"\n#include \"params.cuh\"\n");
}

TEST(JitIncludes, NormalizesPaths) {
  EXPECT_EQ(normalize_kernel_path("a/./b/../c.cuh"), "a/c.cuh");
  EXPECT_EQ(normalize_kernel_path("common//mask.cuh"), "common/mask.cuh");
  EXPECT_EQ(normalize_kernel_path("../x.cuh"), "");
}

TEST(JitIncludes, EmbeddedSourcesHaveTheSelftestAndSharedHeaders) {
  const KernelSources& s = kernel_sources();
  ASSERT_NE(s.find("jit_selftest.cu"), nullptr);
  ASSERT_NE(s.find("common/mask.cuh"), nullptr);
  // mask.cuh's relative include now names the embedded file.
  EXPECT_NE(s.find("common/mask.cuh")->find("#include \"common/params.cuh\""), std::string::npos);
}

// ---------------------------------------------------------------- compile

bool is_elf(const std::vector<char>& b) {
  return b.size() > 4 && b[0] == 0x7f && b[1] == 'E' && b[2] == 'L' && b[3] == 'F';
}

TEST_F(JitCompile, SelftestCompilesForSm80AndSm90a) {
  CompileStats st80, st90;
  const std::vector<char> c80 = get_cubin(selftest_spec(3, 80), &st80);
  const std::vector<char> c90 = get_cubin(selftest_spec(3, 90, true), &st90);
  EXPECT_TRUE(is_elf(c80));
  EXPECT_TRUE(is_elf(c90));
  EXPECT_NE(c80, c90);
  EXPECT_FALSE(st80.from_disk_cache);
  EXPECT_FALSE(st80.from_memory);
  EXPECT_GT(st80.seconds, 0);
  std::printf("[ timing ] cold NVRTC compile of the selftest: sm_80 %.3f s, sm_90a %.3f s\n", st80.seconds,
              st90.seconds);
}

TEST_F(JitCompile, CcclPtxHeadersCompileForSm90a) {
  if (cccl_include_dir().empty()) GTEST_SKIP() << "no CCCL include dir in this toolkit";
  KernelSpec s;
  s.entry_file = "jit_selftest.cu";
  s.kernel_name = "fa3jit_k::fa3jit_selftest_cccl<2>";
  s.arch = 90;
  s.arch_specific = true;
  s.options = {"-DFA3JIT_SELFTEST_CCCL"};
  EXPECT_TRUE(is_elf(get_cubin(s)));
}

TEST_F(JitCompile, CompileErrorShowsTheSpecAndNvrtcLog) {
  KernelSpec s = selftest_spec(1);
  s.options = {"-DFA3JIT_SELFTEST_FORCE_ERROR=1"};
  try {
    get_cubin(s);
    FAIL() << "a forced compile error did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Runtime);
    const std::string m = e.what();
    EXPECT_NE(m.find(s.describe()), std::string::npos) << m;
    EXPECT_NE(m.find("fa3jit selftest: forced compile error"), std::string::npos) << m;
    EXPECT_NE(m.find("jit_selftest.cu"), std::string::npos) << m;
  }
  EXPECT_EQ(cache_usage().entries, 0u) << "a failed compile must not leave a cache entry";
  // Not remembered either: the next request compiles again and fails again.
  EXPECT_THROW(get_cubin(s), Error);
}

TEST_F(JitCompile, BadSpecsNameTheField) {
  auto expect_error = [](const KernelSpec& s, const std::string& field) {
    try {
      get_cubin(s);
      ADD_FAILURE() << "no error for a bad " << field;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidValue);
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  KernelSpec s = selftest_spec(1);
  s.entry_file = "no/such_file.cu";
  expect_error(s, "KernelSpec.entry_file");
  s = selftest_spec(1);
  s.kernel_name = "";
  expect_error(s, "KernelSpec.kernel_name");
  expect_error(selftest_spec(1, 80, true), "KernelSpec.arch_specific");
  expect_error(selftest_spec(1, 12), "KernelSpec.arch");
}

TEST_F(JitCompile, KeyCoversEveryInput) {
  const KernelSpec base = selftest_spec(4);
  EXPECT_EQ(cache_key(base).hex, cache_key(selftest_spec(4)).hex);
  std::vector<KernelSpec> variants(5, base);
  variants[0].kernel_name = "fa3jit_k::fa3jit_selftest_add<5>";
  variants[1].arch = 86;
  variants[2] = selftest_spec(4, 90, false);
  variants[3] = selftest_spec(4, 90, true);
  variants[4].options = {"-DX=1"};
  for (size_t i = 0; i < variants.size(); ++i) {
    EXPECT_NE(cache_key(variants[i]).hex, cache_key(base).hex) << i;
    for (size_t j = 0; j < i; ++j) EXPECT_NE(cache_key(variants[i]).hex, cache_key(variants[j]).hex) << i << j;
  }
  EXPECT_EQ(cache_key(base).hex.size(), 64u);
}

TEST(JitCcclVersion, KeyFollowsTheVersionHeaderOfTheCcclFound) {
  const KernelSpec s = selftest_spec(4);
  // This process's CCCL dir and version are looked up once: pinned here,
  // before CUDA_HOME points elsewhere, and checked unchanged at the end.
  const std::string process_dir = cccl_include_dir();
  const std::string process_key = cache_key(s).hex;
  EXPECT_EQ(process_key, cache_key(s, cccl_version_digest(process_dir)).hex);
  const std::string no_cccl = cache_key(s, cccl_version_digest("")).hex;
  if (!process_dir.empty()) {
    EXPECT_NE(process_key, no_cccl) << "no version header found in " << process_dir;
  }

  char tmpl[] = "/tmp/fa3jit_test_cccl_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string root = tmpl, include = root + "/include/cccl";
  const std::string version_h = include + "/cuda/std/__cccl/version.h", cub_version = include + "/cub/version.cuh";
  fs::create_directories(include + "/cuda/std/__cccl");
  fs::create_directories(include + "/cub");
  {
    ScopedEnv cuda_home("CUDA_HOME", root.c_str());
    ASSERT_EQ(find_cccl_include_dir(), include);
    auto key_now = [&] { return cache_key(s, cccl_version_digest(find_cccl_include_dir())).hex; };
    EXPECT_EQ(key_now(), no_cccl);  // no version header there yet

    write_text(version_h, "#define CCCL_VERSION 3000001\n");
    const std::string v1 = key_now();
    EXPECT_NE(v1, no_cccl);
    EXPECT_EQ(key_now(), v1);
    write_text(version_h, "#define CCCL_VERSION 3000001\n");  // rewritten, same contents
    EXPECT_EQ(key_now(), v1);
    write_text(version_h, "#define CCCL_VERSION 3000002\n");
    const std::string v2 = key_now();
    EXPECT_NE(v2, v1);
    EXPECT_NE(v2, no_cccl);
    write_text(version_h, "#define CCCL_VERSION 3000001\n");
    EXPECT_EQ(key_now(), v1);

    // Older layout: only CUB's version header.
    fs::remove(version_h);
    write_text(cub_version, "#define CUB_VERSION 200200\n");
    const std::string c1 = key_now();
    for (const std::string& other : {v1, v2, no_cccl}) EXPECT_NE(c1, other);
    write_text(cub_version, "#define CUB_VERSION 200201\n");
    EXPECT_NE(key_now(), c1);
  }
  EXPECT_EQ(cccl_include_dir(), process_dir);
  EXPECT_EQ(cache_key(s).hex, process_key);
  std::error_code ec;
  fs::remove_all(root, ec);
}

TEST(JitEntryFormat, RoundTripsAndRejectsOtherKeys) {
  CacheKey key{sha256("k", 1), ""};
  CacheKey other{sha256("o", 1), ""};
  CompiledKernel k{{'\x7f', 'E', 'L', 'F', '\0', '\1'}, "_Z3fooPf"};
  const std::vector<char> bytes = encode_entry(key, k);
  std::string why;
  std::optional<CompiledKernel> back = decode_entry(bytes, key, &why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(back->cubin, k.cubin);
  EXPECT_EQ(back->lowered_name, k.lowered_name);
  EXPECT_FALSE(decode_entry(bytes, other, &why));
  EXPECT_NE(why.find("another key"), std::string::npos) << why;
  for (size_t cut : {size_t(0), size_t(10), bytes.size() - 1}) {
    EXPECT_FALSE(decode_entry(std::vector<char>(bytes.begin(), bytes.begin() + cut), key, &why)) << cut;
  }
  for (size_t i = 0; i < bytes.size(); ++i) {  // every single-byte corruption is caught
    std::vector<char> bad = bytes;
    bad[i] ^= 0x20;
    EXPECT_FALSE(decode_entry(bad, key, &why)) << "byte " << i;
  }
}

// ------------------------------------------------------------------ cache

TEST_F(JitCache, MissThenDiskHitThenMemoryHit) {
  const KernelSpec s = selftest_spec(2);
  CompileStats miss, disk, memory;
  const std::vector<char> a = get_cubin(s, &miss);
  EXPECT_FALSE(miss.from_disk_cache);
  EXPECT_FALSE(miss.from_memory);
  EXPECT_TRUE(fs::exists(entry_path(s)));
  forget_compiled_kernels_for_testing();
  const std::vector<char> b = get_cubin(s, &disk);
  EXPECT_TRUE(disk.from_disk_cache);
  EXPECT_FALSE(disk.from_memory);
  const std::vector<char> c = get_cubin(s, &memory);
  EXPECT_TRUE(memory.from_memory);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
  std::printf("[ timing ] selftest sm_80: cold compile %.4f s, disk cache load %.4f s, memory hit %.6f s\n",
              miss.seconds, disk.seconds, memory.seconds);
  const CacheUsage u = cache_usage();
  EXPECT_EQ(u.entries, 1u);
  EXPECT_GE(u.bytes, fs::file_size(entry_path(s)));
}

// Damages the entry of `s` with `damage`, then checks that the next request
// recompiles (never loads it) and rewrites the file as it was.
template <typename Damage>
void expect_repaired(const KernelSpec& s, const std::string& path, Damage damage) {
  const std::vector<char> cubin = get_cubin(s);
  const std::vector<char> good = read_bytes(path);
  ASSERT_FALSE(good.empty());
  std::vector<char> bad = good;
  damage(bad);
  write_bytes(path, bad);
  forget_compiled_kernels_for_testing();
  CompileStats st;
  EXPECT_EQ(get_cubin(s, &st), cubin);
  EXPECT_FALSE(st.from_disk_cache) << "a damaged entry was loaded";
  EXPECT_EQ(read_bytes(path), good) << "the damaged entry was not replaced";
}

TEST_F(JitCache, TruncatedEntryIsRecompiledAndRepaired) {
  const KernelSpec s = selftest_spec(5);
  expect_repaired(s, entry_path(s), [](std::vector<char>& b) { b.resize(b.size() / 2); });
  forget_compiled_kernels_for_testing();
  expect_repaired(s, entry_path(s), [](std::vector<char>& b) { b.resize(10); });
  forget_compiled_kernels_for_testing();
  expect_repaired(s, entry_path(s), [](std::vector<char>& b) { b.clear(); });
}

TEST_F(JitCache, FlippedPayloadByteIsRecompiledAndRepaired) {
  const KernelSpec s = selftest_spec(6);
  expect_repaired(s, entry_path(s), [](std::vector<char>& b) { b[b.size() - 100] ^= 0x01; });
}

TEST_F(JitCache, EntryOfAnotherKeyIsNotLoaded) {
  const KernelSpec a = selftest_spec(7), b = selftest_spec(8);
  const std::vector<char> cubin_a = get_cubin(a);
  const std::vector<char> cubin_b = get_cubin(b);
  ASSERT_NE(cubin_a, cubin_b);
  const std::vector<char> entry_b = read_bytes(entry_path(b));
  fs::copy_file(entry_path(a), entry_path(b), fs::copy_options::overwrite_existing);
  forget_compiled_kernels_for_testing();
  CompileStats st;
  EXPECT_EQ(get_cubin(b, &st), cubin_b);
  EXPECT_FALSE(st.from_disk_cache);
  EXPECT_EQ(read_bytes(entry_path(b)), entry_b);
}

TEST_F(JitCache, ThreadsShareOneCompile) {
  const std::string trace_file = root_ + "/trace.log";
  ScopedEnv trace("FA3JIT_JIT_TRACE", trace_file.c_str());
  const KernelSpec s = selftest_spec(9);
  constexpr int kThreads = 8;
  std::vector<std::vector<char>> cubins(kThreads);
  std::vector<CompileStats> stats(kThreads);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      ++ready;
      while (ready < kThreads) std::this_thread::yield();
      cubins[i] = get_cubin(s, &stats[i]);
    });
  for (std::thread& t : threads) t.join();
  int owners = 0;
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_EQ(cubins[i], cubins[0]);
    owners += !stats[i].from_memory;
  }
  EXPECT_EQ(owners, 1);
  EXPECT_EQ(count_lines_containing(trace_file, "] compile " + cache_key(s).hex), 1);
}

TEST_F(JitCache, TwoProcessesCompileAKeyOnce) {
  const std::string trace_file = root_ + "/trace.log";
  ScopedEnv trace("FA3JIT_JIT_TRACE", trace_file.c_str());
  const KernelSpec s = selftest_spec(10);
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < 2; ++i) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(go[1]);
      char c;
      while (read(go[0], &c, 1) > 0) {
      }  // both start when the parent closes the pipe
      int rc = 0;
      try {
        write_bytes(root_ + "/child" + std::to_string(i) + ".bin", get_cubin(s));
      } catch (...) {
        rc = 1;
      }
      _exit(rc);
    }
    children.push_back(pid);
  }
  close(go[0]);
  close(go[1]);
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  const std::vector<char> c0 = read_bytes(root_ + "/child0.bin"), c1 = read_bytes(root_ + "/child1.bin");
  EXPECT_TRUE(is_elf(c0));
  EXPECT_EQ(c0, c1);
  EXPECT_EQ(count_lines_containing(trace_file, "] compile " + cache_key(s).hex), 1);
  CompileStats st;
  EXPECT_EQ(get_cubin(s, &st), c0);
  EXPECT_TRUE(st.from_disk_cache);
}

TEST_F(JitCache, UnusableDirectoryCompilesInMemoryAndWarnsOnce) {
  // Root ignores permission bits, so there the cache dir is put under a
  // regular file, where no directory can be created.
  std::string bad_dir;
  if (geteuid() == 0) {
    write_bytes(root_ + "/a_file", {'x'});
    bad_dir = root_ + "/a_file/cache";
  } else {
    fs::create_directory(root_ + "/ro");
    chmod((root_ + "/ro").c_str(), 0555);
    bad_dir = root_ + "/ro/cache";
  }
  const std::string err_file = root_ + "/stderr.txt";
  const std::string out_file = root_ + "/cubin.bin";
  const KernelSpec s = selftest_spec(11);
  // In a child process: the warning is once per process, and this one must
  // be the first.
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setenv("FA3JIT_CACHE_DIR", bad_dir.c_str(), 1);
    if (!freopen(err_file.c_str(), "w", stderr)) _exit(3);
    int rc = 0;
    try {
      CompileStats st;
      write_bytes(out_file, get_cubin(s, &st));
      get_cubin(selftest_spec(12));
      if (st.from_disk_cache) rc = 2;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "exception: %s\n", e.what());
      rc = 1;
    }
    std::fflush(stderr);
    _exit(rc);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  std::ifstream err(err_file);
  const std::string err_text((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << err_text;
  EXPECT_EQ(count_lines_containing(err_file, "warning"), 1) << err_text;
  EXPECT_NE(err_text.find(bad_dir), std::string::npos) << err_text;
  EXPECT_EQ(read_bytes(out_file), get_cubin(s));
}

TEST_F(JitCache, DisableSkipsTheDisk) {
  ScopedEnv off("FA3JIT_CACHE_DISABLE", "1");
  CompileStats st;
  EXPECT_TRUE(is_elf(get_cubin(selftest_spec(13), &st)));
  EXPECT_FALSE(st.from_disk_cache);
  EXPECT_FALSE(fs::exists(dir_));
}

TEST_F(JitCache, DirectoryComesFromTheEnvironment) {
  EXPECT_EQ(cache_dir(), dir_);
  ScopedEnv no_dir("FA3JIT_CACHE_DIR", nullptr);
  {
    ScopedEnv xdg("XDG_CACHE_HOME", "/some/xdg");
    EXPECT_EQ(cache_dir(), "/some/xdg/fa3jit");
  }
  ScopedEnv no_xdg("XDG_CACHE_HOME", nullptr);
  ScopedEnv home("HOME", "/some/home");
  EXPECT_EQ(cache_dir(), "/some/home/.cache/fa3jit");
}

TEST(JitTempFiles, OnlyOurTempFileNamesMatch) {
  char tmpl[] = "/tmp/fa3jit_test_tmpname_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string hex(64, 'a');
  std::string made = temp_file_template(std::string(tmpl) + "/" + hex + ".cubin");
  const int fd = mkstemp(made.data());  // as the cache's writer makes them
  ASSERT_GE(fd, 0) << made;
  close(fd);
  EXPECT_TRUE(is_cache_temp_file_name(fs::path(made).filename().string())) << made;
  EXPECT_TRUE(is_cache_temp_file_name(hex + ".cubin.tmp.Ab12Z9"));
  for (const std::string& name :
       {hex + ".cubin", hex + ".lock", hex + ".cubin.tmp.Ab12Z", hex + ".cubin.tmp.Ab12Z9x", hex + ".cubin.tmp.Ab-2Z9",
        std::string(63, 'a') + ".cubin.tmp.Ab12Z9", std::string(64, 'A') + ".cubin.tmp.Ab12Z9",
        std::string(64, 'g') + ".cubin.tmp.Ab12Z9", hex + ".cubln.tmp.Ab12Z9", hex + ".cubin.tmX.Ab12Z9",
        std::string("notes.tmp.Ab12Z9")})
    EXPECT_FALSE(is_cache_temp_file_name(name)) << name;
  std::error_code ec;
  fs::remove_all(tmpl, ec);
}

TEST_F(JitCache, StaleTempFilesGoOnFirstUseOfTheDirectory) {
  using std::chrono::minutes;
  ASSERT_TRUE(fs::create_directories(dir_));
  const std::string a = dir_ + "/" + std::string(64, 'a'), b = dir_ + "/" + std::string(64, 'b');
  const std::string stale = a + ".cubin.tmp.Old123", young = a + ".cubin.tmp.Nine99", fresh = b + ".cubin.tmp.New456";
  const std::string entry = a + ".cubin", lock = a + ".lock", foreign = dir_ + "/notes.tmp.Old123";
  const std::string temp_named_dir = b + ".cubin.tmp.Dir789";
  write_file_aged(stale, kStaleTempFileAge + minutes(1));
  write_file_aged(young, kStaleTempFileAge - minutes(1));
  write_file_aged(fresh, minutes(0));
  for (const std::string& old : {entry, lock, foreign}) write_file_aged(old, minutes(60));
  fs::create_directory(temp_named_dir);

  const KernelSpec s = selftest_spec(14);
  get_cubin(s);
  EXPECT_FALSE(fs::exists(stale));
  for (const std::string& kept : {young, fresh, entry, lock, foreign, temp_named_dir, entry_path(s)})
    EXPECT_TRUE(fs::exists(kept)) << kept;

  // Only the first use in a process looks: one left later stays until the
  // next process (or an explicit sweep).
  const std::string later = b + ".cubin.tmp.Later1";
  write_file_aged(later, minutes(60));
  forget_compiled_kernels_for_testing();
  get_cubin(selftest_spec(15));
  EXPECT_TRUE(fs::exists(later));
  EXPECT_EQ(remove_stale_temp_files(dir_, kStaleTempFileAge), 1);
  EXPECT_FALSE(fs::exists(later));
  EXPECT_TRUE(fs::exists(young));
}

// ----------------------------------------------------------------- warmup

std::vector<KernelSpec> two_specs_for_tests(const WarmupFilter& f) {
  return {selftest_spec(20, f.arch), selftest_spec(21, f.arch)};
}

TEST(JitWarmup, ListsTheSelftestAndRegisteredFamilies) {
  WarmupFilter f;
  f.arch = 90;
  std::vector<WarmupItem> items = warmup_specs(f);
  ASSERT_GE(items.size(), 2u);
  EXPECT_EQ(items[0].family, "selftest");
  EXPECT_EQ(items[0].spec.arch, 90);
  EXPECT_TRUE(items[1].spec.arch_specific);  // sm_90 also warms the sm_90a build
  add_warmup_source("zz_jit_test_family", &two_specs_for_tests);
  f.arch = 86;
  items = warmup_specs(f);
  int from_test = 0;
  for (const WarmupItem& it : items) {
    if (it.family != "zz_jit_test_family") continue;
    ++from_test;
    EXPECT_EQ(it.spec.arch, 86);
  }
  EXPECT_EQ(from_test, 2);
}

// The `fa3jit` command: $FA3JIT_FA3JIT_BIN (set by ctest), else the one
// built beside this test binary.
std::string fa3jit_command() {
  if (const char* bin = std::getenv("FA3JIT_FA3JIT_BIN")) return bin;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : (self.parent_path() / "fa3jit").string();
}

std::pair<int, std::string> run_command(const std::string& command) {
  std::string out;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return {-1, out};
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

int count_substr(const std::string& s, const std::string& part) {
  int n = 0;
  for (size_t at = s.find(part); at != std::string::npos; at = s.find(part, at + 1)) ++n;
  return n;
}

TEST_F(JitCache, WarmupCommandCompilesThenFindsTheCache) {
  const std::string bin = fa3jit_command();
  if (bin.empty() || !fs::exists(bin)) GTEST_SKIP() << "the fa3jit command is not built";
  const std::string cmd =
      "FA3JIT_CACHE_DIR='" + dir_ + "' '" + bin + "' warmup --arch 80 --d 64 --dtype bf16 --non-causal";
  const auto [rc1, out1] = run_command(cmd);
  EXPECT_EQ(rc1, 0) << out1;
  EXPECT_NE(out1.find("compiled"), std::string::npos) << out1;
  EXPECT_NE(out1.find("fa3jit_selftest_add<1>"), std::string::npos) << out1;
  const auto [rc2, out2] = run_command(cmd);
  EXPECT_EQ(rc2, 0) << out2;
  EXPECT_EQ(count_substr(out2, "] compiled"), 0) << out2;
  EXPECT_EQ(count_substr(out2, "] cached"), count_substr(out1, "] compiled")) << out2;
  const auto [rc3, out3] = run_command("'" + bin + "' warmup --all-common --d 64");
  EXPECT_EQ(rc3, 2) << out3;
  EXPECT_NE(out3.find("--all-common"), std::string::npos) << out3;
}

// -------------------------------------------------------------------- GPU

// The first device, or a reason to skip.
std::optional<std::string> no_gpu_reason() {
  const cuda::Driver* d = cuda::driver();
  if (!d) return "no CUDA driver: " + cuda::driver_unavailable_reason();
  int n = 0;
  if (d->cuDeviceGetCount(&n) != CUDA_SUCCESS || n == 0) return std::string("no CUDA device");
  return std::nullopt;
}

int device_arch(int index) {
  const cuda::Driver& d = cuda::require_driver();
  CUdevice dev;
  FA3JIT_CU(d.cuDeviceGet(&dev, index));
  int major = 0, minor = 0;
  FA3JIT_CU(d.cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev));
  FA3JIT_CU(d.cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev));
  return major * 10 + minor;
}

TEST_F(JitCache, GpuLoadsAndLaunchesTheSelftest) {
  if (auto why = no_gpu_reason()) GTEST_SKIP() << *why;
  const cuda::Driver& d = cuda::require_driver();
  const KernelSpec s = selftest_spec(3, device_arch(0));
  CompileStats first, second;
  const Kernel& k = get_kernel(s, 0, &first);
  const Kernel& k2 = get_kernel(s, 0, &second);
  EXPECT_EQ(&k, &k2);
  EXPECT_TRUE(second.from_memory);
  std::printf("[ timing ] selftest get_kernel: first %.4f s, second %.6f s\n", first.seconds, second.seconds);
  EXPECT_GT(k.num_regs, 0);
  EXPECT_EQ(k.local_bytes, 0);

  int n = 1000;
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) x[i] = 0.5f * i;
  CUdeviceptr dx = 0;
  FA3JIT_CU(d.cuMemAlloc(&dx, n * sizeof(float)));
  FA3JIT_CU(d.cuMemcpyHtoD(dx, x.data(), n * sizeof(float)));
  LaunchConfig cfg;
  cfg.grid[0] = unsigned((n + 127) / 128);
  cfg.block[0] = 128;
  void* args[] = {&dx, &n};
  launch(k, cfg, args);
  cfg.dynamic_smem = 64 * 1024;  // above the 48 KiB default: the limit is raised
  launch(k, cfg, args);
  FA3JIT_CU(d.cuCtxSynchronize());
  std::vector<float> y(n);
  FA3JIT_CU(d.cuMemcpyDtoH(y.data(), dx, n * sizeof(float)));
  FA3JIT_CU(d.cuMemFree(dx));
  // Each launch adds N + (keys row i sees under a causal n x n mask) = 3 + i + 1.
  for (int i = 0; i < n; ++i) ASSERT_EQ(y[i], 0.5f * i + 2 * (3 + i + 1)) << "element " << i;
}

TEST_F(JitCache, GpuRejectsACubinOfAnotherArch) {
  if (auto why = no_gpu_reason()) GTEST_SKIP() << *why;
  const int arch = device_arch(0);
  const KernelSpec s = selftest_spec(3, arch / 10 == 9 ? 80 : 90, arch / 10 != 9);
  try {
    get_kernel(s, 0);
    FAIL() << "an sm_" << s.arch << " cubin was accepted on an sm_" << arch << " device";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidValue);
    EXPECT_NE(std::string(e.what()).find("KernelSpec.arch"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace fa3jit::jit
