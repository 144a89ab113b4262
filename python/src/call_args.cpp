#include "call_args.h"

#include "fa3jit/error.h"

namespace fa3jit::python {

KernelPath kernel_path_from_name(const std::string& s) {
  if (s == "auto") return KernelPath::Auto;
  if (s == "cpu") return KernelPath::Cpu;
  if (s == "sm80") return KernelPath::Sm80;
  if (s == "sm90") return KernelPath::Sm90;
  throw Error(ErrorKind::InvalidValue,
              "path must be 'auto', 'cpu', 'sm80' or 'sm90'; got '" + s + "'");
}

void require_outputs_given(const VarlenResult& r) {
  if (r.out_storage || r.lse_storage)
    throw Error(ErrorKind::Runtime,
                "internal: fa3jit allocated an output the Python layer should have given");
}

}  // namespace fa3jit::python
