#pragma once
// Shared helpers for the tests: where the reference fixtures are, scratch folders, running the CLI.
#include <cstdint>
#include <string>
#include <vector>

namespace clipdex::test {

// Path under ../shared; fails the test run loudly when the fixtures are missing.
std::string shared_path(const std::string& relative);

// The image files in ../shared/fixtures/images (those preprocessed.safetensors covers).
const std::vector<std::string>& fixture_image_files();
// Two captions for each of fixture_image_files(), in the same order: a small retrieval set.
const std::vector<std::pair<std::string, std::string>>& fixture_image_captions();
// Unit embeddings from `clipdex embed --normalize --precision PRECISION [EXTRA] --model MODEL`
// of JSONL input ({"text"} / {"image"} lines), one row per line; a failed run fails the test.
std::vector<std::vector<float>> embed_with_cli(const std::string& model, const std::string& jsonl,
                                               const std::string& precision = "fp32", const std::string& extra = "");
// Writes that set as eval JSONL ({"image", "caption"} per line) to PATH.
void write_fixture_caption_set(const std::string& path);

// ||a - g|| / ||g|| over d values (the parity measure of docs/PARITY.md).
double row_rel_error(const float* a, const float* g, int64_t d);
// Each row of `mine` within `tol` of the matching row of `golden` (rows of d values); prints the
// errors, labelled `what`.
void expect_rows_close(const std::vector<float>& mine, const std::vector<float>& golden, int64_t d, double tol,
                       const std::string& what);

// A fresh empty folder under the build tree, removed at exit.
std::string scratch_dir(const std::string& name);

struct CommandResult {
  int exit_code = -1;
  std::string out;
};
// Runs `clipdex ARGS` with stdin from a string; captures stdout (stderr goes to the test log).
CommandResult run_cli(const std::string& args, const std::string& stdin_text = "");

}  // namespace clipdex::test
