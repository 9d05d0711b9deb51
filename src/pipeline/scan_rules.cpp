#include "pipeline/scan_rules.h"

#include <fnmatch.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"

namespace clipdex::pipeline {

std::string ScanRules::to_json() const {
  return nlohmann::json{{"excludes", excludes}, {"include_hidden", include_hidden}, {"follow_symlinks", follow_symlinks}}
      .dump();
}

ScanRules ScanRules::from_json(const std::string& text) {
  ScanRules r;
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return r;
  if (j.contains("excludes") && j["excludes"].is_array())
    for (const auto& e : j["excludes"])
      if (e.is_string()) r.excludes.push_back(e.get<std::string>());
  r.include_hidden = j.value("include_hidden", false);
  r.follow_symlinks = j.value("follow_symlinks", false);
  return r;
}

std::shared_ptr<const IgnoreFile> IgnoreFile::load(const std::string& file, const std::string& base) {
  try {
    return parse(read_file(file), base);
  } catch (const Error&) {
    return nullptr;  // unreadable: as if absent
  }
}

std::shared_ptr<const IgnoreFile> IgnoreFile::parse(const std::string& text, const std::string& base) {
  auto f = std::make_shared<IgnoreFile>();
  f->base_ = base;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    Rule r;
    if (line[0] == '!') r.negate = true, line.erase(0, 1);
    if (!line.empty() && line.back() == '/') r.dir_only = true, line.pop_back();
    if (!line.empty() && line[0] == '/') r.anchored = true, line.erase(0, 1);
    if (line.find('/') != std::string::npos) r.anchored = true;
    r.any_depth_glob = line.find("**") != std::string::npos;
    if (line.empty()) continue;
    r.pattern = line;
    f->rules_.push_back(std::move(r));
  }
  return f;
}

void IgnoreFile::apply(const std::string& rel, const std::string& name, bool is_dir, bool& ignored) const {
  // The path relative to this file's folder (entries outside it are not its business).
  std::string local = rel;
  if (!base_.empty()) {
    if (rel.compare(0, base_.size(), base_) != 0 || rel.size() <= base_.size() || rel[base_.size()] != '/') return;
    local = rel.substr(base_.size() + 1);
  }
  for (const auto& r : rules_) {
    if (r.dir_only && !is_dir) continue;
    const int flags = r.any_depth_glob ? 0 : FNM_PATHNAME;
    const bool hit = r.anchored ? fnmatch(r.pattern.c_str(), local.c_str(), flags) == 0
                                : fnmatch(r.pattern.c_str(), name.c_str(), 0) == 0;
    if (hit) ignored = !r.negate;
  }
}

bool excluded_by_glob(const std::vector<std::string>& globs, const std::string& rel, const std::string& name) {
  for (const auto& g : globs)
    if (fnmatch(g.c_str(), name.c_str(), 0) == 0 || fnmatch(g.c_str(), rel.c_str(), 0) == 0) return true;
  return false;
}

}  // namespace clipdex::pipeline
