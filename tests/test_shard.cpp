// Embedding in parts: `index --shard I/N` (and from a Slurm / Kubernetes environment) splits the
// files deterministically, and `clipdex merge` of the parts equals indexing in one process;
// re-running a part or the merge changes nothing.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "pipeline/library.h"
#include "pipeline/shard.h"
#include "test_scenarios.h"
#include "test_util.h"

using namespace clipdex;
namespace fs = std::filesystem;

namespace {

struct ScopedEnv {
  explicit ScopedEnv(std::map<std::string, std::string> vars) : vars_(std::move(vars)) {
    for (const auto& [k, v] : vars_) ::setenv(k.c_str(), v.c_str(), 1);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() {
    for (const auto& [k, v] : vars_) ::unsetenv(k.c_str());
  }
  std::map<std::string, std::string> vars_;
};

}  // namespace

TEST(Shard, SpecsAndEnvironments) {
  EXPECT_EQ(pipeline::parse_shard("2/8").describe(), "2/8");
  for (const char* bad : {"8/8", "1/0", "-1/4", "a/b", "3", "1/2/3", ""}) EXPECT_THROW(pipeline::parse_shard(bad), InputError) << bad;
  EXPECT_THROW(pipeline::parse_shard("auto"), InputError);  // no scheduler here
  {
    const ScopedEnv slurm({{"SLURM_ARRAY_TASK_ID", "5"}, {"SLURM_ARRAY_TASK_COUNT", "4"}, {"SLURM_ARRAY_TASK_MIN", "3"}});
    EXPECT_EQ(pipeline::parse_shard("auto").describe(), "2/4");  // --array=3-6
  }
  {
    const ScopedEnv k8s(std::map<std::string, std::string>{{"JOB_COMPLETION_INDEX", "1"}});
    EXPECT_THROW(pipeline::parse_shard("auto"), InputError);  // the count is missing
  }
  {
    const ScopedEnv k8s({{"JOB_COMPLETION_INDEX", "1"}, {"CLIPDEX_SHARD_COUNT", "3"}});
    EXPECT_EQ(pipeline::parse_shard("auto").describe(), "1/3");
  }
  // The part a file falls in depends on its path below the root, not on where the root is.
  EXPECT_EQ(pipeline::shard_of("/mnt/x/photos/2024/a.jpg", "/mnt/x/photos", 7),
            pipeline::shard_of("/data/photos/2024/a.jpg", "/data/photos", 7));
  EXPECT_EQ(pipeline::root_of("/data/photos/2024/a.jpg", {"/data", "/data/photos", "/data/photos2"}), "/data/photos");
  std::map<uint32_t, int> counts;
  for (int i = 0; i < 3000; ++i) ++counts[pipeline::shard_of("/r/img" + std::to_string(i) + ".jpg", "/r", 3)];
  for (uint32_t s = 0; s < 3; ++s) EXPECT_NEAR(counts[s], 1000, 150) << s;  // spread evenly
}

TEST(Shard, MergedPartsEqualOneProcess) {
  const std::string dir = test::scratch_dir("shards");
  const std::string photos = test::copy_fixture_photos(dir);
  const std::string model = " --precision fp32 --quiet --model " + test::shared_path("fixtures/models/vit-tiny/hf");
  ASSERT_EQ(test::run_cli("index " + photos + " --db " + dir + "/single.db" + model).exit_code, 0);

  std::set<std::string> seen;
  std::string parts;
  for (int i = 0; i < 3; ++i) {
    const std::string db = dir + "/part" + std::to_string(i) + ".db";
    ASSERT_EQ(test::run_cli("index " + photos + " --shard " + std::to_string(i) + "/3 --db " + db + model).exit_code, 0);
    for (const auto& [path, v] : test::library_files(db)) EXPECT_TRUE(seen.insert(path).second) << path << " in two parts";
    parts += " " + db;
  }
  const auto single = test::library_files(dir + "/single.db");
  EXPECT_EQ(seen.size(), single.size());  // every file in exactly one part

  ASSERT_EQ(test::run_cli("merge" + parts + " --quiet --db " + dir + "/merged.db").exit_code, 0);
  const auto merged = test::library_files(dir + "/merged.db");
  ASSERT_EQ(merged.size(), single.size());
  for (const auto& [path, v] : single) {
    ASSERT_TRUE(merged.count(path)) << path;
    EXPECT_EQ(merged.at(path).first, v.first) << path;
    ASSERT_EQ(merged.at(path).second.size(), v.second.size());
    for (size_t k = 0; k < v.second.size(); ++k) EXPECT_NEAR(merged.at(path).second[k], v.second[k], 1e-6) << path;
  }
  // The merged library searches like the single one, without naming the model.
  const auto search = [&](const std::string& db) {
    return nlohmann::json::parse(test::run_cli("search 'a photo of a rocket' --json -k 5 --db " + db).out)["results"];
  };
  const auto a = search(dir + "/single.db"), b = search(dir + "/merged.db");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["paths"], b[i]["paths"]);
    EXPECT_NEAR(a[i]["score"].get<double>(), b[i]["score"].get<double>(), 1e-5);
  }

  // Re-running a part, or the merge, changes nothing.
  const auto rerun = test::run_cli("index " + photos + " --shard 1/3 --db " + dir + "/part1.db" + model.substr(0, model.find(" --quiet")));
  EXPECT_NE(rerun.out.find("0 embedded"), std::string::npos) << rerun.out;
  const auto again = test::run_cli("merge" + parts + " --db " + dir + "/merged.db");
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.out.find("0 files added, 0 updated, " + std::to_string(single.size()) + " unchanged; 0 new images"),
            std::string::npos)
      << again.out;
  EXPECT_EQ(test::library_files(dir + "/merged.db"), merged);

  // The same part from a Slurm job array's environment.
  {
    const ScopedEnv slurm({{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_COUNT", "3"}});
    ASSERT_EQ(test::run_cli("index " + photos + " --shard auto --db " + dir + "/slurm1.db" + model).exit_code, 0);
  }
  std::set<std::string> slurm_paths, part_paths;
  for (const auto& [p, v] : test::library_files(dir + "/slurm1.db")) slurm_paths.insert(p);
  for (const auto& [p, v] : test::library_files(dir + "/part1.db")) part_paths.insert(p);
  EXPECT_EQ(slurm_paths, part_paths);

  // Another model's part is refused; the merged library is untouched.
  ASSERT_EQ(test::run_cli("index " + photos + "/a --db " + dir + "/other.db --precision fp32 --quiet --model " +
                          test::shared_path("fixtures/models/rn-tiny") + " --vocab " +
                          test::shared_path("fixtures/models/vit-tiny/hf")).exit_code, 0);
  EXPECT_EQ(test::run_cli("merge " + dir + "/other.db --db " + dir + "/merged.db").exit_code, 2);
  EXPECT_EQ(test::library_files(dir + "/merged.db"), merged);
}
