#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace fs = std::filesystem;

namespace clipdex::test {

std::string shared_path(const std::string& relative) {
  const fs::path p = fs::path(CLIPDEX_SHARED_DIR) / relative;
  if (!fs::exists(p)) {
    std::cerr << "FATAL: reference fixture missing: " << p << " (tests need ../shared beside the repo)\n";
    std::exit(3);
  }
  return p.string();
}

const std::vector<std::string>& fixture_image_files() {
  static const std::vector<std::string> files = {"astronaut.png", "camera.png", "chelsea.png", "coffee.png",
                                                 "green_palette.png", "logo.png", "motorcycle_right.png", "rocket.jpg"};
  return files;
}

const std::vector<std::pair<std::string, std::string>>& fixture_image_captions() {
  static const std::vector<std::pair<std::string, std::string>> captions = {
      {"an astronaut in a space suit", "a woman with the american flag"}, {"a man with a camera", "a photographer"},
      {"a cat", "a tabby cat looking up"}, {"a cup of coffee", "coffee on a saucer"}, {"a green picture", "green"},
      {"a logo", "the scikit-image logo"}, {"a red motorcycle", "a motorbike"}, {"a rocket launch", "a rocket on a pad"}};
  return captions;
}

std::vector<std::vector<float>> embed_with_cli(const std::string& model, const std::string& jsonl,
                                               const std::string& precision, const std::string& extra) {
  const auto r = run_cli("embed --normalize --precision " + precision + " " + extra + " --model " + model, jsonl);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  std::vector<std::vector<float>> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    out.push_back(nlohmann::json::parse(line)["embedding"].get<std::vector<float>>());
  return out;
}

void write_fixture_caption_set(const std::string& path) {
  std::ofstream out(path);
  const auto& files = fixture_image_files();
  const auto& captions = fixture_image_captions();
  for (size_t i = 0; i < files.size(); ++i)
    for (const auto& c : {captions[i].first, captions[i].second})
      out << nlohmann::json{{"image", files[i]}, {"caption", c}}.dump() << "\n";
}

double row_rel_error(const float* a, const float* g, int64_t d) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < d; ++i) {
    num += (double(a[i]) - g[i]) * (double(a[i]) - g[i]);
    den += double(g[i]) * g[i];
  }
  return std::sqrt(num / den);
}

void expect_rows_close(const std::vector<float>& mine, const std::vector<float>& golden, int64_t d, double tol,
                       const std::string& what) {
  ASSERT_EQ(mine.size(), golden.size()) << what;
  for (size_t r = 0; r < golden.size() / static_cast<size_t>(d); ++r) {
    const double e = row_rel_error(&mine[r * d], &golden[r * d], d);
    EXPECT_LE(e, tol) << what << " row " << r;
    std::cout << "[ parity ] " << what << " row " << r << ": relative error " << e << "\n";
  }
}

std::string scratch_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("clipdex-test-" + std::to_string(::getpid())) / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

CommandResult run_cli(const std::string& args, const std::string& stdin_text) {
  const fs::path in = fs::path(scratch_dir("cli-stdin")) / "in.txt";
  std::ofstream(in, std::ios::binary) << stdin_text;
  const std::string cmd = std::string(CLIPDEX_BINARY) + " " + args + " < " + in.string();
  CommandResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed");
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace clipdex::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // `auto` picks bf16 where the CPU runs it natively (AMX, AVX512_BF16) and the parity tolerances
  // are fp32's: tests of the reduced modes and of auto's choice ask for them explicitly. Set
  // here, not only in ctest's environment, so a direct run of this binary holds on every CPU.
  ::setenv("CLIPDEX_PRECISION", "fp32", /*overwrite=*/0);
  clipdex::test::shared_path("README.md");  // fail loudly, never skip, without the fixtures
  const int rc = RUN_ALL_TESTS();
  std::error_code ec;
  fs::remove_all(fs::temp_directory_path() / ("clipdex-test-" + std::to_string(::getpid())), ec);
  return rc;
}
