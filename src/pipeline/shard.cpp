#include "pipeline/shard.h"

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <xxhash.h>

#include "core/error.h"

namespace clipdex::pipeline {
namespace {

std::optional<int64_t> env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  char* end = nullptr;
  const long long n = std::strtoll(v, &end, 10);
  if (*end != '\0' || n < 0) throw_input("${} must be a non-negative integer, not '{}'", name, v);
  return n;
}

Shard checked(int64_t index, int64_t count, const std::string& from) {
  if (count < 1 || count > 1'000'000 || index < 0 || index >= count)
    throw_input("shard {}/{} ({}): need 0 <= I < N <= 1000000", index, count, from);
  return {static_cast<uint32_t>(index), static_cast<uint32_t>(count)};
}

}  // namespace

std::string Shard::describe() const { return fmt::format("{}/{}", index, count); }

Shard parse_shard(const std::string& spec) {
  if (spec == "auto") return shard_from_environment();
  const auto slash = spec.find('/');
  const auto number = [&](const std::string& s) -> int64_t {
    if (s.empty() || s.size() > 7 || s.find_first_not_of("0123456789") != std::string::npos)
      throw_input("--shard takes I/N (e.g. 0/8) or auto, not '{}'", spec);
    return std::stoll(s);
  };
  if (slash == std::string::npos) throw_input("--shard takes I/N (e.g. 0/8) or auto, not '{}'", spec);
  return checked(number(spec.substr(0, slash)), number(spec.substr(slash + 1)), "--shard " + spec);
}

Shard shard_from_environment() {
  if (const auto id = env_int("SLURM_ARRAY_TASK_ID")) {
    const auto count = env_int("SLURM_ARRAY_TASK_COUNT");
    if (!count) throw_input("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not");
    return checked(*id - env_int("SLURM_ARRAY_TASK_MIN").value_or(0), *count, "Slurm job array");
  }
  if (const auto index = env_int("JOB_COMPLETION_INDEX")) {
    const auto count = env_int("CLIPDEX_SHARD_COUNT");
    if (!count) throw_input("JOB_COMPLETION_INDEX is set: set CLIPDEX_SHARD_COUNT to the job's completions");
    return checked(*index, *count, "Kubernetes Indexed Job");
  }
  throw_input("--shard auto: neither SLURM_ARRAY_TASK_ID (Slurm job array) nor JOB_COMPLETION_INDEX (Kubernetes "
              "Indexed Job) is set");
}

uint32_t shard_of(const std::string& path, const std::string& root, uint32_t count) {
  std::string rel = path;
  if (!root.empty() && path.size() > root.size() && path.compare(0, root.size(), root) == 0) {
    rel = path.substr(root.size());
    while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  } else {
    rel = std::filesystem::path(path).filename().string();  // a root that is the file itself
  }
  return static_cast<uint32_t>(XXH3_64bits(rel.data(), rel.size()) % count);
}

std::string root_of(const std::string& path, const std::vector<std::string>& roots) {
  std::string best;
  for (const auto& r : roots) {
    const bool under = path == r || (path.size() > r.size() && path.compare(0, r.size(), r) == 0 &&
                                     (r.back() == '/' || path[r.size()] == '/'));
    if (under && r.size() > best.size()) best = r;
  }
  return best;
}

}  // namespace clipdex::pipeline
