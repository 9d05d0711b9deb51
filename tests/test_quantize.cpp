// The int8 quantisers at every x86-64 level this CPU runs (each is compiled with its own vector
// width), against the definition written out plainly: the same codes, scales, zero points and
// sums, bit for bit, for rows of every length around the vector widths, all-positive,
// all-negative and all-zero rows, and outliers.
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "core/half.h"
#include "core/isa_clones.h"
#include "kernels/backend.h"
#include "kernels/cpu_ops.h"
#include "kernels/quantize.h"

using namespace clipdex;

namespace {

float round_half_even(float v) { return std::nearbyint(v); }

std::vector<std::vector<float>> test_rows() {
  std::mt19937 rng(5);
  std::normal_distribution<float> g;
  std::vector<std::vector<float>> rows;
  for (int k : {1, 3, 4, 7, 8, 15, 16, 17, 31, 33, 64, 100, 768, 3071}) {
    std::vector<float> r(static_cast<size_t>(k));
    for (auto& v : r) v = g(rng);
    rows.push_back(r);
    for (auto& v : r) v = std::fabs(v) + 0.5f;  // all positive: the range widens to 0
    rows.push_back(r);
    for (auto& v : r) v = -v;  // all negative
    rows.push_back(r);
  }
  rows.push_back(std::vector<float>(40, 0.0f));
  std::vector<float> outlier(300);
  for (auto& v : outlier) v = g(rng);
  outlier[177] = 90.0f;
  rows.push_back(outlier);
  return rows;
}

}  // namespace

TEST(Quantize, EveryIsaLevelMatchesTheDefinition) {
  int checked = 0;
  for (int level : {4, 3, 1}) {
    if (level > cpu_isa_level()) continue;
    ++checked;
    for (const auto& row : test_rows()) {
      const auto k = static_cast<int64_t>(row.size());
      // Activations: asymmetric u8 over the range widened to include 0.
      const float lo = std::min(0.0f, *std::min_element(row.begin(), row.end()));
      const float hi = std::max(0.0f, *std::max_element(row.begin(), row.end()));
      const float levels = 255.0f, s = hi > lo ? (hi - lo) / levels : 1.0f;
      const float z = std::clamp(round_half_even(-lo / s), 0.0f, levels);
      std::vector<uint8_t> q(row.size());
      float scale = 0;
      int32_t zero = -1;
      kernels::quantize_rows_u8(row.data(), 1, k, levels, q.data(), &scale, &zero, level);
      ASSERT_EQ(scale, s) << "level " << level << " k=" << k;
      ASSERT_EQ(zero, static_cast<int32_t>(z)) << "level " << level << " k=" << k;
      for (int64_t i = 0; i < k; ++i)
        ASSERT_EQ(q[i], static_cast<uint8_t>(std::clamp(round_half_even(row[i] * (1.0f / s)) + z, 0.0f, levels)))
            << "level " << level << " k=" << k << " i=" << i;
      // Weights: symmetric s8 and their sum.
      const float amax = std::max(-lo, hi), ws = amax > 0 ? amax / 127.0f : 1.0f;
      std::vector<int8_t> wq(row.size());
      float wscale = 0;
      int32_t sum = 0, want_sum = 0;
      kernels::quantize_row_s8(row.data(), k, 127.0f, wq.data(), wscale, sum, level);
      ASSERT_EQ(wscale, ws) << "level " << level << " k=" << k;
      for (int64_t i = 0; i < k; ++i) {
        const auto want = static_cast<int8_t>(std::clamp(round_half_even(row[i] * (1.0f / ws)), -127.0f, 127.0f));
        ASSERT_EQ(wq[i], want) << "level " << level << " k=" << k << " i=" << i;
        want_sum += want;
      }
      EXPECT_EQ(sum, want_sum) << "level " << level << " k=" << k;
      // From bf16: the same as quantising the bf16 values widened to fp32.
      std::vector<uint16_t> half(row.size());
      std::vector<float> widened(row.size());
      for (size_t i = 0; i < row.size(); ++i) widened[i] = bf16_to_f32(half[i] = f32_to_bf16(row[i]));
      std::vector<uint8_t> from_half(row.size()), from_widened(row.size());
      float half_scale = 0, widened_scale = 0;
      int32_t half_zero = -1, widened_zero = -2;
      kernels::quantize_rows_u8(half.data(), 1, k, levels, from_half.data(), &half_scale, &half_zero, level);
      kernels::quantize_rows_u8(widened.data(), 1, k, levels, from_widened.data(), &widened_scale, &widened_zero,
                                level);
      ASSERT_EQ(half_scale, widened_scale) << "level " << level << " k=" << k;
      ASSERT_EQ(half_zero, widened_zero) << "level " << level << " k=" << k;
      ASSERT_EQ(from_half, from_widened) << "level " << level << " k=" << k;
    }
  }
  EXPECT_GE(checked, 1);  // the baseline runs everywhere
}

// The epilogues that finish a GEMM row into bf16 in one pass against the definition: the int8
// rescale (or an fp32 product) plus bias, each activation, then bf16 rounding (core/half.h).
TEST(Quantize, OnePassEpiloguesMatchTheDefinition) {
  using kernels::Activation;
  std::mt19937 rng(9);
  std::normal_distribution<float> g;
  std::uniform_int_distribution<int32_t> acc_dist(-200000, 200000), sum_dist(-3000, 3000);
  const auto definition = [](float v, Activation act) {
    switch (act) {
      case Activation::None: return v;
      case Activation::QuickGelu: return v / (1.0f + std::exp(-1.702f * v));
      case Activation::Gelu: return 0.5f * v * (1.0f + std::erf(v / std::sqrt(2.0f)));
      case Activation::Relu: return std::max(v, 0.0f);
    }
    return v;
  };
  for (int64_t n : {1, 15, 16, 33, 1536}) {
    std::vector<int32_t> acc(static_cast<size_t>(n)), column_sum(acc.size());
    std::vector<float> weight_scale(acc.size()), bias(acc.size()), product(acc.size());
    for (int64_t j = 0; j < n; ++j) {
      acc[j] = acc_dist(rng);
      column_sum[j] = sum_dist(rng);
      weight_scale[j] = std::fabs(g(rng)) * 1e-3f + 1e-4f;
      bias[j] = g(rng);
      product[j] = 3.0f * g(rng);
    }
    const int32_t zero = 117;
    const float row_scale = 0.0123f;
    for (Activation act : {Activation::None, Activation::QuickGelu, Activation::Gelu, Activation::Relu}) {
      for (const float* b : {static_cast<const float*>(bias.data()), static_cast<const float*>(nullptr)}) {
        std::vector<uint16_t> from_int8(acc.size()), from_product(acc.size());
        kernels::dequantize_row_bf16(acc.data(), n, zero, row_scale, column_sum.data(), weight_scale.data(), b, act,
                                     from_int8.data());
        kernels::bias_activate_row_bf16(product.data(), b, n, act, from_product.data());
        for (int64_t j = 0; j < n; ++j) {
          const double rescaled = double(acc[j] - zero * column_sum[j]) * row_scale * weight_scale[j];
          const float want_int8 = definition(static_cast<float>(rescaled + (b ? b[j] : 0.0)), act);
          const float want_product = definition(product[j] + (b ? b[j] : 0.0f), act);
          // One bf16 unit of the result (2^-7 relative) covers rounding on either side and the
          // fast erf / exp (~1e-6 absolute).
          EXPECT_NEAR(bf16_to_f32(from_int8[j]), want_int8, 1e-5 + std::fabs(want_int8) / 128)
              << "n=" << n << " j=" << j << " act=" << int(act) << " bias=" << (b != nullptr);
          EXPECT_NEAR(bf16_to_f32(from_product[j]), want_product, 1e-5 + std::fabs(want_product) / 128)
              << "n=" << n << " j=" << j << " act=" << int(act) << " bias=" << (b != nullptr);
        }
      }
    }
  }
}

// Layer norm fused with the int8 row quantisation gives exactly what the two steps give apart:
// the fp32 layer norm's rows, quantised (several rows, so the pool splits them).
TEST(Quantize, FusedLayerNormQuantisesTheLayerNormsRows) {
  std::mt19937 rng(8);
  std::normal_distribution<float> g(0.5f, 2.0f);
  for (int64_t dim : {7, 64, 768}) {
    const int64_t rows = 300;
    std::vector<float> x(static_cast<size_t>(rows * dim)), gamma(static_cast<size_t>(dim)), beta(gamma.size());
    for (auto* v : {&x, &gamma, &beta})
      for (auto& e : *v) e = g(rng);
    std::vector<float> normed(x.size());
    kernels::layer_norm_rows(x.data(), rows, dim, gamma.data(), beta.data(), 1e-5f, normed.data(), nullptr);
    std::vector<uint8_t> want_q(x.size()), got_q(x.size());
    std::vector<float> want_scale(rows), got_scale(rows);
    std::vector<int32_t> want_zero(rows), got_zero(rows);
    kernels::quantize_rows_u8(normed.data(), rows, dim, 255.0f, want_q.data(), want_scale.data(), want_zero.data());
    kernels::layer_norm_quantize_rows(x.data(), rows, dim, gamma.data(), beta.data(), 1e-5f, 255.0f, got_q.data(),
                                      got_scale.data(), got_zero.data());
    EXPECT_EQ(got_q, want_q) << dim;
    EXPECT_EQ(got_scale, want_scale) << dim;
    EXPECT_EQ(got_zero, want_zero) << dim;
  }
}
