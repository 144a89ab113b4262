#include "dispatch/heuristics.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "fa3jit/error.h"

namespace fa3jit::detail {

int split_min_blocks_from(const char* text) {
  if (!text || !*text) return 1;
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (*end != '\0' || v < 1 || v > (1 << 20))
    throw Error(ErrorKind::InvalidValue,
                std::string("FA3JIT_SPLIT_MIN_BLOCKS must be a positive integer; got '") + text + "'");
  return int(v);
}

int choose_num_splits(const SplitInputs& in) {
  if (in.workers <= 0 || in.max_seqlen_k <= 0 || in.batch <= 0) return 1;
  const int q_tiles = std::max(1, (in.q_rows + in.tile_m - 1) / in.tile_m);
  const long long units = 1LL * in.batch * std::max(1, in.heads) * q_tiles;
  // A grid of 80%+ of a wave keeps the machine busy: no split.
  if (units * 10 >= 8LL * in.workers) return 1;
  const int key_blocks = (in.max_seqlen_k + in.tile_n - 1) / in.tile_n;
  // Short sequences split down to one key block a split: the combine reads
  // its partials in parallel (combine.cuh), and more CTAs keep more bytes
  // in flight.
  const int max_by_keys = std::max(1, key_blocks / std::max(1, in.min_split_blocks));
  // As many splits as fit in one wave (splits x units <= workers): with
  // one CTA per SM (the sm90 decode kernel), a few tiles more than the
  // workers run as a second wave as long as the first (before: 17 splits
  // x 8 units = 136 tiles on 132 SMs; the speed-up is not measured yet).
  int want = int(in.workers / units);
  want = std::min({want, max_by_keys, 128});
  return std::max(1, want);
}

bool choose_pack_gqa(int max_seqlen_q, int h, int h_k, int tile_m) {
  if (h_k <= 0 || h == h_k) return false;
  return max_seqlen_q * 2 <= tile_m;  // at most half a tile of rows per head
}

}  // namespace fa3jit::detail
