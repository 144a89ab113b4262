// What the entry points' bindings (varlen.cpp, kvcache.cpp) share: importing
// their array arguments under one storage override, the path's name, and the
// check that the library allocated no output of its own.
#pragma once
#include <nanobind/nanobind.h>

#include <cstdint>
#include <string>

#include "fa3jit/args.h"
#include "tensor_from_array.h"

namespace fa3jit::python {

// import_tensor with the call's storage override bound.
class ArgImporter {
 public:
  explicit ArgImporter(StorageOverride storage) : storage_(storage) {}
  ImportedTensor input(nanobind::handle h, const char* name) const {
    return import_tensor(h, name, false, storage_);
  }
  ImportedTensor output(nanobind::handle h, const char* name) const {
    return import_tensor(h, name, true, storage_);
  }
  ImportedTensor import(nanobind::handle h, const char* name, bool writable) const {
    return import_tensor(h, name, writable, storage_);
  }

 private:
  StorageOverride storage_;
};

// "auto" / "cpu" / "sm80" / "sm90"; anything else raises InvalidValue.
KernelPath kernel_path_from_name(const std::string& name);

// The Python layer allocates every output; storage owned by the result
// would be freed on return, so its appearance is a bug, said loudly.
void require_outputs_given(const VarlenResult& r);

// entry(args, stream) (flash_attn_varlen or flash_attn_with_kvcache) with the
// GIL released while the library works, then require_outputs_given.
template <class Args>
void call_without_gil(VarlenResult (*entry)(const Args&, void*), const Args& args,
                      uintptr_t stream) {
  VarlenResult r;
  {
    nanobind::gil_scoped_release no_gil;
    r = entry(args, reinterpret_cast<void*>(stream));
  }
  require_outputs_given(r);
}

}  // namespace fa3jit::python
