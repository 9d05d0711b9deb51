#pragma once
// Host activation buffers recycled between forward passes. A fresh zeroed vector per buffer per
// pass cost its memset and, past malloc's mapping threshold, its page faults (2.5% of an int8
// ViT-B/32 pass at batch 32). A recycled buffer is not cleared: every op writes its output in
// full before anything reads it.
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace clipdex::kernels {

class BufferCache : public std::enable_shared_from_this<BufferCache> {
 public:
  // At most this many bytes wait in the cache; a returned buffer beyond that is freed.
  explicit BufferCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  // `count` floats: a cached vector of exactly that size, or a new one. It goes back to the
  // cache when the last copy of the pointer dies (or is freed if the cache is gone).
  std::shared_ptr<std::vector<float>> take(size_t count);

  // Bytes of the buffers waiting to be taken again.
  size_t cached_bytes();

 private:
  void give_back(std::vector<float>* v);

  const size_t max_bytes_;
  std::mutex mu_;
  std::vector<std::unique_ptr<std::vector<float>>> free_;
  size_t free_bytes_ = 0;
};

}  // namespace clipdex::kernels
