#include "jit/cccl_version.h"

#include <fstream>
#include <iterator>
#include <optional>

#include "jit/nvrtc_compiler.h"

namespace fa3jit::jit {
namespace {

// Newest layout first; CCCL releases libcu++ and CUB together, so either
// header changes with every CCCL version.
constexpr const char* kVersionHeaders[] = {"cuda/std/__cccl/version.h", "cub/version.cuh"};

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) return std::nullopt;
  return text;
}

}  // namespace

Digest cccl_version_digest(const std::string& include_dir) {
  Sha256 h;
  if (!include_dir.empty()) {
    for (const char* header : kVersionHeaders) {
      if (std::optional<std::string> text = read_text(include_dir + "/" + header)) {
        h.field(header);
        h.field(*text);
        return h.finish();
      }
    }
  }
  h.field("no-cccl");
  return h.finish();
}

const Digest& cccl_version_digest_of_process() {
  static const Digest d = cccl_version_digest(cccl_include_dir());
  return d;
}

}  // namespace fa3jit::jit
