#pragma once
// clipdex merge: libraries indexed apart (the shards of `index --shard`) poured into one. Same
// model id required. Idempotent: a file already held with the same size, time and content is
// left alone, contents are shared by hash, texts stored once; so re-running a merge (or merging
// a re-run shard) changes nothing, and a killed merge resumes where it stopped.
#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/library.h"

namespace clipdex::pipeline {

struct MergeReport {
  int64_t files_added = 0, files_updated = 0, files_unchanged = 0, contents_added = 0, texts_added = 0;
};

// Takes `into`'s writer lock for the run. InputError when a shard holds another model's vectors.
MergeReport merge_libraries(Library& into, const std::vector<std::string>& shard_dbs);

}  // namespace clipdex::pipeline
