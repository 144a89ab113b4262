// Temp files of the disk cache: the name an entry is written under before
// its rename, and the removal of the ones a killed writer left behind.
#pragma once
#include <chrono>
#include <string>
#include <string_view>

namespace fa3jit::jit {

// A live writer renames its temp file within seconds; one older than this
// was left by a process that died while writing.
inline constexpr std::chrono::minutes kStaleTempFileAge{10};

// The mkstemp() template of the temp file for the entry file `entry_path`
// ("<dir>/<64 hex>.cubin"): "<entry_path>.tmp.XXXXXX".
std::string temp_file_template(const std::string& entry_path);

// Whether `file_name` (no directory) is one of our temp files:
// "<64 lowercase hex>.cubin.tmp.<6 of [A-Za-z0-9]>".
bool is_cache_temp_file_name(std::string_view file_name);

// Removes the temp files of ours in `dir` last modified more than `max_age`
// ago and returns how many went. Anything else in `dir` is left alone;
// failures (a file already gone, no permission) are ignored.
int remove_stale_temp_files(const std::string& dir, std::chrono::seconds max_age);

// remove_stale_temp_files(dir, kStaleTempFileAge), the first time `dir` is
// used in this process only.
void remove_stale_temp_files_once(const std::string& dir);

}  // namespace fa3jit::jit
