#include "jit/disk_cache.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "jit/jit.h"
#include "jit/stale_temp_files.h"
#include "jit/trace.h"

namespace fa3jit::jit {
namespace {

// Entry format (little-endian):
//   0  char[8]  magic "FA3JITKC"
//   8  u32      format version
//  12  u32      lowered-name length (n)
//  16  u64      cubin length (c)
//  24  u8[32]   key (SHA-256 of the compile inputs)
//  56  u8[32]   SHA-256 of the payload
//  88  payload: lowered name (n bytes), cubin (c bytes)
constexpr char kMagic[8] = {'F', 'A', '3', 'J', 'I', 'T', 'K', 'C'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kHeaderSize = 88;

void put_le(std::vector<char>& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(char(uint8_t(v >> (8 * i))));
}

uint64_t get_le(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t(uint8_t(p[i])) << (8 * i);
  return v;
}

Digest payload_digest(const CompiledKernel& k) {
  Sha256 h;
  h.update(k.lowered_name);
  h.update(k.cubin.data(), k.cubin.size());
  return h.finish();
}

std::optional<std::vector<char>> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) return std::nullopt;
  return bytes;
}

std::optional<CompiledKernel> read_entry(const std::string& path, const CacheKey& key) {
  std::optional<std::vector<char>> bytes = read_file(path);
  if (!bytes) return std::nullopt;
  std::string why;
  std::optional<CompiledKernel> k = decode_entry(*bytes, key, &why);
  if (!k) trace("disk-bad " + key.hex + " (" + why + "), recompiling");
  return k;
}

std::string errno_text() { return std::strerror(errno); }

// Writes `bytes` to `path` through a temp file in the same directory and a
// rename, so readers see either the old file or the whole new one.
bool write_atomically(const std::string& dir, const std::string& path, const std::vector<char>& bytes,
                      std::string* why) {
  std::string tmp = temp_file_template(path);
  const int fd = mkstemp(tmp.data());
  if (fd < 0) {
    *why = "cannot create a file in " + dir + ": " + errno_text();
    return false;
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *why = "cannot write " + tmp + ": " + errno_text();
      close(fd);
      unlink(tmp.c_str());
      return false;
    }
    done += size_t(n);
  }
  fchmod(fd, 0644);  // mkstemp makes 0600; let other users of a shared cache read it
  if (close(fd) != 0 || rename(tmp.c_str(), path.c_str()) != 0) {
    *why = "cannot store " + path + ": " + errno_text();
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

// The key's lock file, flock()ed exclusively; released on destruction.
class KeyLock {
 public:
  explicit KeyLock(const std::string& path) {
    fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      why_ = "cannot create the lock file " + path + ": " + errno_text();
      return;
    }
    while (flock(fd_, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      why_ = "cannot lock " + path + ": " + errno_text();
      close(fd_);
      fd_ = -1;
      return;
    }
  }
  ~KeyLock() {
    if (fd_ >= 0) close(fd_);  // closing drops the flock
  }
  KeyLock(const KeyLock&) = delete;
  KeyLock& operator=(const KeyLock&) = delete;
  bool locked() const { return fd_ >= 0; }
  const std::string& why() const { return why_; }

 private:
  int fd_ = -1;
  std::string why_;
};

void warn_unusable(const std::string& dir, const std::string& why) {
  warn_once_cache_unusable("the kernel cache " + (dir.empty() ? std::string("directory") : "\"" + dir + "\"") +
                           " cannot be used (" + why +
                           "); kernels are compiled in memory for this process. Set FA3JIT_CACHE_DIR to a "
                           "writable directory, or FA3JIT_CACHE_DISABLE=1 to silence this.");
}

std::string home_dir() {
  if (const char* h = std::getenv("HOME"); h && *h) return h;
  if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_dir) return pw->pw_dir;
  return "";
}

}  // namespace

std::string cache_dir() {
  if (const char* d = std::getenv("FA3JIT_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/fa3jit";
  const std::string home = home_dir();
  return home.empty() ? std::string() : home + "/.cache/fa3jit";
}

CacheUsage cache_usage() {
  CacheUsage u;
  const std::string dir = cache_dir();
  std::error_code ec;
  if (dir.empty() || !std::filesystem::is_directory(dir, ec)) return u;
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    std::error_code fec;
    if (!it->is_regular_file(fec)) continue;
    const uint64_t size = it->file_size(fec);
    if (fec) continue;
    u.bytes += size;
    if (it->path().extension() == ".cubin") ++u.entries;
  }
  return u;
}

bool disk_cache_disabled() {
  const char* v = std::getenv("FA3JIT_CACHE_DISABLE");
  return v && *v && std::string(v) != "0";
}

std::string cache_entry_path(const CacheKey& key) { return cache_dir() + "/" + key.hex + ".cubin"; }

std::vector<char> encode_entry(const CacheKey& key, const CompiledKernel& k) {
  std::vector<char> out(kMagic, kMagic + 8);
  out.reserve(kHeaderSize + k.lowered_name.size() + k.cubin.size());
  put_le(out, kFormatVersion, 4);
  put_le(out, k.lowered_name.size(), 4);
  put_le(out, k.cubin.size(), 8);
  out.insert(out.end(), key.digest.begin(), key.digest.end());
  const Digest sum = payload_digest(k);
  out.insert(out.end(), sum.begin(), sum.end());
  out.insert(out.end(), k.lowered_name.begin(), k.lowered_name.end());
  out.insert(out.end(), k.cubin.begin(), k.cubin.end());
  return out;
}

std::optional<CompiledKernel> decode_entry(const std::vector<char>& bytes, const CacheKey& key, std::string* why) {
  if (bytes.size() < kHeaderSize) {
    *why = "truncated header: " + std::to_string(bytes.size()) + " bytes";
    return std::nullopt;
  }
  if (std::memcmp(bytes.data(), kMagic, 8) != 0) {
    *why = "not an fa3jit cache entry (bad magic)";
    return std::nullopt;
  }
  if (get_le(bytes.data() + 8, 4) != kFormatVersion) {
    *why = "entry format " + std::to_string(get_le(bytes.data() + 8, 4)) + ", expected " +
           std::to_string(kFormatVersion);
    return std::nullopt;
  }
  const uint64_t name_len = get_le(bytes.data() + 12, 4);
  const uint64_t cubin_len = get_le(bytes.data() + 16, 8);
  if (cubin_len > bytes.size() || kHeaderSize + name_len + cubin_len != bytes.size()) {
    *why = "size " + std::to_string(bytes.size()) + " does not match the header's " +
           std::to_string(kHeaderSize) + " + " + std::to_string(name_len) + " + " + std::to_string(cubin_len);
    return std::nullopt;
  }
  if (std::memcmp(bytes.data() + 24, key.digest.data(), 32) != 0) {
    *why = "the entry belongs to another key";
    return std::nullopt;
  }
  CompiledKernel k;
  const char* payload = bytes.data() + kHeaderSize;
  k.lowered_name.assign(payload, name_len);
  k.cubin.assign(payload + name_len, payload + name_len + cubin_len);
  const Digest sum = payload_digest(k);
  if (std::memcmp(bytes.data() + 56, sum.data(), 32) != 0) {
    *why = "payload checksum mismatch";
    return std::nullopt;
  }
  if (k.lowered_name.empty() || k.cubin.empty()) {
    *why = "empty kernel name or cubin";
    return std::nullopt;
  }
  return k;
}

CompiledKernel load_or_compile(const CacheKey& key, const std::function<CompiledKernel()>& compile, bool* from_disk) {
  *from_disk = false;
  if (disk_cache_disabled()) return compile();
  const std::string dir = cache_dir();
  if (dir.empty()) {
    warn_unusable(dir, "no FA3JIT_CACHE_DIR, XDG_CACHE_HOME or home directory");
    return compile();
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir, ec)) {
    warn_unusable(dir, ec ? ec.message() : "not a directory");
    return compile();
  }
  remove_stale_temp_files_once(dir);  // left by writers killed mid-write
  const std::string path = cache_entry_path(key);
  if (std::optional<CompiledKernel> k = read_entry(path, key)) {
    trace("disk-hit " + key.hex);
    *from_disk = true;
    return std::move(*k);
  }
  KeyLock lock(dir + "/" + key.hex + ".lock");
  if (!lock.locked()) {
    warn_unusable(dir, lock.why());
    return compile();
  }
  // Another process may have compiled it while we waited for the lock.
  if (std::optional<CompiledKernel> k = read_entry(path, key)) {
    trace("disk-hit-after-lock " + key.hex);
    *from_disk = true;
    return std::move(*k);
  }
  CompiledKernel k = compile();
  std::string why;
  if (write_atomically(dir, path, encode_entry(key, k), &why))
    trace("disk-store " + key.hex);
  else
    warn_unusable(dir, why);
  return k;
}

}  // namespace fa3jit::jit
