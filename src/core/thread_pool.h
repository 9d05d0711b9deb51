#pragma once
// A fixed pool of worker threads with a blocking parallel_for. One pool per process is enough:
// work is split into contiguous chunks, one per worker, so no per-item scheduling cost.
// Workers (and a caller waiting for them) spin for a few tens of microseconds before they
// sleep: the ops of one forward pass follow each other that closely, and a sleep and wake-up
// cost more than that under a hypervisor (a third of a text query's time, measured). An idle
// pool sleeps.
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace clipdex {

class ThreadPool {
 public:
  explicit ThreadPool(size_t threads = 0);  // 0: one per hardware thread
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t size() const { return workers_.size() + 1; }  // the calling thread works too
  // How many threads this thread's parallel_for calls use: size(), or less under a Limit.
  size_t active() const;

  // Caps the threads the current thread's parallel_for calls use while it lives (0: no cap).
  // Per calling thread, so a library user's model options never change another caller's work.
  class Limit {
   public:
    explicit Limit(size_t threads);
    ~Limit();
    Limit(const Limit&) = delete;
    Limit& operator=(const Limit&) = delete;

   private:
    size_t saved_;
  };

  // Calls fn(begin, end) over [0, n) in up to size() chunks of at least `grain` items (work
  // smaller than two grains runs inline: waking a worker costs more than it saves); returns
  // when all are done. The first exception thrown by a chunk is rethrown here.
  void parallel_for(size_t n, const std::function<void(size_t, size_t)>& fn, size_t grain = 1);

  static ThreadPool& global();

 private:
  void worker_loop(size_t index);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  // The job: written under mu_ before generation_ moves on.
  const std::function<void(size_t, size_t)>* job_ = nullptr;
  size_t job_n_ = 0, chunks_ = 0;
  std::atomic<uint64_t> generation_{0};  // bumped (under mu_) for each job
  std::atomic<size_t> pending_{0};       // worker chunks of the current job not yet done
  std::atomic<bool> stop_{false};
  size_t sleepers_ = 0;          // workers blocked on start_cv_ (mu_)
  bool caller_waiting_ = false;  // the caller blocked on done_cv_ (mu_)
  std::exception_ptr error_;
  std::mutex run_mu_;  // one parallel_for at a time
};

}  // namespace clipdex
