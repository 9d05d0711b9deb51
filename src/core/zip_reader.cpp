#include "core/zip_reader.h"

#include <algorithm>

#include "core/error.h"

namespace clipdex {
namespace {

constexpr uint32_t kLocalHeader = 0x04034b50, kCentralHeader = 0x02014b50, kEndOfDirectory = 0x06054b50;
constexpr uint32_t kZip64Locator = 0x07064b50, kZip64End = 0x06064b50;
constexpr uint64_t kMaxRecords = 1u << 20;  // far more than any checkpoint holds

// Little-endian reads at a checked position.
class Cursor {
 public:
  Cursor(std::span<const uint8_t> b, uint64_t pos, const std::string& origin) : b_(b), pos_(pos), origin_(origin) {}
  uint64_t pos() const { return pos_; }
  void need(uint64_t n) const {
    if (pos_ > b_.size() || n > b_.size() - pos_) throw_input("{}: ZIP structure runs past the end of the file", origin_);
  }
  uint64_t le(int bytes) {
    need(static_cast<uint64_t>(bytes));
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | b_[pos_ + static_cast<uint64_t>(i)];
    pos_ += static_cast<uint64_t>(bytes);
    return v;
  }
  std::string text(uint64_t n) {
    need(n);
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  void skip(uint64_t n) {
    need(n);
    pos_ += n;
  }

 private:
  std::span<const uint8_t> b_;
  uint64_t pos_;
  const std::string& origin_;
};

// The end-of-central-directory record is within the last 64 KiB + 22 bytes (its comment).
uint64_t find_end_of_directory(std::span<const uint8_t> b, const std::string& origin) {
  if (b.size() < 22) throw_input("{}: too short to be a ZIP archive", origin);
  const uint64_t lowest = b.size() > 65557 ? b.size() - 65557 : 0;
  for (uint64_t p = b.size() - 22;; --p) {
    const uint32_t sig = uint32_t{b[p]} | uint32_t{b[p + 1]} << 8 | uint32_t{b[p + 2]} << 16 | uint32_t{b[p + 3]} << 24;
    if (sig == kEndOfDirectory) return p;
    if (p == lowest) break;
  }
  throw_input("{}: no ZIP end-of-directory record (truncated or not a ZIP archive)", origin);
}

// The ZIP64 extra field replaces the 32-bit fields that are 0xFFFFFFFF, in this order.
void apply_zip64_extra(Cursor extra, uint64_t end, uint64_t& size, uint64_t& compressed, uint64_t& offset) {
  while (extra.pos() + 4 <= end) {
    const uint64_t id = extra.le(2), len = extra.le(2);
    const uint64_t next = extra.pos() + len;
    if (id == 0x0001) {
      for (uint64_t* field : {&size, &compressed, &offset})
        if (*field == 0xFFFFFFFFu && extra.pos() + 8 <= next) *field = extra.le(8);
    }
    extra.skip(next - extra.pos());
  }
}

}  // namespace

ZipReader::ZipReader(std::span<const uint8_t> archive, std::string origin) : archive_(archive), origin_(std::move(origin)) {
  Cursor end(archive_, find_end_of_directory(archive_, origin_), origin_);
  end.skip(4 + 2 + 2 + 2);  // signature, disk numbers, entries on this disk
  uint64_t count = end.le(2), dir_size = end.le(4), dir_offset = end.le(4);
  if (count == 0xFFFF || dir_size == 0xFFFFFFFFu || dir_offset == 0xFFFFFFFFu) {
    Cursor loc(archive_, end.pos() - 20 - 20, origin_);  // locator sits just before the end record
    if (loc.le(4) != kZip64Locator) throw_input("{}: ZIP64 archive without its locator", origin_);
    loc.skip(4);
    Cursor z(archive_, loc.le(8), origin_);
    if (z.le(4) != kZip64End) throw_input("{}: bad ZIP64 end-of-directory record", origin_);
    z.skip(8 + 2 + 2 + 4 + 4 + 8);  // size, versions, disk numbers, entries on this disk
    count = z.le(8), dir_size = z.le(8), dir_offset = z.le(8);
  }
  if (count > kMaxRecords) throw_input("{}: {} ZIP records is more than a checkpoint holds", origin_, count);
  Cursor(archive_, dir_offset, origin_).need(dir_size);

  Cursor c(archive_, dir_offset, origin_);
  for (uint64_t i = 0; i < count; ++i) {
    if (c.le(4) != kCentralHeader) throw_input("{}: bad ZIP central directory entry {}", origin_, i);
    c.skip(2 + 2 + 2);  // versions, flags
    Record r;
    r.method = static_cast<uint16_t>(c.le(2));
    c.skip(2 + 2 + 4);  // time, date, crc
    uint64_t compressed = c.le(4), size = c.le(4);
    const uint64_t name_len = c.le(2), extra_len = c.le(2), comment_len = c.le(2);
    c.skip(2 + 2 + 4);  // disk, attributes
    uint64_t local = c.le(4);
    std::string name = c.text(name_len);
    apply_zip64_extra(c, c.pos() + extra_len, size, compressed, local);
    c.skip(extra_len + comment_len);

    Cursor h(archive_, local, origin_);
    if (h.le(4) != kLocalHeader) throw_input("{}: record '{}' has no local header", origin_, name);
    h.skip(2 + 2 + 2 + 2 + 2 + 4 + 4 + 4);
    const uint64_t local_name = h.le(2), local_extra = h.le(2);
    h.skip(local_name + local_extra);
    r.data_offset = h.pos();
    r.size = size;
    if (r.method == 0 && compressed != size)
      throw_input("{}: stored record '{}' has sizes {} and {}", origin_, name, compressed, size);
    h.need(compressed);
    records_[std::move(name)] = r;
  }
}

std::span<const uint8_t> ZipReader::bytes(const std::string& name) const {
  const auto it = records_.find(name);
  if (it == records_.end()) throw_input("{}: no record '{}'", origin_, name);
  if (it->second.method != 0)
    throw_input("{}: record '{}' is compressed (method {}); PyTorch stores records uncompressed", origin_, name,
                it->second.method);
  return archive_.subspan(it->second.data_offset, it->second.size);
}

bool ZipReader::looks_like_zip(std::span<const uint8_t> b) {
  return b.size() >= 4 && b[0] == 0x50 && b[1] == 0x4b && b[2] == 0x03 && b[3] == 0x04;
}

}  // namespace clipdex
