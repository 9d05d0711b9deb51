#pragma once
// Re-embedding a whole library under another model (a changed LoRA adapter, or `index
// --reembed`): every image is read again from a file that still holds it and embedded; the new
// vectors are staged beside the live ones (searches go on; a killed run resumes where it was),
// then the stored texts are embedded and everything is swapped in one transaction, and the
// vector index is rebuilt. Images no file holds any more are forgotten.
#include <cstdint>

#include "pipeline/embedder.h"
#include "pipeline/indexer.h"
#include "pipeline/library.h"

namespace clipdex::pipeline {

struct ReembedReport {
  int64_t images = 0;     // embedded by this run (a resumed run counts only its own)
  int64_t forgotten = 0;  // no longer on disk, or no longer decodable
  int64_t texts = 0;
};

// Takes the writer lock (unless held). Uses options.batch_size, threads, decode, progress,
// on_progress and cancel.
ReembedReport reembed_library(Library& lib, const Embedder& embedder, const IndexOptions& options);

// Whether two model ids name the same weights, precision and architecture, differing at most
// in their LoRA adapter (then a library re-embeds on its own).
bool differs_only_in_adapter(const std::string& a, const std::string& b);

}  // namespace clipdex::pipeline
