// The on-disk cache of compiled kernels: one file per key,
//   <cache_dir>/<sha256 hex>.cubin   header + payload (see entry format in .cpp)
//   <cache_dir>/<sha256 hex>.lock    flock()ed while one process compiles
// Files are written to a temp file in the same directory and renamed (temp
// files a killed writer left are removed, see stale_temp_files.h), and
// checked when read; a bad entry is never loaded, it is recompiled and
// replaced.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "jit/compiled_kernel.h"
#include "jit/sha256.h"

namespace fa3jit::jit {

struct CacheKey {
  Digest digest;
  std::string hex;
};

// FA3JIT_CACHE_DISABLE set (and not "0"): the disk is never touched.
bool disk_cache_disabled();

// The entry file of `key` in the current cache_dir().
std::string cache_entry_path(const CacheKey& key);

// The bytes of a cache file and back. decode_entry returns nullopt and says
// why (truncated, bad magic, other key, checksum mismatch) for a bad entry.
std::vector<char> encode_entry(const CacheKey& key, const CompiledKernel& k);
std::optional<CompiledKernel> decode_entry(const std::vector<char>& bytes, const CacheKey& key, std::string* why);

// The compiled kernel of `key`: a valid cache entry when there is one, else
// compile() (once across processes, under the key's lock) and stored. A
// cache dir that cannot be used warns once and compiles in memory.
// `from_disk` says which happened.
CompiledKernel load_or_compile(const CacheKey& key, const std::function<CompiledKernel()>& compile, bool* from_disk);

}  // namespace fa3jit::jit
