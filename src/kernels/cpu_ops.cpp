// Layer norm and attention on the CPU, parallelised over rows or (sequence, head) pairs.
#include "kernels/cpu_ops.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/half.h"
#include "core/isa_clones.h"
#include "core/thread_pool.h"
#include "kernels/attention_head.h"
#include "kernels/bf16_rows.h"
#include "kernels/lane_reduce.h"
#include "kernels/quantize.h"

namespace clipdex::kernels {
namespace {

// Calls fn(sequence, head, row0, length, scratch) for every (sequence, head) pair on the pool;
// each task keeps one scratch buffer for its pairs.
template <typename Fn>
void for_each_sequence_head(const SequenceLayout& seqs, int64_t heads, Fn fn) {
  const auto pairs = static_cast<size_t>(seqs.count() * heads);
  // A short text query's few scores per head cost less than waking a worker.
  const int64_t scores = seqs.tokens() * seqs.tokens() / std::max<int64_t>(1, seqs.count());
  ThreadPool::global().parallel_for(pairs, [&](size_t b, size_t e) {
    std::vector<float> scratch;
    for (size_t job = b; job < e; ++job) {
      const int64_t s = static_cast<int64_t>(job) / heads, h = static_cast<int64_t>(job) % heads;
      fn(s, h, seqs.offsets[s], seqs.length(s), scratch);
    }
  }, scores < 1024 ? pairs : 1);
}

}  // namespace

// BLAS runs single-threaded inside pool tasks: its own workers would spin against the pool's.
CpuOpsBackend::CpuOpsBackend() { openblas_set_num_threads(1); }

int64_t CpuOpsBackend::image_batch() const {
  return std::clamp<int64_t>(4 * static_cast<int64_t>(ThreadPool::global().active()), 8, max_batch());
}

// Four images per thread's own pass: 200 rows of ViT-B/32 per GEMM, as a shared pass of 8 gave
// each thread before; passes of 2 and 3 images per thread ran slower (int8, Zen 5).
int64_t CpuOpsBackend::thread_image_batch() const { return 4; }

// Sixteen captions per thread's own pass: 256 captions of 5-20 words (model_bench --text-batch)
// ran 1-4% faster than shared passes of 32 (int8, fp32; bf16 the same) on Zen 5; 8 no faster.
int64_t CpuOpsBackend::thread_text_batch() const { return 16; }

void sgemm_nt(const float* x, int64_t m, int64_t k, const float* w, int64_t n, float* y, int64_t ldy, bool accumulate) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f,
              x, static_cast<int>(k), w, static_cast<int>(k), accumulate ? 1.0f : 0.0f, y, static_cast<int>(ldy));
}

namespace {

// One row into fp32 y, or (y null) rounded into bf16 y_bf16 as it is written.
CLIPDEX_ISA_CLONES void layer_norm_row(const float* x, int64_t dim, const float* gamma, const float* beta, float eps,
                                       float* y, uint16_t* y_bf16) {
  const double mean = lane_sum(x, dim) / static_cast<double>(dim);
  const float mu = static_cast<float>(mean);
  const double var = lane_squared_deviation(x, dim, mu) / static_cast<double>(dim);
  const float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
  if (y)
    for (int64_t j = 0; j < dim; ++j) y[j] = (x[j] - mu) * inv * gamma[j] + beta[j];
  else
    write_bf16_row(dim, y_bf16, [&](int64_t j) { return (x[j] - mu) * inv * gamma[j] + beta[j]; });
}

}  // namespace

void layer_norm_rows(const float* x, int64_t rows, int64_t dim, const float* gamma, const float* beta, float eps,
                     float* y, uint16_t* y_bf16) {
  ThreadPool::global().parallel_for(
      static_cast<size_t>(rows),
      [&](size_t b, size_t e) {
        for (size_t r = b; r < e; ++r)
          layer_norm_row(x + r * dim, dim, gamma, beta, eps, y ? y + r * dim : nullptr, y ? nullptr : y_bf16 + r * dim);
      },
      row_grain(dim));
}

void layer_norm_quantize_rows(const float* x, int64_t rows, int64_t dim, const float* gamma, const float* beta,
                              float eps, float levels, uint8_t* q, float* scale, int32_t* zero) {
  ThreadPool::global().parallel_for(
      static_cast<size_t>(rows),
      [&](size_t b, size_t e) {
        thread_local std::vector<float> normed;  // one row, in L1 between the two steps
        if (normed.size() < static_cast<size_t>(dim)) normed.resize(static_cast<size_t>(dim));
        for (size_t r = b; r < e; ++r) {
          layer_norm_row(x + r * dim, dim, gamma, beta, eps, normed.data(), nullptr);
          quantize_rows_u8(normed.data(), 1, dim, levels, q + r * dim, scale + r, zero + r);
        }
      },
      row_grain(dim));
}

void CpuOpsBackend::layer_norm_f32(const float* x, int64_t rows, int64_t dim, const float* gamma, const float* beta,
                                   float eps, float* y) {
  layer_norm_rows(x, rows, dim, gamma, beta, eps, y, nullptr);
}

namespace {

// One head's rows, fp32 or bf16 (strides in values): `queries` query rows against `keys` key and
// value rows, each query seeing keys up to its own position with `causal`.
struct HeadRows {
  View q, k, v;
  int64_t ldq = 0, ldkv = 0, queries = 0, keys = 0, d = 0;
  bool causal = false;
};

// Attends one head into fp32 dst (row stride ldo). bf16 rows go to the bf16 dot-product kernel
// where the CPU has one, else are widened (into fp32 staging) for the fp32 kernel.
void attend_rows(const HeadRows& r, float* dst, int64_t ldo, std::vector<float>& scratch) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(r.d));
  if (const float* q = r.q.f32_or_null())
    return attend_head({q, r.ldq, r.k.f32(), r.v.f32(), r.ldkv, r.queries, r.keys, r.d, scale, r.causal}, dst, ldo,
                       scratch);
  const uint16_t *q = r.q.bf16(), *k = r.k.bf16(), *v = r.v.bf16();
  if (attend_head_bf16({q, r.ldq, k, v, r.ldkv, r.queries, r.keys, r.d, scale, r.causal}, dst, ldo, scratch)) return;
  thread_local std::vector<float> wide;  // the queries' rows, then the keys', then the values'
  const auto need = static_cast<size_t>((r.queries + 2 * r.keys) * r.d);
  if (wide.size() < need) wide.resize(need);
  float* wq = wide.data();
  float* wk = wq + r.queries * r.d;
  float* wv = wk + r.keys * r.d;
  const auto d = static_cast<size_t>(r.d);
  for (int64_t i = 0; i < r.queries; ++i) widen_from_bf16(q + i * r.ldq, d, wq + i * r.d);
  for (int64_t j = 0; j < r.keys; ++j) {
    widen_from_bf16(k + j * r.ldkv, d, wk + j * r.d);
    widen_from_bf16(v + j * r.ldkv, d, wv + j * r.d);
  }
  attend_head({wq, r.d, wk, wv, r.d, r.queries, r.keys, r.d, scale, r.causal}, dst, ldo, scratch);
}

// Attends one head into out (rows of `width`, head h's d columns from row0 on): fp32 straight
// into place; bf16 staged in fp32, then rounded into place.
void attend_into(const HeadRows& r, View out, int64_t width, int64_t row0, int64_t h, std::vector<float>& scratch) {
  if (float* o = out.f32_or_null()) return attend_rows(r, o + row0 * width + h * r.d, width, scratch);
  thread_local std::vector<float> staged;
  if (staged.size() < static_cast<size_t>(r.queries * r.d)) staged.resize(static_cast<size_t>(r.queries * r.d));
  attend_rows(r, staged.data(), r.d, scratch);
  uint16_t* o = out.bf16() + row0 * width + h * r.d;
  for (int64_t i = 0; i < r.queries; ++i)
    narrow_to_bf16(staged.data() + i * r.d, static_cast<size_t>(r.d), o + i * width);
}

// One query per sequence, q [sequences, width], against its sequence's rows of kv [tokens,
// 2*width] (k | v), into out [sequences, width]: the first keys(s, row0, length) of them
// (attention pooling sees all; a causal pooled row those up to its own).
template <typename Keys>
void attend_one_query_each(View q, View kv, const SequenceLayout& seqs, int64_t width, int64_t heads, View out,
                           Keys keys) {
  const int64_t d = width / heads, ld = 2 * width;
  for_each_sequence_head(seqs, heads, [&](int64_t s, int64_t h, int64_t row0, int64_t L, std::vector<float>& scratch) {
    const View k = kv.at(row0 * ld + h * d);
    attend_into({q.at(s * width + h * d), k, k.at(width), width, ld, 1, keys(s, row0, L), d, false}, out, width, s, h,
                scratch);
  });
}

}  // namespace

// qkv [tokens, 3*width] holds q | k | v; each (sequence, head) attends within its sequence.
void self_attention(View qkv, const SequenceLayout& seqs, int64_t width, int64_t heads, bool causal, View out) {
  const int64_t d = width / heads, ld = 3 * width;
  for_each_sequence_head(seqs, heads, [&](int64_t, int64_t h, int64_t row0, int64_t L, std::vector<float>& scratch) {
    const View q = qkv.at(row0 * ld + h * d);
    attend_into({q, q.at(width), q.at(2 * width), ld, ld, L, L, d, causal}, out, width, row0, h, scratch);
  });
}

void CpuOpsBackend::attention_pooled(View q, View kv, const SequenceLayout& seqs, const std::vector<int64_t>& rows,
                                     int64_t width, int64_t heads, bool causal, View out) {
  if (static_cast<int64_t>(rows.size()) != seqs.count())
    throw Error("attention_pooled: one pooled row per sequence");
  attend_one_query_each(q, kv, seqs, width, heads, out, [&](int64_t s, int64_t row0, int64_t L) {
    const int64_t at = rows[static_cast<size_t>(s)] - row0;  // the query's position in its sequence
    if (at < 0 || at >= L) throw Error("attention_pooled: a pooled row lies outside its sequence");
    return causal ? at + 1 : L;
  });
}

void CpuOpsBackend::attention_f32(const float* qkv, const SequenceLayout& seqs, int64_t width, int64_t heads, bool causal,
                                  float* out) {
  self_attention({const_cast<float*>(qkv), ElementType::F32}, seqs, width, heads, causal, {out, ElementType::F32});
}

void CpuOpsBackend::attention_single_query(const float* q, const float* kv, const SequenceLayout& seqs, int64_t width,
                                           int64_t heads, float* out) {
  attend_one_query_each({const_cast<float*>(q), ElementType::F32}, {const_cast<float*>(kv), ElementType::F32}, seqs,
                        width, heads, {out, ElementType::F32}, [](int64_t, int64_t, int64_t L) { return L; });
}

}  // namespace clipdex::kernels
