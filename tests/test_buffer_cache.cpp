// The host backends' activation buffer cache: same-size buffers come back from it, its byte
// bound holds, and buffers outliving the cache are freed on their own.
#include <gtest/gtest.h>

#include "kernels/buffer_cache.h"

using clipdex::kernels::BufferCache;

TEST(BufferCache, ReusesAReturnedBufferOfTheSameSize) {
  auto cache = std::make_shared<BufferCache>(1 << 20);
  auto a = cache->take(1000);
  ASSERT_EQ(a->size(), 1000u);
  const float* first = a->data();
  (*a)[3] = 42.0f;
  a.reset();
  const auto other_size = cache->take(999);  // another size: a new buffer
  EXPECT_NE(other_size->data(), first);
  const auto again = cache->take(1000);
  EXPECT_EQ(again->data(), first);
  EXPECT_EQ((*again)[3], 42.0f);  // not cleared: callers write before they read
  const auto second = cache->take(1000);  // the cached one is in use: a new one
  EXPECT_NE(second->data(), first);
}

TEST(BufferCache, KeepsNoMoreThanItsBound) {
  auto cache = std::make_shared<BufferCache>(1000 * sizeof(float));
  auto a = cache->take(600), b = cache->take(600);
  const float* pa = a->data();
  a.reset();
  EXPECT_EQ(cache->cached_bytes(), 2400u);
  b.reset();  // would make 4,800 of 4,000: freed instead
  EXPECT_EQ(cache->cached_bytes(), 2400u);
  const auto x = cache->take(600);
  EXPECT_EQ(x->data(), pa);
  EXPECT_EQ(cache->cached_bytes(), 0u);
}

TEST(BufferCache, BuffersMayOutliveTheCache) {
  auto cache = std::make_shared<BufferCache>(1 << 20);
  auto buffer = cache->take(64);
  cache.reset();
  (*buffer)[63] = 1.0f;
  buffer.reset();  // freed, not returned (AddressSanitizer checks both)
  SUCCEED();
}
