// One unit of CPU work: a tile of query rows of one sequence, for one query
// head or (pack_gqa) all query heads of one kv-head, over one split of the
// tile's visible keys. The flash algorithm: key blocks in float, online
// softmax, P.V accumulated in float.
#pragma once
#include "cpu/split_combine.h"
#include "fa3jit/tensor.h"

namespace fa3jit::cpu {

inline constexpr int kTileRows = 64;   // (row, head) pairs per tile
inline constexpr int kBlockKeys = 64;  // keys per block

struct TileTask {
  int b;
  int head_begin, num_heads;  // query heads [head_begin, +num_heads), all of one kv-head
  int row_begin, row_end;     // query rows of the sequence, row_end <= seqlen_q
};

// Tile row i is query row tile_row_query(i) of head tile_row_head(i).
inline int tile_rows(const TileTask& t) { return (t.row_end - t.row_begin) * t.num_heads; }
inline int tile_row_query(const TileTask& t, int i) { return t.row_begin + i / t.num_heads; }
inline int tile_row_head(const TileTask& t, int i) { return t.head_begin + i % t.num_heads; }

// Runs split `split` of the task. With ws == null (one split) it writes the
// finished rows to params.out / params.lse; else float partials into ws at
// slots first_slot + tile row.
void run_tile(const fa3jit_k::AttnParams& p, DType in_dtype, DType out_dtype, const TileTask& task, int split,
              SplitWorkspace* ws, int64_t first_slot);

}  // namespace fa3jit::cpu
