// The append + rotary step: new k / v into the caches (rotary on k), q
// rotated into a copy, and the key lengths cache_seqlens + new tokens.
#pragma once
#include <cuda.h>

#include "../../kernels/kvcache/append.cuh"
#include "fa3jit/device.h"
#include "jit/jit.h"
#include "jit/warmup.h"
#include "kvcache/kvcache_layout.h"

namespace fa3jit::detail {

// The step's parameters; q_rot (contiguous (total_q, h, d) in q's dtype) and
// seqused_k (int32 (b)) may be null when not wanted.
fa3jit_k::AppendParams make_append_params(const KvcacheArgs& args, const KvcacheLayout& L, void* q_rot, int* seqused_k);

// Plain loops over host memory (CPU tensors).
void append_on_cpu(const fa3jit_k::AppendParams& p);

// The JIT spec of the append kernel for q's dtype, and the specs
// `fa3jit warmup` precompiles (bf16 and fp16 unless the filter names dtypes).
jit::KernelSpec append_spec(DType dtype, int arch);
std::vector<jit::KernelSpec> kvcache_warmup_family(const jit::WarmupFilter& filter);

// The JIT kernel for q's dtype on `dev` (compiled or loaded now, so that a
// compile error comes before anything is written).
const jit::Kernel& append_kernel(DType dtype, const DeviceInfo& dev);
// Launches it on `stream`; no host synchronization.
void append_on_gpu(const jit::Kernel& kernel, const fa3jit_k::AppendParams& p, CUstream stream);

}  // namespace fa3jit::detail
