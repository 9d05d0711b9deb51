// Which files `clipdex index` considers: hidden files and folders, --exclude globs,
// .clipdexignore files, symbolic links (not followed by default; a loop walked once when they
// are), and rules remembered by the library so that a rerun applies them.
#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/mapped_file.h"
#include "pipeline/scan_rules.h"
#include "test_util.h"

using namespace clipdex;
namespace fs = std::filesystem;

namespace {

// The indexed paths, relative to `root`.
std::set<std::string> indexed(const std::string& db, const std::string& root) {
  const auto r = test::run_cli("search --db " + db + " --json -k 100 x");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  const auto results = nlohmann::json::parse(r.out)["results"];
  std::set<std::string> out;
  for (const auto& h : results)
    for (const auto& p : h["paths"]) out.insert(fs::path(p.get<std::string>()).lexically_relative(root).string());
  return out;
}

}  // namespace

TEST(ScanRules, HiddenExcludedIgnoredAndLinkedFiles) {
  const std::string root = test::scratch_dir("scan-rules") + "/photos";
  const std::string coffee = read_file(test::shared_path("fixtures/images/coffee.png"));
  int n = 0;
  auto put = [&](const std::string& rel) {
    fs::create_directories(fs::path(root + "/" + rel).parent_path());
    std::ofstream(root + "/" + rel, std::ios::binary) << coffee << "#" << n++;  // distinct contents
  };
  for (const char* f : {"a.png", ".hidden.png", ".cache/b.png", "raw/c.png", "sub/x.png", "sub/keep.png",
                        "sub/deep/y.png", "sub/deep/z.jpg.png", "thumbs/t.png"})
    put(f);
  std::ofstream(root + "/sub/.clipdexignore") << "# generated\n*.png\n!keep.png\n";
  std::ofstream(root + "/.clipdexignore") << "thumbs/\n";
  fs::create_symlink(root + "/a.png", root + "/link.png");
  fs::create_symlink(root, root + "/sub/loop");  // a folder loop once links are followed
  const std::string db = fs::path(root).parent_path().string() + "/lib.db";
  const std::string model = test::shared_path("fixtures/models/vit-tiny/hf");

  const auto first = test::run_cli("index " + root + " --quiet --db " + db + " --model " + model + " --exclude raw");
  ASSERT_EQ(first.exit_code, 0) << first.out;
  EXPECT_EQ(indexed(db, root), (std::set<std::string>{"a.png", "sub/keep.png"}));
  // A rerun without rule options applies the stored ones: nothing changes.
  const auto rerun = test::run_cli("index " + root + " --quiet --db " + db);
  EXPECT_NE(rerun.out.find("0 embedded, 0 duplicates, 2 unchanged"), std::string::npos) << rerun.out;
  // New rules replace them: hidden files now, links followed (the linked file is a.png's content,
  // so one entry with two paths; the loop leads back to a folder already walked, so it ends).
  ASSERT_EQ(test::run_cli("index " + root + " --quiet --db " + db + " --include-hidden --follow-symlinks --exclude raw").exit_code, 0);
  EXPECT_EQ(indexed(db, root),
            (std::set<std::string>{"a.png", "link.png", ".hidden.png", ".cache/b.png", "sub/keep.png"}))
      << "a folder loop must not be walked forever";
}

TEST(ScanRules, IgnoreFileSyntax) {
  const auto f = pipeline::IgnoreFile::parse("# c\n\n*.tmp\n/top.png\ndocs/\nraw/**/x.png\n!keep.tmp\n", "");
  auto ignored = [&](const std::string& rel, bool dir = false) {
    bool v = false;
    f->apply(rel, fs::path(rel).filename().string(), dir, v);
    return v;
  };
  EXPECT_TRUE(ignored("a.tmp"));
  EXPECT_TRUE(ignored("deep/down/b.tmp"));  // a name pattern matches at any depth
  EXPECT_FALSE(ignored("keep.tmp"));         // re-included by the later '!'
  EXPECT_TRUE(ignored("top.png"));
  EXPECT_FALSE(ignored("sub/top.png"));      // anchored to the file's folder
  EXPECT_TRUE(ignored("docs", true));
  EXPECT_FALSE(ignored("docs"));             // a trailing '/' matches folders only
  EXPECT_TRUE(ignored("raw/2024/06/x.png"));  // '**' crosses folders
  // A nested file only judges entries below its own folder.
  const auto nested = pipeline::IgnoreFile::parse("*.png\n", "sub");
  bool v = false;
  nested->apply("other/a.png", "a.png", false, v);
  EXPECT_FALSE(v);
  nested->apply("sub/a.png", "a.png", false, v);
  EXPECT_TRUE(v);
  EXPECT_TRUE(pipeline::excluded_by_glob({"@eaDir"}, "x/@eaDir", "@eaDir"));
  EXPECT_TRUE(pipeline::excluded_by_glob({"raw/*"}, "raw/c.png", "c.png"));
  EXPECT_FALSE(pipeline::excluded_by_glob({"raw/*"}, "sub/c.png", "c.png"));
}
