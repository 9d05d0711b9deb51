#pragma once
// Keeps a cache folder within a file count and a byte size, dropping the least recently
// written files first: the thumbnail and zero-shot class caches grow with what anonymous
// requests ask for, so they need a bound.
#include <cstdint>
#include <string>

namespace clipdex::server {

void prune_dir(const std::string& dir, size_t max_files, uint64_t max_bytes);

}  // namespace clipdex::server
