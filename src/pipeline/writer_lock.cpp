#include "pipeline/writer_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

#include "core/error.h"
#include "core/mapped_file.h"

namespace clipdex::pipeline {

std::unique_ptr<WriterLock> WriterLock::acquire(const std::string& lock_path, const std::string& who, Wait wait) {
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw_io("cannot open the lock file '{}': {}", lock_path, std::strerror(errno));
  struct Closer {  // until the lock is ours: then the WriterLock owns the descriptor
    int fd;
    ~Closer() {
      if (fd >= 0) ::close(fd);
    }
  } closer{fd};
  int rc;
  while ((rc = ::flock(fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
  }
  if (rc != 0) {
    if (errno != EWOULDBLOCK) throw_io("cannot lock '{}': {}", lock_path, std::strerror(errno));
    if (wait == Wait::No) return nullptr;
    std::fprintf(stderr, "clipdex: waiting: the library is being written by %s\n", holder(lock_path).c_str());
    while ((rc = ::flock(fd, LOCK_EX)) != 0 && errno == EINTR) {
    }
    if (rc != 0) throw_io("cannot lock '{}': {}", lock_path, std::strerror(errno));
  }
  closer.fd = -1;
  auto lock = std::unique_ptr<WriterLock>(new WriterLock(fd));
  char when[32] = "";
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  if (::localtime_r(&now, &tm)) std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
  const std::string text = fmt::format("pid {} ({}), since {}", ::getpid(), who, when);
  if (::ftruncate(fd, 0) == 0 && ::pwrite(fd, text.data(), text.size(), 0) < 0) {
    // The description is only a courtesy to the next writer; the lock itself is held.
  }
  return lock;
}

WriterLock::~WriterLock() {
  if (fd_ < 0) return;
  [[maybe_unused]] int rc = ::ftruncate(fd_, 0);
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

std::string WriterLock::holder(const std::string& lock_path) {
  try {
    const std::string text = read_file(lock_path);
    return text.empty() ? "another process" : text;
  } catch (const Error&) {
    return "another process";
  }
}

}  // namespace clipdex::pipeline
