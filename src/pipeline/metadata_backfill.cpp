#include "pipeline/metadata_backfill.h"

#include "core/mapped_file.h"
#include "pipeline/parallel_batches.h"

namespace clipdex::pipeline {

store::ImageMetadata metadata_of(const image::SourceInfo& info) {
  return {info.format, info.taken_at, info.camera_make, info.camera_model};
}

int64_t backfill_metadata(Library& lib, const image::DecodeOptions& decode, size_t threads) {
  constexpr size_t kBatch = 256;
  image::DecodeOptions reduced = decode;
  reduced.reduce_to = 1;  // JPEGs decode at 1/8 scale: only the header and tags are wanted
  int64_t filled = 0;
  for (;;) {
    const auto todo = lib.catalog().contents_without_metadata(kBatch);
    if (todo.empty()) return filled;
    std::vector<std::pair<int64_t, store::ImageMetadata>> found;
    parallel_batches<std::pair<int64_t, store::ImageMetadata>>(
        todo.size(), threads, kBatch, 0,
        [&](size_t i) {
          std::pair<int64_t, store::ImageMetadata> r{todo[i].first, {}};
          try {
            image::SourceInfo info;
            (void)image::decode_image_file(todo[i].second, reduced, &info);
            r.second = metadata_of(info);
          } catch (const std::exception&) {
            // Unreadable now (moved, corrupt): format "" marks it as tried.
          }
          return r;
        },
        [&](std::vector<std::pair<int64_t, store::ImageMetadata>>& batch) {
          found.insert(found.end(), batch.begin(), batch.end());
        });
    lib.catalog().set_metadata(found);
    filled += static_cast<int64_t>(found.size());
  }
}

}  // namespace clipdex::pipeline
