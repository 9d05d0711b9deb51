#include "train/clip_loss.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace clipdex::train {
namespace {

// Unit rows (double) and the norms they were divided by.
std::vector<double> unit_rows(const std::vector<float>& f, int64_t n, int64_t dim, std::vector<double>& norms) {
  std::vector<double> u(f.begin(), f.end());
  norms.assign(static_cast<size_t>(n), 0.0);
  for (int64_t r = 0; r < n; ++r) {
    double s = 0;
    for (int64_t k = 0; k < dim; ++k) s += u[r * dim + k] * u[r * dim + k];
    norms[r] = std::max(std::sqrt(s), 1e-12);
    for (int64_t k = 0; k < dim; ++k) u[r * dim + k] /= norms[r];
  }
  return u;
}

// d/df of f / |f| applied to du: (du - u (u . du)) / |f|.
void unit_backward(const std::vector<double>& u, const std::vector<double>& norms, const std::vector<double>& du,
                   int64_t n, int64_t dim, std::vector<float>& df) {
  df.assign(static_cast<size_t>(n * dim), 0.0f);
  for (int64_t r = 0; r < n; ++r) {
    double dot = 0;
    for (int64_t k = 0; k < dim; ++k) dot += u[r * dim + k] * du[r * dim + k];
    for (int64_t k = 0; k < dim; ++k) df[r * dim + k] = static_cast<float>((du[r * dim + k] - u[r * dim + k] * dot) / norms[r]);
  }
}

}  // namespace

double clip_loss(const std::vector<float>& image, const std::vector<float>& text, int64_t n, int64_t dim,
                 double logit_scale, std::vector<float>& d_image, std::vector<float>& d_text) {
  if (n < 2) throw InputError("a contrastive batch needs at least two pairs");
  std::vector<double> in, tn;
  const auto iu = unit_rows(image, n, dim, in), tu = unit_rows(text, n, dim, tn);
  std::vector<double> logits(static_cast<size_t>(n * n));
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = 0; b < n; ++b) {
      double d = 0;
      for (int64_t k = 0; k < dim; ++k) d += iu[a * dim + k] * tu[b * dim + k];
      logits[a * n + b] = logit_scale * d;
    }
  // dlogits = (softmax over rows - I + softmax over columns - I) / (2n).
  std::vector<double> dlogits(static_cast<size_t>(n * n), 0.0);
  double loss = 0;
  for (const bool by_rows : {true, false}) {
    for (int64_t a = 0; a < n; ++a) {
      auto at = [&](int64_t b) -> size_t { return static_cast<size_t>(by_rows ? a * n + b : b * n + a); };
      double mx = -INFINITY, sum = 0;
      for (int64_t b = 0; b < n; ++b) mx = std::max(mx, logits[at(b)]);
      for (int64_t b = 0; b < n; ++b) sum += std::exp(logits[at(b)] - mx);
      loss += (mx + std::log(sum) - logits[at(a)]) / (2.0 * static_cast<double>(n));
      for (int64_t b = 0; b < n; ++b)
        dlogits[at(b)] += (std::exp(logits[at(b)] - mx) / sum - (a == b ? 1.0 : 0.0)) / (2.0 * static_cast<double>(n));
    }
  }
  std::vector<double> diu(static_cast<size_t>(n * dim), 0.0), dtu(static_cast<size_t>(n * dim), 0.0);
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = 0; b < n; ++b) {
      const double g = logit_scale * dlogits[a * n + b];
      for (int64_t k = 0; k < dim; ++k) {
        diu[a * dim + k] += g * tu[b * dim + k];
        dtu[b * dim + k] += g * iu[a * dim + k];
      }
    }
  unit_backward(iu, in, diu, n, dim, d_image);
  unit_backward(tu, tn, dtu, n, dim, d_text);
  return loss;
}

}  // namespace clipdex::train
