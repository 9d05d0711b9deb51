#include "image/decode.h"
#include "pipeline/image_loader.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace clipdex::pipeline {

void load_images(const std::vector<std::string>& paths, const image::PreprocessConfig& cfg,
                 const LoaderOptions& options, const std::function<void(std::vector<LoadedImage>&)>& on_batch) {
  const size_t threads = std::max<size_t>(1, options.threads ? options.threads : std::thread::hardware_concurrency());
  const size_t batch = std::max<size_t>(1, options.batch_size);
  const size_t max_queued = options.max_queued ? options.max_queued : 2 * batch;
  std::mutex mu;
  std::condition_variable ready, space;
  std::deque<LoadedImage> queue;
  std::atomic<size_t> next{0};
  size_t finished_workers = 0;
  bool stop = false;

  auto worker = [&] {
    for (;;) {
      const size_t i = next.fetch_add(1);
      if (i >= paths.size()) break;
      LoadedImage item;
      item.index = i;
      try {
        const image::Image im = image::decode_image_file(paths[i], options.decode);
        item.width = im.width;
        item.height = im.height;
        item.pixels = image::preprocess(im, cfg);
      } catch (const std::exception& e) {
        item.error = e.what();
      }
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
  for (size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  auto shutdown = [&] {
    {
      std::lock_guard lock(mu);
      stop = true;
    }
    space.notify_all();
    for (auto& t : pool)
      if (t.joinable()) t.join();
  };
  try {
    size_t delivered = 0;
    while (delivered < paths.size()) {
      std::vector<LoadedImage> out;
      {
        std::unique_lock lock(mu);
        // Wait for a full batch, or whatever is left once every worker is done.
        ready.wait(lock, [&] { return queue.size() >= batch || finished_workers == threads; });
        while (!queue.empty() && out.size() < batch) {
          out.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      space.notify_all();
      if (out.empty()) break;
      delivered += out.size();
      on_batch(out);
    }
  } catch (...) {
    shutdown();
    throw;
  }
  shutdown();
}

}  // namespace clipdex::pipeline
