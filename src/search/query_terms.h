#pragma once
// Combined queries: a weighted sum of unit text and image embeddings, re-normalised —
// "red car" + 0.5 * (a reference photo) - "night". Weights may be negative; a query whose terms
// cancel out (or that has none) is refused rather than searched with a zero vector.
#include <string>
#include <utility>
#include <vector>

namespace clipdex::search {

struct WeightedVector {
  std::vector<float> unit;  // a unit-length embedding
  float weight = 1.0f;
};

// Σ weight·unit, scaled to unit length. InputError when there are no terms, a weight is not a
// finite number, the widths differ, or the sum is (numerically) zero.
std::vector<float> combine_terms(const std::vector<WeightedVector>& terms);

// "VALUE[:WEIGHT]" -> (VALUE, WEIGHT): the part after the last ':' is a weight only when it is a
// whole finite number ("night:0.5", "ref.jpg:-1"); otherwise the spec is all value, weight 1
// ("time: 10 am"). To keep a trailing ":number" in a value, add ":1".
std::pair<std::string, float> split_weight(const std::string& spec);

}  // namespace clipdex::search
