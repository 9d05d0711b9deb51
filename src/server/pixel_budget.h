#pragma once
// Bounds the memory all requests together spend on decoded pixels: a request reserves its
// image's pixel count (read from the header) before decoding and gives it back when done;
// past the budget, requests wait their turn instead of growing the process without bound.
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <span>

namespace clipdex::server {

class PixelBudget {
 public:
  explicit PixelBudget(uint64_t capacity) : capacity_(capacity) {}

  class Lease {
   public:
    Lease(PixelBudget& b, uint64_t n) : b_(&b), n_(n) {}
    Lease(Lease&& o) noexcept : b_(o.b_), n_(o.n_) { o.b_ = nullptr; }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (b_) b_->release(n_);
    }

   private:
    PixelBudget* b_;
    uint64_t n_;
  };

  // Blocks until `pixels` (at most the whole budget) are free.
  Lease reserve(uint64_t pixels);
  // Reserves what an encoded image will need: its header's size, or `fallback` when unreadable.
  Lease reserve_for(std::span<const uint8_t> encoded, uint64_t fallback);
  uint64_t in_use() const;

 private:
  void release(uint64_t n);
  const uint64_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable freed_;
  uint64_t used_ = 0;
};

}  // namespace clipdex::server
