#include "train/layers.h"

#include <algorithm>
#include <cmath>

#include <cblas.h>

#include "core/thread_pool.h"
#include "kernels/fast_math.h"
#include "core/isa_clones.h"
#include "train/linalg.h"

namespace clipdex::train {
namespace {

constexpr float kQuickGeluAlpha = 1.702f;
constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

// The element-wise loops, compiled per ISA level with vectorisable exp / erf (kernels/fast_math.h).
CLIPDEX_ISA_CLONES void quick_gelu_range(const float* f, float* g, size_t n) {
  for (size_t i = 0; i < n; ++i) g[i] = f[i] / (1.0f + kernels::fast_exp(-kQuickGeluAlpha * f[i]));
}

CLIPDEX_ISA_CLONES void gelu_range(const float* f, float* g, size_t n) {
  for (size_t i = 0; i < n; ++i) g[i] = 0.5f * f[i] * (1.0f + kernels::fast_erf(f[i] * kInvSqrt2));
}

// d *= act'(f). QuickGELU: s + 1.702 x s (1 - s), s = sigmoid(1.702 x).
CLIPDEX_ISA_CLONES void quick_gelu_backward_range(const float* f, float* d, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float sg = 1.0f / (1.0f + kernels::fast_exp(-kQuickGeluAlpha * f[i]));
    d[i] *= sg + kQuickGeluAlpha * f[i] * sg * (1.0f - sg);
  }
}

// GELU: Phi(x) + x phi(x).
CLIPDEX_ISA_CLONES void gelu_backward_range(const float* f, float* d, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float x = f[i];
    d[i] *= 0.5f * (1.0f + kernels::fast_erf(x * kInvSqrt2)) + x * kInvSqrt2Pi * kernels::fast_exp(-0.5f * x * x);
  }
}

CLIPDEX_ISA_CLONES void add_range(float* y, const float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] += x[i];
}

void activate(bool quick, const float* f, float* g, int64_t n) {
  ThreadPool::global().parallel_for(static_cast<size_t>(n), [&](size_t b, size_t e) {
    (quick ? quick_gelu_range : gelu_range)(f + b, g + b, e - b);
  });
}

void activate_backward(bool quick, const float* f, float* d, int64_t n) {
  ThreadPool::global().parallel_for(static_cast<size_t>(n), [&](size_t b, size_t e) {
    (quick ? quick_gelu_backward_range : gelu_backward_range)(f + b, d + b, e - b);
  });
}

// y += x over n values (residual connections), on the pool.
void add_into(float* y, const float* x, size_t n) {
  ThreadPool::global().parallel_for(n, [&](size_t b, size_t e) { add_range(y + b, x + b, e - b); });
}

// Softmax of each row of P [L, L] in place; with `causal`, row i keeps keys 0..i (the rest 0).
CLIPDEX_ISA_CLONES void softmax_rows(float* P, int64_t L, bool causal) {
  for (int64_t i = 0; i < L; ++i) {
    float* p = P + i * L;
    const int64_t keys = causal ? i + 1 : L;
    float mx = p[0];
    for (int64_t j = 1; j < keys; ++j) mx = std::max(mx, p[j]);
    float sum = 0;
    for (int64_t j = 0; j < keys; ++j) sum += (p[j] = kernels::fast_exp(p[j] - mx));
    const float inv = 1.0f / sum;
    for (int64_t j = 0; j < keys; ++j) p[j] *= inv;
    for (int64_t j = keys; j < L; ++j) p[j] = 0.0f;
  }
}

// dS = P * (dP - rowsum(dP * P)) * scale, in place in dP [L, L].
CLIPDEX_ISA_CLONES void softmax_backward_rows(const float* P, float* dP, int64_t L, float scale) {
  for (int64_t i = 0; i < L; ++i) {
    const float* p = P + i * L;
    float* d = dP + i * L;
    float dot = 0;
    for (int64_t j = 0; j < L; ++j) dot += d[j] * p[j];
    for (int64_t j = 0; j < L; ++j) d[j] = p[j] * (d[j] - dot) * scale;
  }
}

void sgemm1(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
            int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta, c,
              static_cast<int>(ldc));
}

// Where each sequence's attention probabilities start in Block::Cache::probs ([heads, L, L] each).
std::vector<int64_t> prob_offsets(const Sequences& seqs, int64_t heads) {
  std::vector<int64_t> off{0};
  for (int64_t s = 0; s < seqs.count(); ++s) off.push_back(off.back() + heads * seqs.length(s) * seqs.length(s));
  return off;
}

}  // namespace

void FrozenLinear::forward(const float* x, int64_t rows, float* y, Cache& cache) const {
  gemm(false, true, rows, out, in, 1.0f, x, in, weight.data(), in, 0.0f, y, out);
  if (!bias.empty())
    ThreadPool::global().parallel_for(static_cast<size_t>(rows), [&](size_t b, size_t e) {
      for (size_t r = b; r < e; ++r) add_range(y + r * out, bias.data(), static_cast<size_t>(out));
    });
  cache.ax.resize(lora.size());
  for (size_t i = 0; i < lora.size(); ++i) {
    const LoraTensor& t = *lora[i].tensor;
    auto& ax = cache.ax[i];
    ax.resize(static_cast<size_t>(rows * t.rank));
    gemm(false, true, rows, t.rank, in, 1.0f, x, in, t.a.data(), in, 0.0f, ax.data(), t.rank);
    gemm(false, true, rows, t.out, t.rank, lora[i].scale, ax.data(), t.rank, t.b.data(), t.rank, 1.0f, y + lora[i].row0, out);
  }
}

void FrozenLinear::backward(const float* x, const float* dy, int64_t rows, const Cache& cache, float* dx) const {
  if (dx) gemm(false, false, rows, in, out, 1.0f, dy, out, weight.data(), in, 0.0f, dx, in);
  std::vector<float> dax;
  for (size_t i = 0; i < lora.size(); ++i) {
    LoraTensor& t = *lora[i].tensor;
    const float s = lora[i].scale;
    const float* dys = dy + lora[i].row0;  // this site's block of output columns, row stride `out`
    // dB += s * dys^T (A x);  d(A x) = s * dys B;  dA += d(A x)^T x;  dx += d(A x) A.
    gemm(true, false, t.out, t.rank, rows, s, dys, out, cache.ax[i].data(), t.rank, 1.0f, t.grad_b.data(), t.rank);
    dax.resize(static_cast<size_t>(rows * t.rank));
    gemm(false, false, rows, t.rank, t.out, s, dys, out, t.b.data(), t.rank, 0.0f, dax.data(), t.rank);
    gemm(true, false, t.rank, in, rows, 1.0f, dax.data(), t.rank, x, in, 1.0f, t.grad_a.data(), in);
    if (dx) gemm(false, false, rows, in, t.rank, 1.0f, dax.data(), t.rank, t.a.data(), in, 1.0f, dx, in);
  }
}

void LayerNormWeights::forward(const float* x, int64_t rows, float* y, Cache& cache) const {
  const int64_t dim = static_cast<int64_t>(gamma.size());
  cache.xhat.resize(static_cast<size_t>(rows * dim));
  cache.rstd.resize(static_cast<size_t>(rows));
  ThreadPool::global().parallel_for(static_cast<size_t>(rows), [&](size_t b, size_t e) {
    for (size_t r = b; r < e; ++r) {
      const float* xr = x + r * dim;
      double sum = 0, sq = 0;
      for (int64_t i = 0; i < dim; ++i) sum += xr[i];
      const double mean = sum / static_cast<double>(dim);
      for (int64_t i = 0; i < dim; ++i) sq += (xr[i] - mean) * (xr[i] - mean);
      const float rstd = static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(dim) + eps));
      cache.rstd[r] = rstd;
      float* xh = cache.xhat.data() + r * dim;
      for (int64_t i = 0; i < dim; ++i) {
        xh[i] = static_cast<float>(xr[i] - mean) * rstd;
        y[r * dim + i] = xh[i] * gamma[static_cast<size_t>(i)] + beta[static_cast<size_t>(i)];
      }
    }
  });
}

void LayerNormWeights::backward(const float* dy, int64_t rows, const Cache& cache, float* dx) const {
  const int64_t dim = static_cast<int64_t>(gamma.size());
  ThreadPool::global().parallel_for(static_cast<size_t>(rows), [&](size_t b, size_t e) {
    std::vector<float> g(static_cast<size_t>(dim));
    for (size_t r = b; r < e; ++r) {
      const float* xh = cache.xhat.data() + r * dim;
      double mean_g = 0, mean_gx = 0;
      for (int64_t i = 0; i < dim; ++i) {
        g[i] = dy[r * dim + i] * gamma[static_cast<size_t>(i)];
        mean_g += g[i];
        mean_gx += static_cast<double>(g[i]) * xh[i];
      }
      mean_g /= static_cast<double>(dim);
      mean_gx /= static_cast<double>(dim);
      for (int64_t i = 0; i < dim; ++i)
        dx[r * dim + i] = cache.rstd[r] * static_cast<float>(g[i] - mean_g - xh[i] * mean_gx);
    }
  });
}

void Block::forward(std::vector<float>& x, const Sequences& seqs, bool causal, Cache& c) const {
  const int64_t rows = seqs.rows(), w = width, hd = width / heads, mlp = fc.out;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  c.x = x;
  c.h1.resize(static_cast<size_t>(rows * w));
  ln_1.forward(x.data(), rows, c.h1.data(), c.ln_1);
  c.qkv.resize(static_cast<size_t>(rows * 3 * w));
  in_proj.forward(c.h1.data(), rows, c.qkv.data(), c.in_proj);
  const auto poff = prob_offsets(seqs, heads);
  c.probs.resize(static_cast<size_t>(poff.back()));
  c.attn.resize(static_cast<size_t>(rows * w));
  // Per sequence and head: P = softmax(scale Q K^T) (causal: keys up to the query), out = P V.
  ThreadPool::global().parallel_for(static_cast<size_t>(seqs.count() * heads), [&](size_t jb, size_t je) {
    for (size_t job = jb; job < je; ++job) {
      const int64_t s = static_cast<int64_t>(job) / heads, h = static_cast<int64_t>(job) % heads;
      const int64_t L = seqs.length(s), off = seqs.offsets[s];
      const float* q = c.qkv.data() + off * 3 * w + h * hd;
      float* P = c.probs.data() + poff[s] + h * L * L;
      sgemm1(false, true, L, L, hd, scale, q, 3 * w, q + w, 3 * w, 0.0f, P, L);
      softmax_rows(P, L, causal);
      sgemm1(false, false, L, hd, L, 1.0f, P, L, q + 2 * w, 3 * w, 0.0f, c.attn.data() + off * w + h * hd, w);
    }
  });
  c.branch.resize(static_cast<size_t>(rows * w));
  out_proj.forward(c.attn.data(), rows, c.branch.data(), c.out_proj);
  add_into(x.data(), c.branch.data(), x.size());
  c.x2 = x;
  c.h2.resize(static_cast<size_t>(rows * w));
  ln_2.forward(x.data(), rows, c.h2.data(), c.ln_2);
  c.pre.resize(static_cast<size_t>(rows * mlp));
  fc.forward(c.h2.data(), rows, c.pre.data(), c.fc);
  c.act.resize(c.pre.size());
  activate(quick_gelu, c.pre.data(), c.act.data(), rows * mlp);
  proj.forward(c.act.data(), rows, c.branch.data(), c.proj);
  add_into(x.data(), c.branch.data(), x.size());
}

void Block::backward(std::vector<float>& dx, const Sequences& seqs, const Cache& c, Scratch& t) const {
  const int64_t rows = seqs.rows(), w = width, hd = width / heads, mlp = fc.out;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  // MLP branch: out = x2 + proj(act(fc(ln_2(x2)))).
  t.mid.resize(static_cast<size_t>(rows * mlp));
  proj.backward(c.act.data(), dx.data(), rows, c.proj, t.mid.data());
  activate_backward(quick_gelu, c.pre.data(), t.mid.data(), rows * mlp);
  t.dh.resize(static_cast<size_t>(rows * w));
  t.dln.resize(static_cast<size_t>(rows * w));
  fc.backward(c.h2.data(), t.mid.data(), rows, c.fc, t.dh.data());
  ln_2.backward(t.dh.data(), rows, c.ln_2, t.dln.data());
  add_into(dx.data(), t.dln.data(), dx.size());
  // Attention branch: x2 = x + out_proj(attention(in_proj(ln_1(x)))).
  t.dattn.resize(static_cast<size_t>(rows * w));
  out_proj.backward(c.attn.data(), dx.data(), rows, c.out_proj, t.dattn.data());
  t.dqkv.resize(static_cast<size_t>(rows * 3 * w));
  const auto poff = prob_offsets(seqs, heads);
  ThreadPool::global().parallel_for(static_cast<size_t>(seqs.count() * heads), [&](size_t jb, size_t je) {
    std::vector<float> dS;
    for (size_t job = jb; job < je; ++job) {
      const int64_t s = static_cast<int64_t>(job) / heads, h = static_cast<int64_t>(job) % heads;
      const int64_t L = seqs.length(s), off = seqs.offsets[s];
      const float* P = c.probs.data() + poff[s] + h * L * L;
      const float* q = c.qkv.data() + off * 3 * w + h * hd;
      const float* da = t.dattn.data() + off * w + h * hd;
      float* dq = t.dqkv.data() + off * 3 * w + h * hd;
      dS.resize(static_cast<size_t>(L * L));
      // dP = dA V^T; dV = P^T dA; dS = P (dP - rowsum(dP P)) scale; dQ = dS K; dK = dS^T Q.
      sgemm1(false, true, L, L, hd, 1.0f, da, w, q + 2 * w, 3 * w, 0.0f, dS.data(), L);
      sgemm1(true, false, L, hd, L, 1.0f, P, L, da, w, 0.0f, dq + 2 * w, 3 * w);
      softmax_backward_rows(P, dS.data(), L, scale);
      sgemm1(false, false, L, hd, L, 1.0f, dS.data(), L, q + w, 3 * w, 0.0f, dq, 3 * w);
      sgemm1(true, false, L, hd, L, 1.0f, dS.data(), L, q, 3 * w, 0.0f, dq + w, 3 * w);
    }
  });
  in_proj.backward(c.h1.data(), t.dqkv.data(), rows, c.in_proj, t.dh.data());
  ln_1.backward(t.dh.data(), rows, c.ln_1, t.dln.data());
  add_into(dx.data(), t.dln.data(), dx.size());
}

}  // namespace clipdex::train
