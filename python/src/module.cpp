// fa3jit._fa3jit: the C++ library seen from Python. The public Python API
// (keyword defaults, output allocation in the caller's framework, torch
// custom op) lives in python/fa3jit/*.py; this module stays thin.
#include <nanobind/nanobind.h>

#include "bindings.h"
#include "fa3jit/version.h"

NB_MODULE(_fa3jit, m) {
  m.doc() = "fa3jit C++ bindings (use the fa3jit package, not this module)";
  m.attr("__version__") = fa3jit::kVersion;
  fa3jit::python::bind_errors(m);
  fa3jit::python::bind_devices(m);
  fa3jit::python::bind_varlen(m);
  fa3jit::python::bind_kvcache(m);
}
