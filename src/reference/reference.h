// The float64 reference: plain loops over the user-level semantics of
// VarlenArgs (every feature), independent of the kernels' shared code, so
// that it can judge them. Host tensors only.
#pragma once
#include <cstdint>
#include <vector>

#include "fa3jit/args.h"

namespace fa3jit::reference {

enum class Precision {
  Float64,  // the oracle: everything in double
  Plain,    // a non-flash computation in the input precision: float32
            // scores and softmax, P rounded to the input dtype (bf16/fp16;
            // fp8 rounds P to bf16), out rounded to the output dtype. Its
            // error vs Float64 sets the test tolerance.
  PlainP8,  // Plain, but fp8 inputs round P to e4m3 (scaled by 2^8 into
            // e4m3's range, then back), as the sm90 fp8 kernels' P V does
};

struct Result {
  // (total_q, h, dv) or (b, s_q, h, dv), contiguous, in the shape of out.
  std::vector<double> out;
  // (h, total_q) or (b, h, s_q), contiguous: natural-log LSE, -inf for rows
  // with no key (the sink's logit when sinks are given).
  std::vector<double> lse;
  // 1 where the row is real (r < seqused_q), 0 for padding rows that the
  // kernels must leave untouched; indexed like out without the last dim
  // (one flag per (row, head)).
  std::vector<uint8_t> row_real;
};

// Requires valid arguments (run validate first); host memory only.
Result attention(const VarlenArgs& args, Precision precision = Precision::Float64);

}  // namespace fa3jit::reference
