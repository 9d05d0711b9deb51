#pragma once
// Runs produce(i) for i in [0, count) on worker threads and hands the results to consume() on
// the calling thread in batches (completion order), with a bound on results waiting, so that
// producing (decoding) overlaps with consuming (inference). produce must not throw.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace clipdex::pipeline {

template <typename T>
void parallel_batches(size_t count, size_t threads, size_t batch, size_t max_queued,
                      const std::function<T(size_t)>& produce, const std::function<void(std::vector<T>&)>& consume) {
  threads = std::max<size_t>(1, std::min(threads ? threads : std::thread::hardware_concurrency(), count));
  batch = std::max<size_t>(1, batch);
  max_queued = std::max(max_queued ? max_queued : 2 * batch, batch);
  std::mutex mu;
  std::condition_variable ready, space;
  std::deque<T> queue;
  std::atomic<size_t> next{0};
  size_t finished_workers = 0;
  bool stop = false;

  auto worker = [&] {
    for (;;) {
      const size_t i = next.fetch_add(1);
      if (i >= count) break;
      T item = produce(i);
      std::unique_lock lock(mu);
      space.wait(lock, [&] { return stop || queue.size() < max_queued; });
      if (stop) break;
      queue.push_back(std::move(item));
      ready.notify_one();
    }
    std::lock_guard lock(mu);
    ++finished_workers;
    ready.notify_one();
  };

  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads && count > 0; ++t) pool.emplace_back(worker);
  auto shutdown = [&] {
    {
      std::lock_guard lock(mu);
      stop = true;
    }
    space.notify_all();
    for (auto& t : pool) t.join();
  };
  try {
    for (size_t delivered = 0; delivered < count;) {
      std::vector<T> out;
      {
        std::unique_lock lock(mu);
        // A full batch, or whatever is left once every worker is done.
        ready.wait(lock, [&] { return queue.size() >= batch || finished_workers == pool.size(); });
        while (!queue.empty() && out.size() < batch) {
          out.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      space.notify_all();
      if (out.empty()) break;
      delivered += out.size();
      consume(out);
    }
  } catch (...) {
    shutdown();
    throw;
  }
  shutdown();
}

}  // namespace clipdex::pipeline
