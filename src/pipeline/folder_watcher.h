#pragma once
// Notices changes under folders (Linux inotify): files written, moved in or out, deleted, and
// folders created (watched from then on). It does not say what changed — the indexer's rescan
// finds that out, with the same rules as a rerun — only that something did, once the changes
// have paused for a quiet period (a camera import or a copy is one burst, one rescan).
#include <atomic>
#include <chrono>
#include <string>
#include <vector>

namespace clipdex::pipeline {

class FolderWatcher {
 public:
  // Watches each root and every folder below it (symbolic links to folders are not entered).
  explicit FolderWatcher(const std::vector<std::string>& roots);
  ~FolderWatcher();
  FolderWatcher(const FolderWatcher&) = delete;
  FolderWatcher& operator=(const FolderWatcher&) = delete;

  // Blocks until a change was seen and then `quiet` passed without another (true), or until
  // `stop` is set (false; checked every 100 ms).
  bool wait_for_changes(std::chrono::milliseconds quiet, const std::atomic<bool>& stop);

  size_t watched_folders() const { return dirs_.size(); }

 private:
  void watch_tree(const std::string& root);
  bool drain();  // reads pending events; true if any; watches folders that appeared

  int fd_ = -1;
  std::vector<std::pair<int, std::string>> dirs_;  // watch descriptor -> folder
};

}  // namespace clipdex::pipeline
