#include "train/pairs.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace clipdex::train {

std::vector<Pair> read_pairs(const std::string& file) {
  namespace fs = std::filesystem;
  std::ifstream in(file);
  if (!in) throw_input("cannot open the pairs file '{}'", file);
  const fs::path base = fs::path(file).parent_path();
  std::vector<Pair> pairs;
  std::string line;
  for (size_t lineno = 1; std::getline(in, line); ++lineno) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("image") || !j["image"].is_string() || !j.contains("text") ||
        !j["text"].is_string())
      throw_input("{} line {}: expected {{\"image\": FILE, \"text\": CAPTION}}", file, lineno);
    fs::path image = j["image"].get<std::string>();
    if (image.is_relative()) image = base / image;
    if (!fs::is_regular_file(image)) throw_input("{} line {}: no image file '{}'", file, lineno, image.string());
    pairs.push_back({image.string(), j["text"].get<std::string>()});
  }
  if (pairs.size() < 2) throw_input("{}: fine-tuning needs at least two pairs, found {}", file, pairs.size());
  return pairs;
}

}  // namespace clipdex::train
