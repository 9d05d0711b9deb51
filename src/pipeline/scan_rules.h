#pragma once
// Which files a folder scan considers, as users of photo libraries expect: hidden files and
// folders (names starting with '.') are skipped unless include_hidden; symbolic links are not
// followed unless follow_symlinks (and then a folder reached twice, as by a link loop, is walked
// once); `excludes` globs, and the gitignore-style `.clipdexignore` of each folder, leave out
// what they match. The rules are stored with the library so a rerun applies the same ones.
//
// .clipdexignore (a subset of gitignore): one pattern per line; blank lines and '#' comments are
// skipped; '!' re-includes; a trailing '/' matches folders only; a pattern with a '/' (other than
// a trailing one) matches the path relative to the file's folder, otherwise it matches a name at
// any depth; '*' and '?' do not cross '/', '**' does. The last matching line wins, deeper files
// after shallower ones.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace clipdex::pipeline {

struct ScanRules {
  std::vector<std::string> excludes;  // matched against the name and the path below the root
  bool include_hidden = false;
  bool follow_symlinks = false;

  std::string to_json() const;
  static ScanRules from_json(const std::string& text);  // "" or invalid: the defaults
};

// One folder's .clipdexignore. `base` is the folder's path relative to the scan root ("" for it).
class IgnoreFile {
 public:
  static std::shared_ptr<const IgnoreFile> load(const std::string& file, const std::string& base);
  static std::shared_ptr<const IgnoreFile> parse(const std::string& text, const std::string& base);
  // Applies this file's lines to `ignored` (the verdict so far) for `rel` (relative to the root).
  void apply(const std::string& rel, const std::string& name, bool is_dir, bool& ignored) const;

 private:
  struct Rule {
    std::string pattern;
    bool negate = false, dir_only = false, anchored = false, any_depth_glob = false;
  };
  std::string base_;
  std::vector<Rule> rules_;
};

// Whether a CLI --exclude glob matches an entry (its name, or its path below the root).
bool excluded_by_glob(const std::vector<std::string>& globs, const std::string& rel, const std::string& name);

}  // namespace clipdex::pipeline
