#pragma once
// Image metadata (format, EXIF date taken, camera) for the catalog: from a decode at index
// time, and filled in afterwards for contents a library stored before it captured metadata
// (schema 2), by reading their files again — never by re-embedding them.
#include <cstdint>

#include "image/decode.h"
#include "pipeline/library.h"

namespace clipdex::pipeline {

store::ImageMetadata metadata_of(const image::SourceInfo& info);

// Reads the files of contents without metadata (a small, reduced decode per file) and stores
// what they say; a file that cannot be read now is recorded with format "" so it is not retried
// on every run. Returns how many contents were filled. Writer only.
int64_t backfill_metadata(Library& lib, const image::DecodeOptions& decode, size_t threads);

}  // namespace clipdex::pipeline
