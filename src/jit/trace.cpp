#include "jit/trace.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace fa3jit::jit {

bool trace_enabled() {
  const char* v = std::getenv("FA3JIT_JIT_TRACE");
  return v && *v && std::string(v) != "0";
}

void trace(const std::string& line) {
  if (!trace_enabled()) return;
  const std::string target = std::getenv("FA3JIT_JIT_TRACE");
  const std::string text = "fa3jit jit [pid " + std::to_string(getpid()) + "] " + line + "\n";
  if (target == "1") {
    std::fputs(text.c_str(), stderr);
    return;
  }
  const int fd = open(target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;  // tracing must never break a compile
  const ssize_t n = write(fd, text.data(), text.size());
  (void)n;
  close(fd);
}

void warn_once_cache_unusable(const std::string& message) {
  static std::once_flag once;
  std::call_once(once, [&] { std::fprintf(stderr, "fa3jit: warning: %s\n", message.c_str()); });
}

}  // namespace fa3jit::jit
