#include "server/bounded_dir.h"

#include <algorithm>
#include <filesystem>
#include <vector>

namespace clipdex::server {

void prune_dir(const std::string& dir, size_t max_files, uint64_t max_bytes) {
  namespace fs = std::filesystem;
  struct Entry {
    fs::file_time_type time;
    uint64_t size;
    fs::path path;
  };
  std::vector<Entry> files;
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::error_code fe;
    if (!e.is_regular_file(fe)) continue;
    const uint64_t size = e.file_size(fe);
    const auto time = e.last_write_time(fe);
    if (fe) continue;
    files.push_back({time, size, e.path()});
    total += size;
  }
  if (files.size() <= max_files && total <= max_bytes) return;
  std::sort(files.begin(), files.end(), [](const Entry& a, const Entry& b) { return a.time < b.time; });
  size_t count = files.size();
  for (const auto& f : files) {
    if (count <= max_files && total <= max_bytes) break;
    if (fs::remove(f.path, ec)) {
      --count;
      total -= f.size;
    }
  }
}

}  // namespace clipdex::server
