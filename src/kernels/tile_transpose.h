#pragma once
// Transposing a matrix of 32-bit values in N x N tiles of GCC vectors (N floats: one register of
// the caller's ISA), for the attention kernels' keys. Inline: each ISA build of a caller gets its
// own code.
#include <cstdint>
#include <cstring>
#include <utility>

#include "kernels/lane_reduce.h"

namespace clipdex::kernels {

// Swaps the off-diagonal B x B blocks of each 2B x 2B block between rows top and bottom of an
// N x N tile (a shuffle index >= N picks from bottom); over row pairs (i, i + B) for B = N/2 .. 1
// it transposes the tile.
template <int N, int B, size_t... I>
[[gnu::always_inline]] inline void swap_blocks(typename FloatVector<N>::type& top, typename FloatVector<N>::type& bottom,
                                               std::index_sequence<I...>) {
  const auto t = top, u = bottom;
  // Lane i of the new top: its own lane where (i / B) is even, else lane i - B of bottom; the
  // new bottom mirrors it.
  top = __builtin_shufflevector(t, u, ((I / B) % 2 == 0 ? I : N + I - B)...);
  bottom = __builtin_shufflevector(t, u, ((I / B) % 2 == 0 ? I + B : N + I)...);
}

template <int N, int B>
[[gnu::always_inline]] inline void swap_all_blocks(typename FloatVector<N>::type* r) {
  for (int i = 0; i < N; ++i)
    if (i % (2 * B) < B) swap_blocks<N, B>(r[i], r[i + B], std::make_index_sequence<N>{});
}

// kt[t * lp + j] = k[j * ldk + t] for j < keys, t < d: N x N tiles through vector shuffles (as
// scalar stores the transpose took a fifth of the head's time), the ragged edges plainly. Only
// moves 32-bit values, so it transposes pairs of bf16 values as well as floats.
template <int N>
[[gnu::always_inline]] inline void transpose_keys(const float* k, int64_t ldk, int64_t keys, int64_t d, float* kt,
                                                  int64_t lp) {
  using V = typename FloatVector<N>::type;
  const int64_t full_keys = keys / N * N, full_d = d / N * N;
  for (int64_t j0 = 0; j0 < full_keys; j0 += N)
    for (int64_t t0 = 0; t0 < full_d; t0 += N) {
      V r[N];
      for (int i = 0; i < N; ++i) std::memcpy(&r[i], k + (j0 + i) * ldk + t0, sizeof(V));
      if constexpr (N >= 16) swap_all_blocks<N, 8>(r);
      if constexpr (N >= 8) swap_all_blocks<N, 4>(r);
      swap_all_blocks<N, 2>(r);
      swap_all_blocks<N, 1>(r);
      for (int i = 0; i < N; ++i) std::memcpy(kt + (t0 + i) * lp + j0, &r[i], sizeof(V));
    }
  for (int64_t j = 0; j < keys; ++j)
    for (int64_t t = j < full_keys ? full_d : 0; t < d; ++t) kt[t * lp + j] = k[j * ldk + t];
}

}  // namespace clipdex::kernels
