// The values of the sequence metadata: cu_seqlens start at 0 and do not
// decrease or run past the packed rows, seqused stays within each sequence,
// lengths respect max_seqlen_q / max_seqlen_k, page ids are in the pool.
// Resolves the max_seqlen_q / max_seqlen_k that AttnParams carries.
#pragma once
#include "fa3jit/args.h"
#include "validate/layout.h"
#include "validate/metadata_read.h"

namespace fa3jit::detail {

struct SeqLimits {
  // As seqinfo.cuh reads them: the fixed length for 4-D q / k and for paged
  // k with neither cu_seqlens_k nor seqused_k, else an upper bound.
  int max_seqlen_q = 0;
  int max_seqlen_k = 0;
};

SeqLimits check_sequences(const VarlenArgs& args, const Layout& layout, const HostMetadata& meta);

}  // namespace fa3jit::detail
