#pragma once
// The bytes of an indexed image, served only while the file still is what was indexed: a
// regular file whose real path (symlinks resolved, on the open descriptor) lies inside one of
// the library's indexed folders, with the recorded size, modification time and content hash.
// A photo swapped for a symlink to /etc/shadow, or edited since, is refused, not served.
#include <cstdint>
#include <string>

#include "pipeline/library.h"

namespace clipdex::server {

// Throws ApiError: 404 when no file of the content is on disk any more, 409 when files exist
// but changed or lie outside the indexed folders, 413 when larger than `max_bytes`.
std::string read_indexed_file(pipeline::Library& lib, int64_t content_id, uint64_t max_bytes);

}  // namespace clipdex::server
