#include "jit/stale_temp_files.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <mutex>
#include <set>

#include "jit/trace.h"

namespace fa3jit::jit {
namespace {

constexpr std::string_view kEntrySuffix = ".cubin";
constexpr std::string_view kTempMarker = ".tmp.";
constexpr size_t kHexLength = 64;     // SHA-256 in hex
constexpr size_t kRandomLength = 6;   // mkstemp's XXXXXX

bool every_char(std::string_view s, bool (*pred)(char)) {
  for (char c : s)
    if (!pred(c)) return false;
  return true;
}
bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool is_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Seconds since `path` was last modified; -1 for anything but a regular
// file (lstat: a link is never followed) or a file that is gone.
double regular_file_age_seconds(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return -1;
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return double(now.tv_sec - st.st_mtim.tv_sec) + 1e-9 * double(now.tv_nsec - st.st_mtim.tv_nsec);
}

}  // namespace

std::string temp_file_template(const std::string& entry_path) {
  return entry_path + std::string(kTempMarker) + std::string(kRandomLength, 'X');
}

bool is_cache_temp_file_name(std::string_view name) {
  const size_t size = kHexLength + kEntrySuffix.size() + kTempMarker.size() + kRandomLength;
  if (name.size() != size) return false;
  const std::string_view hex = name.substr(0, kHexLength);
  name.remove_prefix(kHexLength);
  if (!name.starts_with(kEntrySuffix)) return false;
  name.remove_prefix(kEntrySuffix.size());
  if (!name.starts_with(kTempMarker)) return false;
  name.remove_prefix(kTempMarker.size());
  return every_char(hex, is_lower_hex) && every_char(name, is_alnum);
}

int remove_stale_temp_files(const std::string& dir, std::chrono::seconds max_age) {
  DIR* d = opendir(dir.c_str());
  if (!d) return 0;
  int removed = 0;
  while (const dirent* e = readdir(d)) {
    if (!is_cache_temp_file_name(e->d_name)) continue;
    const std::string path = dir + "/" + e->d_name;
    if (regular_file_age_seconds(path) <= double(max_age.count())) continue;
    if (unlink(path.c_str()) == 0) {
      ++removed;
      trace("disk-stale-temp-removed " + path);
    }
  }
  closedir(d);
  return removed;
}

void remove_stale_temp_files_once(const std::string& dir) {
  static std::mutex mu;
  static std::set<std::string> swept;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!swept.insert(dir).second) return;
  }
  remove_stale_temp_files(dir, kStaleTempFileAge);
}

}  // namespace fa3jit::jit
