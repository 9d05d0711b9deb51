// Library::read_image: the bytes of an indexed image, only from a file that still holds what was
// indexed and still lies inside the indexed folders (a server never serves other files).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include <fmt/format.h>

#include "clipdex/clipdex.h"
#include "pipeline/content_hash.h"
#include "pipeline/library.h"

namespace clipdex {
namespace {

namespace fs = std::filesystem;

enum class Check { Ok, Missing, Changed };

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

bool inside(const std::string& path, const std::vector<std::string>& roots) {
  if (roots.empty()) return true;  // a library indexed before roots were recorded: the hash decides
  for (const auto& r : roots)
    if (path.size() > r.size() && path.compare(0, r.size(), r) == 0 && (r.back() == '/' || path[r.size()] == '/'))
      return true;
  return false;
}

Check read_checked(const store::FileRecord& f, const std::string& hash, const std::vector<std::string>& roots,
                   uint64_t max_bytes, std::string& bytes) {
  const Fd fd{::open(f.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (fd.fd < 0) return errno == ENOENT || errno == ENOTDIR ? Check::Missing : Check::Changed;
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != f.size) return Check::Changed;
  std::error_code ec;
  const fs::path real = fs::read_symlink(fmt::format("/proc/self/fd/{}", fd.fd), ec);
  if (ec || !inside(real.string(), roots)) return Check::Changed;
  const auto mtime = fs::last_write_time(real, ec);
  if (ec || std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch()).count() != f.mtime_ns)
    return Check::Changed;
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    throw Library::TooLarge(fmt::format("the image is {} bytes, over the server's limit of {}", st.st_size, max_bytes));
  bytes.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::pread(fd.fd, bytes.data() + got, bytes.size() - got, static_cast<off_t>(got));
    if (n <= 0) return Check::Changed;
    got += static_cast<size_t>(n);
  }
  return pipeline::content_hash(bytes) == hash ? Check::Ok : Check::Changed;
}

}  // namespace

std::string Library::read_image(int64_t content_id, uint64_t max_bytes) const {
  pipeline::Library& lib = *impl_;
  const auto content = lib.catalog().content(content_id);
  if (!content) throw NotFound(fmt::format("no indexed image has id {}", content_id));
  const std::vector<std::string> roots = lib.roots();
  bool changed = false;
  for (const auto& f : lib.catalog().files_of(content_id)) {
    std::string bytes;
    const Check c = read_checked(f, content->hash, roots, max_bytes, bytes);
    if (c == Check::Ok) return bytes;
    changed = changed || c == Check::Changed;
  }
  if (changed)
    throw Changed(fmt::format("image {} changed on disk since it was indexed (or moved outside the indexed "
                                    "folders); index again to serve it",
                                    content_id));
  throw NotFound(fmt::format("image {} is no longer on disk", content_id));
}

}  // namespace clipdex
