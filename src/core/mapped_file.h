#pragma once
// Read-only memory mapping of a whole file (RAII). Weights and fixtures are mapped, not read,
// so a model loads in milliseconds and pages are shared between processes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace clipdex {

class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path);  // throws IoError
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Tells the kernel the pages of `range` (inside this mapping) are not needed any more, so
  // they leave the process's resident set; reading them again re-reads the file.
  void release(std::span<const uint8_t> range) const;

 private:
  void release() noexcept;
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// XXH3-64 of a file's bytes, read in chunks (no mapping, so it adds nothing to the resident set).
uint64_t hash_file(const std::string& path);

// Throws InputError for a missing file (ENOENT, ENOTDIR), IoError for other open failures.
[[noreturn]] void throw_open_error(const std::string& path, int err);

// Reads a whole file into memory; throws as throw_open_error, or IoError naming the file.
std::string read_file(const std::string& path);

}  // namespace clipdex
