// Optional trace of what the JIT does (compiles, cache hits, repairs), for
// debugging deployments and for the tests that count compiles across
// processes. FA3JIT_JIT_TRACE=1 writes to stderr; any other non-empty value
// is a file that each event is appended to (one line, O_APPEND, so lines
// from several processes do not interleave).
#pragma once
#include <string>

namespace fa3jit::jit {

bool trace_enabled();
void trace(const std::string& line);

// Prints `message` to stderr the first time it is called in this process
// (a cache dir that cannot be used warns once, not per kernel).
void warn_once_cache_unusable(const std::string& message);

}  // namespace fa3jit::jit
