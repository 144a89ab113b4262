// Scheduling choices made from the problem's shape and the device:
// how many KV splits (flash-decoding) and whether to pack GQA heads.
// Pure functions, unit-tested on any machine.
#pragma once

namespace fa3jit::detail {

struct SplitInputs {
  int batch;
  int heads;          // work units per (batch, q-tile): q heads, or kv heads when packed
  int q_rows;         // rows of one work unit (max_seqlen_q, times h/h_k when packed)
  int max_seqlen_k;
  int workers;        // SMs (GPU) or threads (CPU) available
  int tile_m;         // query rows per tile
  int tile_n;         // keys per block
  int min_split_blocks = 1;  // key blocks each split keeps at least
};

// Splits that fill the workers when (batch x heads x q-tiles) is too few
// to: as many as fit in one wave, each keeping at least min_split_blocks
// key blocks. 1 when the grid is already full. At most 128.
int choose_num_splits(const SplitInputs& in);

// FA3JIT_SPLIT_MIN_BLOCKS's value (a tuning knob): unset or empty -> 1,
// else a positive integer, or fa3jit::Error (InvalidValue) naming it.
int split_min_blocks_from(const char* text);

// Pack the q-heads of one kv-head into one tile when there are fewer query
// rows than a tile holds (decode, speculative decode) and GQA groups exist.
bool choose_pack_gqa(int max_seqlen_q, int h, int h_k, int tile_m);

}  // namespace fa3jit::detail
