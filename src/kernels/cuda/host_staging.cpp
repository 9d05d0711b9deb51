#include "kernels/cuda/host_staging.h"

#include <algorithm>
#include <cstring>

#include "core/half.h"
#include "core/thread_pool.h"

namespace clipdex::kernels::cuda {

void convert_for_upload(const float* src, int64_t n, ElementType to, void* pinned_dst) {
  constexpr size_t kBlock = 1 << 16;  // elements per task
  const size_t blocks = (static_cast<size_t>(n) + kBlock - 1) / kBlock;
  ThreadPool::global().parallel_for(blocks, [&](size_t b, size_t e) {
    const size_t i0 = b * kBlock, i1 = std::min(static_cast<size_t>(n), e * kBlock);
    if (to == ElementType::F32) {
      std::memcpy(static_cast<float*>(pinned_dst) + i0, src + i0, (i1 - i0) * 4);
    } else if (to == ElementType::F16) {
      f32_to_f16_array(src + i0, static_cast<uint16_t*>(pinned_dst) + i0, i1 - i0);
    } else {
      // f32_to_bf16 written branch-free, so the compiler vectorises it.
      auto* dst = static_cast<uint16_t*>(pinned_dst);
      for (size_t i = i0; i < i1; ++i) {
        uint32_t u;
        std::memcpy(&u, src + i, 4);
        const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
        dst[i] = static_cast<uint16_t>((u & 0x7fffffffu) > 0x7f800000u ? (u >> 16) | 0x40u : rounded);
      }
    }
  });
}

}  // namespace clipdex::kernels::cuda
