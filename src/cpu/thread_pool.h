// A fixed pool of worker threads, created once per process, that runs
// index-parallel loops. The calling thread works too, so a pool of size 1
// has no workers and runs everything inline.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fa3jit::cpu {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // threads counts the caller
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return int(workers_.size()) + 1; }

  // Calls body(i) for every i in [0, n), items claimed dynamically. Returns
  // when all are done; rethrows the first exception a body threw (the items
  // not yet started are then skipped). A call made while the pool is busy
  // (another thread's loop, or from inside a body) runs inline instead of
  // waiting, so it can never deadlock.
  void parallel_for(int64_t n, const std::function<void(int64_t)>& body);

  // The process-wide pool of num_threads() threads.
  static ThreadPool& instance();

 private:
  void worker_loop();
  void run_items();

  std::vector<std::thread> workers_;
  std::mutex submit_;  // one loop at a time
  std::mutex m_;       // guards the fields below
  std::condition_variable wake_, done_;
  uint64_t generation_ = 0;
  bool stop_ = false;
  bool open_ = false;  // workers may still join the current loop
  int busy_ = 0;       // workers inside the current loop
  const std::function<void(int64_t)>* body_ = nullptr;
  int64_t n_ = 0;
  std::atomic<int64_t> next_{0};
  std::exception_ptr error_;
};

}  // namespace fa3jit::cpu
