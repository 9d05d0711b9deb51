#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>

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

// Spins until done() or ~kSpinTime has passed; true if done() came true.
template <typename Done>
static bool spin_until(Done done) {
  constexpr auto kSpinTime = std::chrono::microseconds(50);
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    if (std::chrono::steady_clock::now() - start > kSpinTime) return done();
  }
}

void ThreadPool::worker_loop(size_t index) {
  tls_in_pool = true;
  uint64_t seen = 0;
  for (;;) {
    spin_until([&] { return stop_.load(std::memory_order_relaxed) || generation_.load(std::memory_order_acquire) != seen; });
    std::unique_lock lock(mu_);
    if (!stop_ && generation_.load(std::memory_order_relaxed) == seen) {
      ++sleepers_;
      start_cv_.wait(lock, [&] { return stop_ || generation_.load(std::memory_order_relaxed) != seen; });
      --sleepers_;
    }
    if (stop_) return;
    seen = generation_.load(std::memory_order_relaxed);
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
    if (err) {
      std::lock_guard error_lock(mu_);
      if (!error_) error_ = err;
    }
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard done_lock(mu_);
      if (caller_waiting_) done_cv_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(size_t n, const std::function<void(size_t, size_t)>& fn, size_t grain) {
  if (n == 0) return;
  const size_t chunks = std::min(std::max<size_t>(1, n / std::max<size_t>(1, grain)), active());
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
    pending_.store(chunks - 1, std::memory_order_relaxed);
    error_ = nullptr;
    generation_.fetch_add(1, std::memory_order_release);
    if (sleepers_ > 0) start_cv_.notify_all();
  }
  std::exception_ptr err;
  tls_in_pool = true;
  try {
    run_chunk(fn, n, chunks, 0);
  } catch (...) {
    err = std::current_exception();
  }
  tls_in_pool = false;
  const auto all_done = [&] { return pending_.load(std::memory_order_acquire) == 0; };
  std::unique_lock lock(mu_, std::defer_lock);
  if (spin_until(all_done)) {
    lock.lock();
  } else {
    lock.lock();
    caller_waiting_ = true;
    done_cv_.wait(lock, all_done);
    caller_waiting_ = false;
  }
  if (!err) err = error_;
  job_ = nullptr;
  lock.unlock();
  if (err) std::rethrow_exception(err);
}

}  // namespace clipdex
