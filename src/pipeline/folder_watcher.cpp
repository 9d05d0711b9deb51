#include "pipeline/folder_watcher.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "core/error.h"

namespace clipdex::pipeline {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kEvents = IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB |
                             IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

}  // namespace

FolderWatcher::FolderWatcher(const std::vector<std::string>& roots) {
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) throw_io("cannot watch folders: inotify_init1: {}", std::strerror(errno));
  for (const auto& r : roots) watch_tree(r);
}

FolderWatcher::~FolderWatcher() {
  if (fd_ >= 0) ::close(fd_);
}

void FolderWatcher::watch_tree(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return;
  std::vector<fs::path> todo{root};
  while (!todo.empty()) {
    const fs::path dir = todo.back();
    todo.pop_back();
    const int wd = inotify_add_watch(fd_, dir.c_str(), kEvents);
    if (wd < 0) {
      // Out of watches (fs.inotify.max_user_watches) or unreadable: say so once per folder.
      std::cerr << "clipdex: cannot watch " << dir.string() << ": " << std::strerror(errno) << "\n";
      continue;
    }
    if (std::none_of(dirs_.begin(), dirs_.end(), [&](const auto& d) { return d.first == wd; }))
      dirs_.emplace_back(wd, dir.string());
    for (fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end;
         it.increment(ec))
      if (it->is_directory(ec) && !it->is_symlink(ec)) todo.push_back(it->path());
  }
}

bool FolderWatcher::drain() {
  alignas(inotify_event) char buf[16384];
  bool any = false;
  for (;;) {
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) return any;  // EAGAIN: nothing more for now
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      any = true;  // IN_Q_OVERFLOW included: a rescan finds whatever was missed
      if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)) && ev->len > 0) {
        const auto parent = std::find_if(dirs_.begin(), dirs_.end(), [&](const auto& d) { return d.first == ev->wd; });
        if (parent != dirs_.end()) watch_tree(parent->second + "/" + ev->name);
      }
      if (ev->mask & IN_IGNORED)
        std::erase_if(dirs_, [&](const auto& d) { return d.first == ev->wd; });
    }
  }
}

bool FolderWatcher::wait_for_changes(std::chrono::milliseconds quiet, const std::atomic<bool>& stop) {
  using clock = std::chrono::steady_clock;
  bool changed = false;
  auto last = clock::now();
  while (!stop.load()) {
    if (changed && clock::now() - last >= quiet) return true;
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, 100);
    if (r > 0 && drain()) {
      changed = true;
      last = clock::now();
    }
  }
  return false;
}

}  // namespace clipdex::pipeline
