#pragma once
// Near-duplicate images: groups of indexed images whose embeddings have cosine >= a threshold
// (re-encodes, resizes, crops, burst shots). Found through the library's vector index (each
// image's nearest neighbours, widened while they all pass the threshold), not by comparing
// every pair; byte-identical files are already one entry and are not reported here.
#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/library.h"

namespace clipdex::search {

struct DuplicateImage {
  int64_t id = -1;
  std::vector<std::string> paths;  // every path holding this content
  int width = 0, height = 0;
};

struct DuplicateGroup {
  std::vector<DuplicateImage> images;  // at least two; ordered by id
  // The weakest link: the lowest, over the group's images, of each one's best cosine to
  // another member (what it would take to split the group).
  float min_score = 1.0f;
};

struct DuplicateOptions {
  float threshold = 0.95f;  // cosine similarity, in (0, 1]
  size_t max_groups = 1000;
};

// Largest groups first (then the most similar, then by first id). Groups are connected components: a ~ b and
// b ~ c put a, b and c together even when a and c are further apart.
std::vector<DuplicateGroup> find_duplicates(pipeline::Library& lib, const DuplicateOptions& options);

}  // namespace clipdex::search
