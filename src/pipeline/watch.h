#pragma once
// `index --watch` and `serve --watch`: keep a library current with folders as files appear,
// change and go. One indexing pass first, then another after each burst of changes (debounced),
// each the same incremental rescan as a rerun of `clipdex index`, with the same rules.
#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "pipeline/indexer.h"

namespace clipdex::pipeline {

struct WatchCallbacks {
  std::function<void(const IndexReport&)> on_pass;       // after each pass
  std::function<void(const std::string&)> on_problem;    // a pass that failed (it is retried)
  std::function<void(size_t folders)> on_watching;        // once the folders are watched
};

// Runs until `stop` is set (checked every 100 ms while waiting; a pass under way finishes).
// A pass that cannot run (another process is writing the library, a folder is gone) is
// reported and tried again after the next quiet period or change.
void watch_and_index(Library& lib, const Embedder& embedder, const std::vector<std::string>& roots,
                     const IndexOptions& options, std::chrono::milliseconds quiet, const std::atomic<bool>& stop,
                     const WatchCallbacks& callbacks);

}  // namespace clipdex::pipeline
