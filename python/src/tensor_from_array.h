// Any array that speaks DLPack or the buffer protocol (torch, cupy, jax,
// numpy, ...) as a non-owning fa3jit::Tensor.
#pragma once
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <string>

#include "fa3jit/tensor.h"

namespace fa3jit::python {

// How raw integer storage is reinterpreted: frameworks whose DLPack export
// has no bfloat16 / float8 code (numpy with ml_dtypes, older torch) pass
// those tensors as uint16 / uint8 views and say so here.
struct StorageOverride {
  bool uint16_is_bf16 = false;
  bool uint8_is_fp8 = false;
};

// Holds the imported array alive for as long as the Tensor is used.
struct ImportedTensor {
  nanobind::ndarray<nanobind::ro> input;  // set for inputs
  nanobind::ndarray<> output;             // set for outputs
  Tensor tensor;  // none when the argument was None
};

// `name` is the argument's name, used in every error. Inputs are imported
// read-only; outputs (`writable`) must be writable. Never copies: an array
// that cannot be viewed as it is raises TypeError.
ImportedTensor import_tensor(const nanobind::handle& obj, const char* name, bool writable,
                             const StorageOverride& storage);

}  // namespace fa3jit::python
