#include "train/layers.h"

#include <algorithm>
#include <cmath>

#include "core/thread_pool.h"
#include "train/linalg.h"

namespace clipdex::train {
namespace {

constexpr float kQuickGeluAlpha = 1.702f;

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

void activate(bool quick, const float* f, float* g, int64_t n) {
  ThreadPool::global().parallel_for(static_cast<size_t>(n), [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i)
      g[i] = quick ? f[i] * sigmoid(kQuickGeluAlpha * f[i]) : 0.5f * f[i] * (1.0f + std::erf(f[i] * float(M_SQRT1_2)));
  });
}

// dg in, df out (in place): df = dg * act'(f).
void activate_backward(bool quick, const float* f, float* d, int64_t n) {
  ThreadPool::global().parallel_for(static_cast<size_t>(n), [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      const float x = f[i];
      float grad;
      if (quick) {
        const float s = sigmoid(kQuickGeluAlpha * x);
        grad = s + kQuickGeluAlpha * x * s * (1.0f - s);
      } else {
        grad = 0.5f * (1.0f + std::erf(x * float(M_SQRT1_2))) + x * std::exp(-0.5f * x * x) * float(0.5 * M_2_SQRTPI * M_SQRT1_2);
      }
      d[i] *= grad;
    }
  });
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
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < out; ++o) y[r * out + o] += bias[static_cast<size_t>(o)];
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
  c.probs.assign(static_cast<size_t>(poff.back()), 0.0f);
  c.attn.assign(static_cast<size_t>(rows * w), 0.0f);
  ThreadPool::global().parallel_for(static_cast<size_t>(seqs.count() * heads), [&](size_t jb, size_t je) {
    for (size_t job = jb; job < je; ++job) {
      const int64_t s = static_cast<int64_t>(job) / heads, h = static_cast<int64_t>(job) % heads;
      const int64_t L = seqs.length(s), off = seqs.offsets[s];
      float* P = c.probs.data() + poff[s] + h * L * L;
      for (int64_t i = 0; i < L; ++i) {
        const float* q = c.qkv.data() + (off + i) * 3 * w + h * hd;
        const int64_t keys = causal ? i + 1 : L;
        float* p = P + i * L;
        float mx = -INFINITY;
        for (int64_t j = 0; j < keys; ++j) {
          const float* k = c.qkv.data() + (off + j) * 3 * w + w + h * hd;
          float d = 0;
          for (int64_t t = 0; t < hd; ++t) d += q[t] * k[t];
          p[j] = d * scale;
          mx = std::max(mx, p[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j < keys; ++j) sum += (p[j] = std::exp(p[j] - mx));
        const float inv = static_cast<float>(1.0 / sum);
        float* o = c.attn.data() + (off + i) * w + h * hd;
        for (int64_t j = 0; j < keys; ++j) {
          p[j] *= inv;
          const float* v = c.qkv.data() + (off + j) * 3 * w + 2 * w + h * hd;
          for (int64_t t = 0; t < hd; ++t) o[t] += p[j] * v[t];
        }
      }
    }
  });
  std::vector<float> branch(static_cast<size_t>(rows * w));
  out_proj.forward(c.attn.data(), rows, branch.data(), c.out_proj);
  for (size_t i = 0; i < x.size(); ++i) x[i] += branch[i];
  c.x2 = x;
  c.h2.resize(static_cast<size_t>(rows * w));
  ln_2.forward(x.data(), rows, c.h2.data(), c.ln_2);
  c.pre.resize(static_cast<size_t>(rows * mlp));
  fc.forward(c.h2.data(), rows, c.pre.data(), c.fc);
  c.act.resize(c.pre.size());
  activate(quick_gelu, c.pre.data(), c.act.data(), rows * mlp);
  proj.forward(c.act.data(), rows, branch.data(), c.proj);
  for (size_t i = 0; i < x.size(); ++i) x[i] += branch[i];
}

void Block::backward(std::vector<float>& dx, const Sequences& seqs, const Cache& c) const {
  const int64_t rows = seqs.rows(), w = width, hd = width / heads, mlp = fc.out;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  // MLP branch: out = x2 + proj(act(fc(ln_2(x2)))).
  std::vector<float> dmid(static_cast<size_t>(rows * mlp));
  proj.backward(c.act.data(), dx.data(), rows, c.proj, dmid.data());
  activate_backward(quick_gelu, c.pre.data(), dmid.data(), rows * mlp);
  std::vector<float> dh(static_cast<size_t>(rows * w)), dln(static_cast<size_t>(rows * w));
  fc.backward(c.h2.data(), dmid.data(), rows, c.fc, dh.data());
  ln_2.backward(dh.data(), rows, c.ln_2, dln.data());
  for (size_t i = 0; i < dx.size(); ++i) dx[i] += dln[i];
  // Attention branch: x2 = x + out_proj(attention(in_proj(ln_1(x)))).
  std::vector<float> dattn(static_cast<size_t>(rows * w));
  out_proj.backward(c.attn.data(), dx.data(), rows, c.out_proj, dattn.data());
  std::vector<float> dqkv(static_cast<size_t>(rows * 3 * w), 0.0f);
  const auto poff = prob_offsets(seqs, heads);
  ThreadPool::global().parallel_for(static_cast<size_t>(seqs.count() * heads), [&](size_t jb, size_t je) {
    std::vector<float> dp;
    for (size_t job = jb; job < je; ++job) {
      const int64_t s = static_cast<int64_t>(job) / heads, h = static_cast<int64_t>(job) % heads;
      const int64_t L = seqs.length(s), off = seqs.offsets[s];
      const float* P = c.probs.data() + poff[s] + h * L * L;
      auto q_of = [&](int64_t i) { return c.qkv.data() + (off + i) * 3 * w + h * hd; };
      auto dq_of = [&](int64_t i) { return dqkv.data() + (off + i) * 3 * w + h * hd; };
      dp.resize(static_cast<size_t>(L));
      for (int64_t i = 0; i < L; ++i) {
        const float* da = dattn.data() + (off + i) * w + h * hd;
        const float* p = P + i * L;
        // dV_j += P_ij dA_i;  dP_ij = dA_i . v_j;  dS_ij = P_ij (dP_ij - sum_k dP_ik P_ik) * scale.
        double rowdot = 0;
        for (int64_t j = 0; j < L; ++j) {
          if (p[j] == 0.0f) {
            dp[j] = 0;
            continue;
          }
          const float* v = q_of(j) + 2 * w;
          float* dv = dq_of(j) + 2 * w;
          float d = 0;
          for (int64_t t = 0; t < hd; ++t) {
            d += da[t] * v[t];
            dv[t] += p[j] * da[t];
          }
          dp[j] = d;
          rowdot += static_cast<double>(d) * p[j];
        }
        float* dq = dq_of(i);
        const float* q = q_of(i);
        for (int64_t j = 0; j < L; ++j) {
          if (p[j] == 0.0f) continue;
          const float ds = p[j] * (dp[j] - static_cast<float>(rowdot)) * scale;
          const float* k = q_of(j) + w;
          float* dk = dq_of(j) + w;
          for (int64_t t = 0; t < hd; ++t) {
            dq[t] += ds * k[t];
            dk[t] += ds * q[t];
          }
        }
      }
    }
  });
  in_proj.backward(c.h1.data(), dqkv.data(), rows, c.in_proj, dh.data());
  ln_1.backward(dh.data(), rows, c.ln_1, dln.data());
  for (size_t i = 0; i < dx.size(); ++i) dx[i] += dln[i];
}

}  // namespace clipdex::train
