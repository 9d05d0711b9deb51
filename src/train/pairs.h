#pragma once
// A fine-tuning set: JSON lines {"image": FILE, "text": CAPTION}, image paths relative to the
// file's folder unless absolute. Every line is checked before training starts.
#include <string>
#include <vector>

namespace clipdex::train {

struct Pair {
  std::string image, text;
};

// InputError naming the line for a bad one (not JSON, a missing field, a missing image).
std::vector<Pair> read_pairs(const std::string& file);

}  // namespace clipdex::train
