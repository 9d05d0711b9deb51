#include "core/thread_pool.h"

#include <algorithm>

namespace clipdex {

// Set inside pool work: a nested parallel_for runs inline instead of deadlocking.
static thread_local bool tls_in_pool = false;
static thread_local size_t tls_limit = 0;

ThreadPool::Limit::Limit(size_t threads) : saved_(tls_limit) { tls_limit = threads; }
ThreadPool::Limit::~Limit() { tls_limit = saved_; }

size_t ThreadPool::active() const { return tls_limit ? std::min(tls_limit, size()) : size(); }

ThreadPool::ThreadPool(size_t threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (size_t i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

ThreadPool& ThreadPool::global() {
  static ThreadPool pool;
  return pool;
}

static void run_chunk(const std::function<void(size_t, size_t)>& fn, size_t n, size_t chunks, size_t index) {
  const size_t begin = n * index / chunks, end = n * (index + 1) / chunks;
  if (begin < end) fn(begin, end);
}

void ThreadPool::worker_loop(size_t index) {
  tls_in_pool = true;
  uint64_t seen = 0;
  for (;;) {
    std::unique_lock lock(mu_);
    start_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    if (index >= chunks_) continue;
    const auto* job = job_;
    const size_t n = job_n_, chunks = chunks_;
    lock.unlock();
    std::exception_ptr err;
    try {
      run_chunk(*job, n, chunks, index);
    } catch (...) {
      err = std::current_exception();
    }
    lock.lock();
    if (err && !error_) error_ = err;
    if (--pending_ == 0) done_cv_.notify_all();
  }
}

void ThreadPool::parallel_for(size_t n, const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  const size_t chunks = std::min(n, active());
  if (chunks == 1 || tls_in_pool) {
    fn(0, n);
    return;
  }
  std::lock_guard run_lock(run_mu_);
  {
    std::lock_guard lock(mu_);
    job_ = &fn;
    job_n_ = n;
    chunks_ = chunks;
    pending_ = chunks - 1;
    error_ = nullptr;
    ++generation_;
  }
  start_cv_.notify_all();
  std::exception_ptr err;
  tls_in_pool = true;
  try {
    run_chunk(fn, n, chunks, 0);
  } catch (...) {
    err = std::current_exception();
  }
  tls_in_pool = false;
  std::unique_lock lock(mu_);
  done_cv_.wait(lock, [&] { return pending_ == 0; });
  if (!err) err = error_;
  job_ = nullptr;
  lock.unlock();
  if (err) std::rethrow_exception(err);
}

}  // namespace clipdex
