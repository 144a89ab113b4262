// fa3jit::Error: every failure the library reports. The message names the
// argument and the rule it broke; `kind` picks the Python exception type.
#pragma once
#include <stdexcept>
#include <string>

namespace fa3jit {

enum class ErrorKind {
  InvalidValue,   // bad value or shape (Python: ValueError)
  InvalidType,    // bad dtype (Python: TypeError)
  NotSupported,   // valid input this build cannot run yet (NotImplementedError)
  Runtime,        // CUDA / NVRTC / system failure (RuntimeError)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace fa3jit
