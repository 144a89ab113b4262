#include "cpu/thread_pool.h"

#include "cpu/cpu_backend.h"

namespace fa3jit::cpu {
namespace {
// Set on pool workers and on a caller while it runs a loop: a nested
// parallel_for from such a thread runs inline.
thread_local bool t_inside_loop = false;

void run_inline(int64_t n, const std::function<void(int64_t)>& body) {
  for (int64_t i = 0; i < n; ++i) body(i);
}
}  // namespace

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(m_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

ThreadPool& ThreadPool::instance() {
  static ThreadPool pool(num_threads());
  return pool;
}

void ThreadPool::run_items() {
  for (;;) {
    const int64_t i = next_.fetch_add(1);
    if (i >= n_) return;
    try {
      (*body_)(i);
    } catch (...) {
      std::lock_guard<std::mutex> lk(m_);
      if (!error_) error_ = std::current_exception();
      next_.store(n_);  // skip what has not started
    }
  }
}

void ThreadPool::worker_loop() {
  t_inside_loop = true;
  uint64_t seen = 0;
  std::unique_lock<std::mutex> lk(m_);
  for (;;) {
    wake_.wait(lk, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    if (!open_) continue;  // woke after that loop had finished
    ++busy_;
    lk.unlock();
    run_items();
    lk.lock();
    if (--busy_ == 0) done_.notify_all();
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t)>& body) {
  if (n <= 0) return;
  if (workers_.empty() || n == 1 || t_inside_loop) return run_inline(n, body);
  std::unique_lock<std::mutex> submit(submit_, std::try_to_lock);
  if (!submit.owns_lock()) return run_inline(n, body);

  {
    std::lock_guard<std::mutex> lk(m_);
    body_ = &body;
    n_ = n;
    next_.store(0);
    error_ = nullptr;
    open_ = true;
    ++generation_;
  }
  wake_.notify_all();
  t_inside_loop = true;
  run_items();
  t_inside_loop = false;
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lk(m_);
    open_ = false;
    done_.wait(lk, [&] { return busy_ == 0; });
    body_ = nullptr;
    error = error_;
    error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace fa3jit::cpu
