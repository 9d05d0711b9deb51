// The CPU attention kernels against attention computed plainly in double precision: sequence
// lengths around the kernel's 16- and 64-column blocks, head sizes with and without a ragged
// tail, causal and not, several sequences packed back to back, and attention pooling's single
// query.
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/isa_clones.h"
#include "kernels/attention_head.h"
#include "kernels/backend.h"
#include "kernels/bf16_rows.h"
#include "kernels/cpu_features.h"
#include "kernels/cpu_ops.h"

using namespace clipdex;

namespace {

// out[i] = Σ_j softmax_j(q_i·k_j / sqrt(d)) v_j for one head; keys 0..i only when causal.
void reference_head(const float* q, int64_t ldq, const float* k, const float* v, int64_t ldkv, int64_t queries,
                    int64_t keys, int64_t d, bool causal, float* out, int64_t ldo) {
  for (int64_t i = 0; i < queries; ++i) {
    const int64_t seen = causal ? i + 1 : keys;
    std::vector<double> p(static_cast<size_t>(seen));
    double top = -1e300, total = 0;
    for (int64_t j = 0; j < seen; ++j) {
      double s = 0;
      for (int64_t t = 0; t < d; ++t) s += double(q[i * ldq + t]) * k[j * ldkv + t];
      p[j] = s / std::sqrt(double(d));
      top = std::max(top, p[j]);
    }
    for (auto& x : p) total += (x = std::exp(x - top));
    for (int64_t t = 0; t < d; ++t) {
      double o = 0;
      for (int64_t j = 0; j < seen; ++j) o += p[j] / total * v[j * ldkv + t];
      out[i * ldo + t] = static_cast<float>(o);
    }
  }
}

std::vector<float> random_values(size_t n, uint32_t seed, float spread) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, spread);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

float max_abs_difference(const std::vector<float>& a, const std::vector<float>& b) {
  float worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

}  // namespace

TEST(Attention, MatchesThePlainDefinition) {
  const auto be = kernels::make_cpu_backend();
  for (int64_t d : {64, 80, 24, 8}) {
    for (bool causal : {false, true}) {
      const int64_t heads = 3, width = heads * d;
      // Lengths on both sides of the 16- and 64-column blocks, packed as one batch.
      kernels::SequenceLayout seqs;
      seqs.offsets = {0};
      for (int64_t L : {1, 7, 16, 50, 65, 77, 130}) seqs.offsets.push_back(seqs.offsets.back() + L);
      const int64_t tokens = seqs.tokens();
      // Spread 1.5: scores up to ~10, far from uniform attention.
      const auto qkv = random_values(static_cast<size_t>(tokens * 3 * width), uint32_t(d) + causal, 1.5f);
      std::vector<float> got(static_cast<size_t>(tokens * width), -7.0f), want(got.size());
      be->attention_f32(qkv.data(), seqs, width, heads, causal, got.data());
      for (int64_t s = 0; s < seqs.count(); ++s)
        for (int64_t h = 0; h < heads; ++h) {
          const float* q = qkv.data() + seqs.offsets[s] * 3 * width + h * d;
          reference_head(q, 3 * width, q + width, q + 2 * width, 3 * width, seqs.length(s), seqs.length(s), d, causal,
                         want.data() + seqs.offsets[s] * width + h * d, width);
        }
      EXPECT_LT(max_abs_difference(got, want), 2e-5f) << "d=" << d << " causal=" << causal;
    }
  }
}

// The reduced-precision backends' form: q, k and v in bf16 and the output rounded to bf16,
// against the plain definition on the same bf16 inputs: through the bf16 dot-product kernel
// where this CPU has one (its probabilities rounded to bf16 too), else widened for the fp32 one.
TEST(Attention, Bf16InputAndOutputMatchThePlainDefinition) {
  for (bool causal : {false, true}) {
    const int64_t heads = 4, d = 64, width = heads * d;
    kernels::SequenceLayout seqs;
    seqs.offsets = {0, 50, 57, 134, 135};
    const int64_t tokens = seqs.tokens();
    const auto wide = random_values(static_cast<size_t>(tokens * 3 * width), 11 + causal, 1.5f);
    std::vector<uint16_t> qkv(wide.size()), out(static_cast<size_t>(tokens * width));
    kernels::narrow_to_bf16(wide.data(), wide.size(), qkv.data());
    std::vector<float> rounded(wide.size()), got(out.size()), want(out.size()), magnitude(out.size());
    kernels::widen_from_bf16(qkv.data(), qkv.size(), rounded.data());
    kernels::self_attention({qkv.data(), kernels::ElementType::BF16}, seqs, width, heads, causal,
                            {out.data(), kernels::ElementType::BF16});
    kernels::widen_from_bf16(out.data(), out.size(), got.data());
    std::vector<float> absolute(rounded.size());
    for (size_t i = 0; i < rounded.size(); ++i) absolute[i] = std::abs(rounded[i]);
    for (int64_t s = 0; s < seqs.count(); ++s)
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t at = seqs.offsets[s] * 3 * width + h * d, L = seqs.length(s);
        const float* q = rounded.data() + at;
        reference_head(q, 3 * width, q + width, q + 2 * width, 3 * width, L, L, d, causal,
                       want.data() + seqs.offsets[s] * width + h * d, width);
        // Σ p |v|: the size of the sum each output is, which rounding p to bf16 errs relative to.
        reference_head(q, 3 * width, q + width, absolute.data() + at + 2 * width, 3 * width, L, L, d, causal,
                       magnitude.data() + seqs.offsets[s] * width + h * d, width);
      }
    // bf16 keeps 8 significant bits: the output's own rounding and the probabilities' each err by
    // at most half a unit of 2^-7 of what they round.
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_NEAR(got[i], want[i], 2e-5f + (std::abs(want[i]) + magnitude[i]) / 256) << "at " << i << " causal=" << causal;
  }
}

// A last block's attention from its pooled rows alone: one query per sequence (at its start, in
// the middle, at its end), k and v for every row, equals those rows of the whole attention, fp32
// and bf16 (through the bf16 kernel or its fallback, as the whole attention goes), causal or not.
TEST(Attention, PooledRowsEqualThoseRowsOfTheWholeAttention) {
  const auto backend = kernels::make_cpu_backend();
  const int64_t heads = 4, d = 64, width = heads * d;
  kernels::SequenceLayout seqs;
  seqs.offsets = {0, 50, 57, 134, 135};
  const std::vector<int64_t> rows = {0, 53, 133, 134};  // first, middle, last, a sequence of one
  const int64_t tokens = seqs.tokens(), r = static_cast<int64_t>(rows.size());
  for (const auto type : {kernels::ElementType::F32, kernels::ElementType::BF16}) {
    for (bool causal : {false, true}) {
      auto qkv = random_values(static_cast<size_t>(tokens * 3 * width), 23 + causal, 1.5f);
      std::vector<float> q(static_cast<size_t>(r * width)), kv(static_cast<size_t>(tokens * 2 * width));
      for (int64_t i = 0; i < r; ++i)
        std::copy_n(qkv.data() + rows[i] * 3 * width, width, q.data() + i * width);
      for (int64_t t = 0; t < tokens; ++t)
        std::copy_n(qkv.data() + t * 3 * width + width, 2 * width, kv.data() + t * 2 * width);
      std::vector<float> whole(static_cast<size_t>(tokens * width)), got(static_cast<size_t>(r * width));
      if (type == kernels::ElementType::F32) {
        kernels::self_attention({qkv.data(), type}, seqs, width, heads, causal, {whole.data(), type});
        backend->attention_pooled({q.data(), type}, {kv.data(), type}, seqs, rows, width, heads, causal,
                                  {got.data(), type});
      } else {
        const auto narrow = [](const std::vector<float>& v) {
          std::vector<uint16_t> n(v.size());
          kernels::narrow_to_bf16(v.data(), v.size(), n.data());
          return n;
        };
        auto qkv16 = narrow(qkv), q16 = narrow(q), kv16 = narrow(kv);
        std::vector<uint16_t> whole16(whole.size()), got16(got.size());
        kernels::self_attention({qkv16.data(), type}, seqs, width, heads, causal, {whole16.data(), type});
        backend->attention_pooled({q16.data(), type}, {kv16.data(), type}, seqs, rows, width, heads, causal,
                                  {got16.data(), type});
        kernels::widen_from_bf16(whole16.data(), whole16.size(), whole.data());
        kernels::widen_from_bf16(got16.data(), got16.size(), got.data());
      }
      for (int64_t i = 0; i < r; ++i)
        for (int64_t c = 0; c < width; ++c)
          ASSERT_NEAR(got[i * width + c], whole[rows[i] * width + c], 1e-6f + std::abs(whole[rows[i] * width + c]) / 1e6f)
              << "row " << rows[i] << " column " << c << " causal=" << causal << " bf16=" << (type != kernels::ElementType::F32);
    }
  }
  // One pooled row per sequence, inside it.
  std::vector<float> q(static_cast<size_t>(r * width)), kv(static_cast<size_t>(tokens * 2 * width)), out(q.size());
  const kernels::View qv{q.data(), kernels::ElementType::F32}, kvv{kv.data(), kernels::ElementType::F32},
      outv{out.data(), kernels::ElementType::F32};
  EXPECT_THROW(backend->attention_pooled(qv, kvv, seqs, {0, 53, 133}, width, heads, false, outv), Error);
  EXPECT_THROW(backend->attention_pooled(qv, kvv, seqs, {0, 49, 133, 134}, width, heads, false, outv), Error);
}

// The bf16 dot-product kernel itself at every length around its blocks (16 keys, pairs of keys,
// groups of 4 queries) and head sizes of 1 to 5 blocks of 16; on a CPU without bf16 dot
// products it must decline (the test above then checks the fallback).
TEST(Attention, Bf16KernelMatchesThePlainDefinitionAtEveryLength) {
  std::vector<float> scratch;
  for (int64_t d : {64, 16, 32, 80}) {
    for (bool causal : {false, true}) {
      for (int64_t L : {1, 2, 3, 4, 5, 7, 15, 16, 17, 33, 50, 77, 130}) {
        const auto wide = random_values(static_cast<size_t>(L * 3 * d), uint32_t(L * 13 + d) + causal, 1.5f);
        std::vector<uint16_t> qkv(wide.size());
        kernels::narrow_to_bf16(wide.data(), wide.size(), qkv.data());
        std::vector<float> rounded(wide.size()), absolute(wide.size());
        kernels::widen_from_bf16(qkv.data(), qkv.size(), rounded.data());
        for (size_t i = 0; i < rounded.size(); ++i) absolute[i] = std::abs(rounded[i]);
        std::vector<float> got(static_cast<size_t>(L * d), -7.0f), want(got.size()), magnitude(got.size());
        const bool ran = kernels::attend_head_bf16({qkv.data(), 3 * d, qkv.data() + d, qkv.data() + 2 * d, 3 * d, L, L,
                                                    d, 1.0f / std::sqrt(float(d)), causal},
                                                   got.data(), d, scratch);
        if (!kernels::cpu_features().avx512_bf16) {
          EXPECT_FALSE(ran);
          return;
        }
        ASSERT_TRUE(ran);
        const float* q = rounded.data();
        reference_head(q, 3 * d, q + d, q + 2 * d, 3 * d, L, L, d, causal, want.data(), d);
        reference_head(q, 3 * d, q + d, absolute.data() + 2 * d, 3 * d, L, L, d, causal, magnitude.data(), d);
        for (size_t i = 0; i < got.size(); ++i)
          ASSERT_NEAR(got[i], want[i], 2e-5f + magnitude[i] / 256) << "d=" << d << " L=" << L << " causal=" << causal;
      }
    }
  }
  EXPECT_FALSE(kernels::attend_head_bf16({nullptr, 72, nullptr, nullptr, 72, 4, 4, 24, 1.0f, false}, nullptr, 24,
                                         scratch));  // 24 values a head: not whole blocks of 16
}

TEST(Attention, SingleQueryPoolingMatchesThePlainDefinition) {
  const auto be = kernels::make_cpu_backend();
  for (int64_t d : {64, 24}) {
    const int64_t heads = 4, width = heads * d;
    kernels::SequenceLayout seqs;
    seqs.offsets = {0, 50, 51, 200};  // lengths 50, 1, 149
    const auto q = random_values(static_cast<size_t>(seqs.count() * width), 3, 1.5f);
    const auto kv = random_values(static_cast<size_t>(seqs.tokens() * 2 * width), 4, 1.5f);
    std::vector<float> got(static_cast<size_t>(seqs.count() * width), -7.0f), want(got.size());
    be->attention_single_query(q.data(), kv.data(), seqs, width, heads, got.data());
    for (int64_t s = 0; s < seqs.count(); ++s)
      for (int64_t h = 0; h < heads; ++h) {
        const float* k = kv.data() + seqs.offsets[s] * 2 * width + h * d;
        reference_head(q.data() + s * width + h * d, width, k, k + width, 2 * width, 1, seqs.length(s), d, false,
                       want.data() + s * width + h * d, width);
      }
    EXPECT_LT(max_abs_difference(got, want), 2e-5f) << "d=" << d;
  }
}

// Each compiled form of the head kernel this CPU runs (16-float vectors for AVX-512, 8 for AVX2,
// 4 for the baseline), not only the one the backend picks: query groups of four and the single
// queries after them, causal and not, ragged head sizes.
TEST(Attention, EveryCompiledFormMatchesThePlainDefinition) {
  int checked = 0;
  for (int level : {4, 3, 1}) {
    if (level > cpu_isa_level()) continue;
    ++checked;
    for (int64_t d : {64, 24, 8}) {
      for (bool causal : {false, true}) {
        for (int64_t L : {1, 3, 4, 7, 16, 50, 77}) {
          const auto qkv = random_values(static_cast<size_t>(L * 3 * d), uint32_t(L * 7 + d) + causal, 1.5f);
          std::vector<float> got(static_cast<size_t>(L * d), -7.0f), want(got.size()), scratch;
          kernels::attend_head({qkv.data(), 3 * d, qkv.data() + d, qkv.data() + 2 * d, 3 * d, L, L, d,
                                1.0f / std::sqrt(float(d)), causal},
                               got.data(), d, scratch, level);
          reference_head(qkv.data(), 3 * d, qkv.data() + d, qkv.data() + 2 * d, 3 * d, L, L, d, causal, want.data(), d);
          EXPECT_LT(max_abs_difference(got, want), 2e-5f)
              << "level " << level << " d=" << d << " L=" << L << " causal=" << causal;
        }
      }
    }
  }
  EXPECT_GE(checked, 1);  // the baseline runs everywhere
}
