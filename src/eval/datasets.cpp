#include "eval/datasets.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "pipeline/indexer.h"

namespace clipdex::eval {
namespace {

namespace fs = std::filesystem;

struct Builder {
  CaptionSet set;
  std::map<std::string, size_t> index;
  void add(const std::string& image, const std::string& caption) {
    auto [it, fresh] = index.emplace(image, set.images.size());
    if (fresh) set.images.push_back(image);
    set.captions.push_back(caption);
    set.caption_image.push_back(it->second);
  }
};

std::string resolve(const std::string& dir, const std::string& rel) { return (fs::path(dir) / rel).string(); }

// One CSV field, with "double quotes" and "" escapes.
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') out.back() += '"', ++i;
      else if (c == '"') quoted = false;
      else out.back() += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else if (c != '\r') {
      out.back() += c;
    }
  }
  return out;
}

}  // namespace

CaptionSet load_caption_set(const std::string& file, const std::string& images_dir, const std::string& split) {
  Builder b;
  const std::string ext = fs::path(file).extension().string();
  if (ext == ".json") {
    auto j = nlohmann::json::parse(read_file(file), nullptr, false);
    if (j.is_discarded() || !j.contains("images") || !j["images"].is_array())
      throw_input("{}: expected Karpathy split JSON with an \"images\" list", file);
    try {
      for (const auto& im : j["images"]) {
        if (!split.empty() && im.value("split", "") != split) continue;
        std::string rel = im.at("filename").get<std::string>();
        if (im.contains("filepath")) rel = im["filepath"].get<std::string>() + "/" + rel;
        for (const auto& s : im.at("sentences")) b.add(resolve(images_dir, rel), s.at("raw").get<std::string>());
      }
    } catch (const nlohmann::json::exception& e) {
      throw_input("{}: malformed entry: {}", file, e.what());
    }
  } else if (ext == ".jsonl") {
    std::istringstream in(read_file(file));
    size_t lineno = 0;
    for (std::string line; std::getline(in, line);) {
      ++lineno;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("image") || !j.contains("caption") || !j["image"].is_string() ||
          !j["caption"].is_string())
        throw_input("{}: line {} is not {{\"image\": ..., \"caption\": ...}}", file, lineno);
      b.add(resolve(images_dir, j["image"].get<std::string>()), j["caption"].get<std::string>());
    }
  } else if (ext == ".csv") {
    std::istringstream in(read_file(file));
    std::string line;
    size_t lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      if (line.empty() || line == "\r") continue;
      const auto f = csv_fields(line);
      if (lineno == 1 && f.size() == 2 && f[0] == "image" && f[1] == "caption") continue;  // header
      if (f.size() != 2) throw_input("{}: line {} needs two fields: image,caption", file, lineno);
      b.add(resolve(images_dir, f[0]), f[1]);
    }
  } else {
    throw_input("{}: caption file must be .json (Karpathy), .jsonl or .csv", file);
  }
  if (b.set.captions.empty()) throw_input("{}: no captions{}", file, split.empty() ? "" : " in split '" + split + "'");
  return b.set;
}

ClassFolders load_class_folders(const std::string& dir) {
  if (!fs::is_directory(dir)) throw_input("'{}' is not a folder of class folders", dir);
  ClassFolders out;
  std::vector<fs::path> classes;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory()) classes.push_back(e.path());
  std::sort(classes.begin(), classes.end());
  for (const auto& c : classes) {
    std::string name = c.filename().string();
    std::replace(name.begin(), name.end(), '_', ' ');
    std::vector<std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(c))
      if (e.is_regular_file() && pipeline::has_image_extension(e.path().string())) files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      out.images.push_back(f);
      out.labels.push_back(out.classes.size());
    }
    out.classes.push_back(name);
  }
  if (out.classes.size() < 2 || out.images.empty()) throw_input("'{}' needs at least two class folders with images", dir);
  return out;
}

}  // namespace clipdex::eval
