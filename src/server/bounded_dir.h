#pragma once
// Keeps a cache folder within a file count and a byte size, dropping the files with the oldest
// modification time first (callers touch a file when they use it, which makes this LRU): the
// thumbnail and zero-shot class caches grow with what anonymous requests ask for.
#include <cstdint>
#include <string>

namespace clipdex::server {

void prune_dir(const std::string& dir, size_t max_files, uint64_t max_bytes);

}  // namespace clipdex::server
