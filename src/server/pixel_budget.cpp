#include "server/pixel_budget.h"

#include <algorithm>

#include "clipdex/images.h"

namespace clipdex::server {

PixelBudget::Lease PixelBudget::reserve(uint64_t pixels) {
  const uint64_t n = std::min(pixels, capacity_);
  std::unique_lock lock(mu_);
  freed_.wait(lock, [&] { return used_ + n <= capacity_; });
  used_ += n;
  return Lease(*this, n);
}

PixelBudget::Lease PixelBudget::reserve_for(std::span<const uint8_t> encoded, uint64_t fallback) {
  const auto size = image_size(encoded);
  return reserve(size ? uint64_t{size->first} * size->second : fallback);
}

uint64_t PixelBudget::in_use() const {
  std::lock_guard lock(mu_);
  return used_;
}

void PixelBudget::release(uint64_t n) {
  {
    std::lock_guard lock(mu_);
    used_ -= n;
  }
  freed_.notify_all();
}

}  // namespace clipdex::server
