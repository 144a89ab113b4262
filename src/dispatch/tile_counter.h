// The device counter of the sm90 kernel's dynamic tile walk (kFlagDynamic,
// kernels/sm90/tile_ring.cuh): two ints, zero at every launch.
#pragma once
#include <cuda.h>

#include <cstdint>

namespace fa3jit::detail {

// One launch's counter, by where the call runs:
// - eagerly: the stream's own counter, allocated and zeroed (on the
//   stream) at its first use and kept for the process; each launch leaves
//   it zero for the next, and launches on one stream run in order.
// - inside a CUDA-graph capture: a counter of this graph's own, so graphs
//   replayed on several streams at once never share one: the first 8
//   bytes of the caller's workspace when it has them, else a stream-ordered
//   allocation (an allocation node and a free node), zeroed by a memset
//   node before the kernel.
class TileCounter {
 public:
  TileCounter(int device, CUstream stream, void* workspace, int64_t workspace_bytes);
  ~TileCounter();  // frees a stream-ordered counter left by an error (unchecked: unwinding)
  TileCounter(const TileCounter&) = delete;
  TileCounter& operator=(const TileCounter&) = delete;

  int* get() const { return reinterpret_cast<int*>(ptr_); }
  // After the launch: frees a stream-ordered counter (checked).
  void release();

 private:
  CUdeviceptr ptr_ = 0;
  CUstream stream_ = nullptr;
  bool stream_ordered_ = false;
};

}  // namespace fa3jit::detail
