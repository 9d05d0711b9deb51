#pragma once
// Read-only view of the records of a ZIP archive held in memory (PyTorch checkpoints and
// TorchScript archives are ZIP files). Only what such files use is read: the central directory
// (ZIP64 included) and records stored without compression, whose bytes are handed out as views
// into the caller's buffer — no copy, so mapped weights stay mapped. libzip cannot give the data
// offset of a record, which mapping needs, hence this small reader. Every offset and size is
// checked against the buffer before use.
#include <cstdint>
#include <map>
#include <span>
#include <string>

namespace clipdex {

class ZipReader {
 public:
  struct Record {
    uint64_t data_offset = 0;  // of the record's bytes in the archive
    uint64_t size = 0;         // uncompressed == stored size
    uint16_t method = 0;       // 0 = stored; anything else cannot be viewed
  };

  // Parses the central directory. Throws InputError (naming `origin`) for anything malformed.
  ZipReader(std::span<const uint8_t> archive, std::string origin);

  const std::map<std::string, Record>& records() const { return records_; }
  bool contains(const std::string& name) const { return records_.count(name) != 0; }
  // The stored bytes of a record; throws InputError if missing or compressed.
  std::span<const uint8_t> bytes(const std::string& name) const;

  // Whether `bytes` starts like a ZIP archive (a local file header).
  static bool looks_like_zip(std::span<const uint8_t> bytes);

 private:
  std::span<const uint8_t> archive_;
  std::string origin_;
  std::map<std::string, Record> records_;
};

}  // namespace clipdex
