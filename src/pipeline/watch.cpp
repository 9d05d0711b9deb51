#include "pipeline/watch.h"

#include <thread>

#include "pipeline/folder_watcher.h"

namespace clipdex::pipeline {

void watch_and_index(Library& lib, const Embedder& embedder, const std::vector<std::string>& roots,
                     const IndexOptions& options, std::chrono::milliseconds quiet, const std::atomic<bool>& stop,
                     const WatchCallbacks& cb) {
  // Watching starts before the first pass, so a file written during it is not missed.
  FolderWatcher watcher(roots);
  if (cb.on_watching) cb.on_watching(watcher.watched_folders());
  bool pending = true;  // the first pass
  while (!stop.load()) {
    if (pending) {
      try {
        const auto report = index_folders(lib, embedder, roots, options);
        pending = false;
        if (cb.on_pass) cb.on_pass(report);
      } catch (const std::exception& e) {
        if (cb.on_problem) cb.on_problem(e.what());
      }
    }
    // Retry a failed pass after a quiet period even without new changes.
    const bool changed = watcher.wait_for_changes(quiet, stop);
    if (changed) pending = true;
    else if (pending && !stop.load()) std::this_thread::sleep_for(quiet);
  }
}

}  // namespace clipdex::pipeline
