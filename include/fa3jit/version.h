#pragma once
#define FA3JIT_VERSION_STRING "0.1.0"
namespace fa3jit {
inline constexpr const char* kVersion = FA3JIT_VERSION_STRING;
}
