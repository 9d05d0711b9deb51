#pragma once
// Deterministic parts of a file list for embedding on many machines (clipdex index --shard I/N):
// a file belongs to shard hash(path below its root) mod N, the same on every machine and run,
// wherever the root is mounted. I and N come from the option or from the batch scheduler's
// environment (Slurm job arrays, Kubernetes Indexed Jobs; docs/SCALE.md).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace clipdex::pipeline {

struct Shard {
  uint32_t index = 0, count = 1;
  std::string describe() const;  // "2/8"
};

// "I/N" with 0 <= I < N; "auto" reads the environment (shard_from_environment). InputError otherwise.
Shard parse_shard(const std::string& spec);
// SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT, else Kubernetes'
// JOB_COMPLETION_INDEX of CLIPDEX_SHARD_COUNT; InputError when neither is set.
Shard shard_from_environment();

// Which shard a file is in; `root` is the (canonical) root it was found under.
uint32_t shard_of(const std::string& path, const std::string& root, uint32_t count);
// The root among `roots` that holds `path` (the longest), or "" when none does.
std::string root_of(const std::string& path, const std::vector<std::string>& roots);

}  // namespace clipdex::pipeline
