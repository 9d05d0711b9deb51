#pragma once
// One writer at a time per library: an exclusive flock on DB.lock, which the operating system
// releases when the holder dies (kill -9 included), so a crashed writer never blocks the next.
// The holder writes who it is (pid, command, start time) into the file, so a second writer can
// say whom it waits for.
#include <memory>
#include <string>

#include "core/error.h"

namespace clipdex::pipeline {

using clipdex::LibraryBusy;  // (include/clipdex/error.h)

class WriterLock {
 public:
  enum class Wait { No, Yes };

  // Takes the lock on `lock_path` for `who` (e.g. "clipdex index"). With Wait::No, returns
  // nullptr when another holder has it (holder() then says who); with Wait::Yes, blocks,
  // after printing whom it waits for to stderr. Throws IoError when the file cannot be opened.
  static std::unique_ptr<WriterLock> acquire(const std::string& lock_path, const std::string& who, Wait wait);
  ~WriterLock();
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

  // The description the current holder wrote ("pid 123, clipdex index, since ..."), or "".
  static std::string holder(const std::string& lock_path);

 private:
  explicit WriterLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace clipdex::pipeline
