// The parts of the fa3jit._fa3jit module, one registration function each.
#pragma once
#include <nanobind/nanobind.h>

namespace fa3jit::python {

void bind_errors(nanobind::module_& m);   // fa3jit::Error -> ValueError / TypeError / ...
void bind_devices(nanobind::module_& m);  // DeviceInfo, query_devices, the capability gate
void bind_varlen(nanobind::module_& m);   // flash_attn_varlen
void bind_kvcache(nanobind::module_& m);  // flash_attn_with_kvcache

}  // namespace fa3jit::python
