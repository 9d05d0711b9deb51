#include "search/query_terms.h"

#include <charconv>
#include <cmath>

#include "core/error.h"

namespace clipdex::search {

std::vector<float> combine_terms(const std::vector<WeightedVector>& terms) {
  if (terms.empty()) throw_input("the query has no terms");
  const size_t dim = terms.front().unit.size();
  std::vector<double> sum(dim, 0.0);
  for (const auto& t : terms) {
    if (!std::isfinite(t.weight)) throw_input("a query weight must be a finite number");
    if (t.unit.size() != dim) throw_input("query terms have different widths ({} and {})", dim, t.unit.size());
    for (size_t i = 0; i < dim; ++i) sum[i] += static_cast<double>(t.weight) * t.unit[i];
  }
  double norm = 0.0;
  for (double v : sum) norm += v * v;
  norm = std::sqrt(norm);
  // Terms of unit length: a sum this short is cancellation, not a direction.
  if (!(norm > 1e-6)) throw_input("the query's terms cancel out (their weighted sum is zero)");
  std::vector<float> out(dim);
  for (size_t i = 0; i < dim; ++i) out[i] = static_cast<float>(sum[i] / norm);
  return out;
}

std::pair<std::string, float> split_weight(const std::string& spec) {
  const auto colon = spec.rfind(':');
  if (colon == std::string::npos || colon + 1 == spec.size()) return {spec, 1.0f};
  const char* begin = spec.data() + colon + 1;
  const char* end = spec.data() + spec.size();
  float w = 0.0f;
  const auto [ptr, ec] = std::from_chars(begin, end, w);
  if (ec != std::errc() || ptr != end || !std::isfinite(w)) return {spec, 1.0f};
  return {spec.substr(0, colon), w};
}

}  // namespace clipdex::search
