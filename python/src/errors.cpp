// fa3jit::Error reaches Python as the exception its kind names, with the
// message unchanged (it already names the argument and the rule).
#include <Python.h>

#include <exception>

#include "bindings.h"
#include "fa3jit/error.h"

namespace fa3jit::python {

namespace {

PyObject* exception_type(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidValue: return PyExc_ValueError;
    case ErrorKind::InvalidType: return PyExc_TypeError;
    case ErrorKind::NotSupported: return PyExc_NotImplementedError;
    case ErrorKind::Runtime: return PyExc_RuntimeError;
  }
  return PyExc_RuntimeError;
}

}  // namespace

void bind_errors(nanobind::module_& m) {
  nanobind::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const Error& e) {
      PyErr_SetString(exception_type(e.kind()), e.what());
    }
  });
  nanobind::enum_<ErrorKind>(m, "ErrorKind")
      .value("InvalidValue", ErrorKind::InvalidValue)
      .value("InvalidType", ErrorKind::InvalidType)
      .value("NotSupported", ErrorKind::NotSupported)
      .value("Runtime", ErrorKind::Runtime);
  // Lets the tests raise each kind through the translator.
  m.def("_raise_error", [](ErrorKind kind, const char* message) { throw Error(kind, message); },
        nanobind::arg("kind"), nanobind::arg("message"));
}

}  // namespace fa3jit::python
