#pragma once
// Atomic file replacement: write to a temporary file beside the target, fsync it, rename it
// over the target, fsync the directory. A crash leaves either the old or the new file whole.
#include <functional>
#include <string>
#include <string_view>

namespace clipdex {

class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);  // creates the temporary file; throws IoError
  ~AtomicFileWriter();                          // removes the temporary file unless committed
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(std::string_view bytes);
  void commit();  // fsync + rename + directory fsync

 private:
  std::string path_;
  std::string tmp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

void write_file_atomic(const std::string& path, std::string_view bytes);

// For files written by other libraries: fsync `tmp`, rename it to `path`, fsync the directory.
void commit_file(const std::string& tmp, const std::string& path);

}  // namespace clipdex
