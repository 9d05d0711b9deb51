#include "kernels/buffer_cache.h"

#include <algorithm>

namespace clipdex::kernels {

std::shared_ptr<std::vector<float>> BufferCache::take(size_t count) {
  std::unique_ptr<std::vector<float>> v;
  {
    std::lock_guard lock(mu_);
    const auto it = std::find_if(free_.begin(), free_.end(), [&](const auto& f) { return f->size() == count; });
    if (it != free_.end()) {
      v = std::move(*it);
      free_.erase(it);
      free_bytes_ -= count * sizeof(float);
    }
  }
  if (!v) v = std::make_unique<std::vector<float>>(count);
  std::weak_ptr<BufferCache> home = weak_from_this();
  return {v.release(), [home](std::vector<float>* p) {
            if (const auto cache = home.lock()) cache->give_back(p);
            else delete p;
          }};
}

size_t BufferCache::cached_bytes() {
  std::lock_guard lock(mu_);
  return free_bytes_;
}

void BufferCache::give_back(std::vector<float>* v) {
  std::unique_ptr<std::vector<float>> owned(v);
  const size_t bytes = v->size() * sizeof(float);
  std::lock_guard lock(mu_);
  if (free_bytes_ + bytes > max_bytes_) return;
  free_bytes_ += bytes;
  free_.push_back(std::move(owned));
}

}  // namespace clipdex::kernels
