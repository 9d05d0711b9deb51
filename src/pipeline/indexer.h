#pragma once
// `clipdex index`: brings a library up to date with folders of images. Scans recursively, skips
// unchanged files (same size and modification time), embeds new and changed ones, forgets
// deleted ones, stores identical content once, and records failures without stopping. Decoding
// runs on worker threads while the model embeds the previous batch. Each batch is committed to
// the catalog in one transaction, so a killed run loses at most one batch and a rerun finishes.
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/embedder.h"
#include "core/error.h"
#include "pipeline/library.h"
#include "pipeline/scan_rules.h"
#include "pipeline/shard.h"

namespace clipdex::pipeline {

struct IndexOptions {
  size_t batch_size = 32;
  size_t threads = 0;  // decode threads; 0: hardware threads
  bool progress = true;
  bool retry_failed = false;  // re-read unchanged files that failed before
  bool all_files = false;     // consider every file, not only image extensions
  std::optional<ScanRules> rules;  // given: used and stored with the library; else the stored ones
  image::DecodeOptions decode;
  double save_every_seconds = 30;  // how often the vector index is saved during a long run
  std::string writer_name = "clipdex index";         // written into the lock for others to read
  WriterLock::Wait wait_for_writer = WriterLock::Wait::Yes;  // No: throw LibraryBusy at once
  // After each committed batch, on the calling thread: files handled so far, files to handle.
  std::function<void(int64_t done, int64_t total)> on_progress;
  // When set, the run stops after the batch under way (saved, consistent) and throws Cancelled.
  const std::atomic<bool>* cancel = nullptr;
  // Only the files of this shard (shard.h); files of other shards are neither added nor removed.
  std::optional<Shard> shard = {};
};


struct IndexReport {
  int64_t scanned = 0, unchanged = 0, embedded = 0, duplicates = 0, failed = 0, removed = 0;
  int64_t metadata_filled = 0;  // images of an older library whose metadata was read (not re-embedded)
};

// Takes the library's writer lock for the run (unless the caller holds it already).
IndexReport index_folders(Library& lib, const Embedder& embedder, const std::vector<std::string>& roots,
                          const IndexOptions& options);

// Whether a file name has an image extension clipdex decodes (jpg jpeg png webp gif bmp tif
// tiff heic heif avif).
bool has_image_extension(const std::string& path);

}  // namespace clipdex::pipeline
