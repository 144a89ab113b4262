#include "jit/include_rewrite.h"

#include <vector>

namespace fa3jit::jit {

std::string normalize_kernel_path(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    const std::string_view part = path.substr(pos, slash - pos);
    if (part == "..") {
      if (parts.empty()) return "";
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    pos = slash + 1;
  }
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += '/';
    out += parts[i];
  }
  return out;
}

namespace {

// The span of x in a line `  #  include "x"  ...`, or npos.
std::pair<size_t, size_t> quoted_include_target(std::string_view line) {
  size_t i = line.find_first_not_of(" \t");
  if (i == std::string_view::npos || line[i] != '#') return {std::string_view::npos, 0};
  i = line.find_first_not_of(" \t", i + 1);
  if (i == std::string_view::npos || line.substr(i, 7) != "include") return {std::string_view::npos, 0};
  i = line.find_first_not_of(" \t", i + 7);
  if (i == std::string_view::npos || line[i] != '"') return {std::string_view::npos, 0};
  const size_t end = line.find('"', i + 1);
  if (end == std::string_view::npos) return {std::string_view::npos, 0};
  return {i + 1, end - i - 1};
}

}  // namespace

std::string resolve_relative_includes(std::string_view text, std::string_view file_path,
                                      const std::function<bool(const std::string&)>& exists) {
  const size_t last_slash = file_path.rfind('/');
  const std::string dir =
      last_slash == std::string_view::npos ? std::string() : std::string(file_path.substr(0, last_slash + 1));
  std::string out;
  out.reserve(text.size() + 64);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const std::string_view line = text.substr(pos, eol - pos);
    const auto [start, len] = quoted_include_target(line);
    std::string resolved;
    if (start != std::string_view::npos) {
      const std::string_view target = line.substr(start, len);
      const std::string beside = normalize_kernel_path(dir + std::string(target));
      const std::string from_root = normalize_kernel_path(target);
      if (!beside.empty() && exists(beside))
        resolved = beside;
      else if (!from_root.empty() && exists(from_root))
        resolved = from_root;
    }
    if (!resolved.empty()) {
      out.append(line.substr(0, start));
      out.append(resolved);
      out.append(line.substr(start + len));
    } else {
      out.append(line);
    }
    if (eol < text.size()) out += '\n';
    pos = eol + 1;
  }
  return out;
}

}  // namespace fa3jit::jit
