#include "train/adamw.h"

#include <cmath>

namespace clipdex::train {
namespace {

void update(std::vector<float>& p, const std::vector<float>& g, std::vector<float>& m, std::vector<float>& v,
            const AdamW& o, int64_t t) {
  const double bias1 = 1.0 - std::pow(o.beta1, static_cast<double>(t));
  const double bias2_sqrt = std::sqrt(1.0 - std::pow(o.beta2, static_cast<double>(t)));
  const double step = o.lr / bias1;
  for (size_t i = 0; i < p.size(); ++i) {
    double x = static_cast<double>(p[i]) * (1.0 - o.lr * o.weight_decay);
    const double mi = o.beta1 * m[i] + (1.0 - o.beta1) * g[i];
    const double vi = o.beta2 * v[i] + (1.0 - o.beta2) * static_cast<double>(g[i]) * g[i];
    m[i] = static_cast<float>(mi);
    v[i] = static_cast<float>(vi);
    x -= step * mi / (std::sqrt(vi) / bias2_sqrt + o.eps);
    p[i] = static_cast<float>(x);
  }
}

}  // namespace

void AdamW::step(LoraSet& lora, int64_t t) const {
  for (auto& [name, tensor] : lora.modules()) {
    update(tensor.a, tensor.grad_a, tensor.m_a, tensor.v_a, *this, t);
    update(tensor.b, tensor.grad_b, tensor.m_b, tensor.v_b, *this, t);
  }
}

}  // namespace clipdex::train
