#include "pipeline/indexer.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>

#include <sys/stat.h>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/mapped_file.h"
#include "pipeline/content_hash.h"
#include "pipeline/metadata_backfill.h"
#include "pipeline/parallel_batches.h"
#include "pipeline/progress.h"
#include "pipeline/scan_rules.h"

namespace clipdex::pipeline {
namespace {

namespace fs = std::filesystem;

struct Candidate {
  std::string path;
  int64_t size = 0, mtime_ns = 0;
};

// What a worker made of one file.
struct Item {
  Candidate file;
  std::string hash;
  bool duplicate = false;  // content already known or claimed by another file: not decoded
  std::vector<float> pixels;
  int width = 0, height = 0;
  store::ImageMetadata metadata;
  std::string error;
};

// Walks each root with an explicit stack (no recursion), applying the scan rules.
std::vector<Candidate> scan(const std::vector<std::string>& roots, bool all_files, const ScanRules& rules) {
  std::vector<Candidate> out;
  auto consider = [&](const fs::directory_entry& e) {
    std::error_code sec;
    if (!e.is_regular_file(sec)) return;
    const std::string p = e.path().string();
    if (!all_files && !has_image_extension(p)) return;
    const auto size = e.file_size(sec);
    const auto mtime = e.last_write_time(sec);
    if (sec) return;
    out.push_back({p, static_cast<int64_t>(size),
                   std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch()).count()});
  };
  struct Frame {
    fs::path dir;
    std::string rel;  // below the root ("" for the root)
    std::vector<std::shared_ptr<const IgnoreFile>> ignores;
  };
  for (const auto& root : roots) {
    std::error_code ec;
    const fs::path base = fs::weakly_canonical(root, ec);
    if (ec || !fs::exists(base)) throw_input("'{}' does not exist", root);
    if (fs::is_regular_file(base)) {
      consider(fs::directory_entry(base));
      continue;
    }
    std::set<std::pair<dev_t, ino_t>> visited;  // folders walked, so a link loop ends
    auto first_visit = [&](const fs::path& dir) {
      struct stat st {};
      return ::stat(dir.c_str(), &st) == 0 && visited.insert({st.st_dev, st.st_ino}).second;
    };
    std::vector<Frame> stack;
    auto enter = [&](const fs::path& dir, const std::string& rel, std::vector<std::shared_ptr<const IgnoreFile>> ignores) {
      if (auto f = IgnoreFile::load((dir / ".clipdexignore").string(), rel)) ignores.push_back(std::move(f));
      stack.push_back({dir, rel, std::move(ignores)});
    };
    first_visit(base);
    enter(base, "", {});
    while (!stack.empty()) {
      const Frame frame = std::move(stack.back());
      stack.pop_back();
      for (auto it = fs::directory_iterator(frame.dir, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::directory_iterator(); it.increment(ec)) {
        const fs::directory_entry& e = *it;
        const std::string name = e.path().filename().string();
        if (!rules.include_hidden && !name.empty() && name[0] == '.') continue;
        std::error_code sec;
        if (e.is_symlink(sec) && !rules.follow_symlinks) continue;
        const bool is_dir = e.is_directory(sec);
        const std::string rel = frame.rel.empty() ? name : frame.rel + "/" + name;
        if (excluded_by_glob(rules.excludes, rel, name)) continue;
        bool ignored = false;
        for (const auto& f : frame.ignores) f->apply(rel, name, is_dir, ignored);
        if (ignored) continue;
        if (is_dir) {
          if (first_visit(e.path())) enter(e.path(), rel, frame.ignores);
        } else {
          consider(e);
        }
      }
      ec.clear();
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  out.erase(std::unique(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path == b.path; }), out.end());
  return out;
}

bool under_any(const std::string& path, const std::vector<std::string>& roots) {
  for (const auto& r : roots) {
    if (path == r) return true;
    if (path.size() > r.size() && path.compare(0, r.size(), r) == 0 && path[r.size()] == '/') return true;
  }
  return false;
}

// Turns finished items into one catalog change (and remembers which need the model).
class BatchCommitter {
 public:
  BatchCommitter(Library& lib, const Embedder& emb, IndexReport& report) : lib_(lib), emb_(emb), report_(report) {}

  void commit(std::vector<Item>& items) {
    store::CatalogChange change;
    std::unordered_map<std::string, size_t> new_content;  // hash -> index in change.contents
    std::vector<float> pixels;
    for (auto& it : items) {
      store::FileRecord rec{it.file.path, it.file.size, it.file.mtime_ns, -1, "indexed", ""};
      if (!it.error.empty()) {
        rec.status = "failed";
        rec.error = it.error;
        change.files.push_back(rec);
        failed_hashes_[it.hash] = it.error;
        ++report_.failed;
      } else if (it.duplicate) {
        deferred_.push_back(std::move(it));
      } else {
        new_content[it.hash] = change.contents.size();
        change.contents.push_back({it.hash, it.width, it.height, std::move(it.metadata), {}, {rec}});
        pixels.insert(pixels.end(), it.pixels.begin(), it.pixels.end());
      }
    }
    resolve_duplicates(change, new_content, /*final=*/false);
    if (!change.contents.empty()) {
      const auto vecs = emb_.embed_pixels(pixels.data(), change.contents.size(), /*normalize=*/true);
      const size_t d = static_cast<size_t>(emb_.dim());
      for (size_t i = 0; i < change.contents.size(); ++i)
        change.contents[i].embedding.assign(vecs.begin() + i * d, vecs.begin() + (i + 1) * d);
    }
    apply(change);
  }

  // Duplicates whose first copy was still being decoded get resolved at the end.
  void finish() {
    store::CatalogChange change;
    std::unordered_map<std::string, size_t> none;
    resolve_duplicates(change, none, /*final=*/true);
    apply(change);
  }

  void remove(const std::vector<std::string>& paths) {
    store::CatalogChange change;
    change.removed_paths = paths;
    apply(change);
  }

 private:
  void resolve_duplicates(store::CatalogChange& change, std::unordered_map<std::string, size_t>& new_content, bool final) {
    std::vector<Item> still;
    for (auto& it : deferred_) {
      store::FileRecord rec{it.file.path, it.file.size, it.file.mtime_ns, -1, "indexed", ""};
      if (auto n = new_content.find(it.hash); n != new_content.end()) {
        change.contents[n->second].files.push_back(rec);
      } else if (auto id = lib_.catalog().content_by_hash(it.hash)) {
        rec.content_id = *id;
        change.files.push_back(rec);
      } else if (auto f = failed_hashes_.find(it.hash); f != failed_hashes_.end() || final) {
        rec.status = "failed";
        rec.error = f != failed_hashes_.end() ? f->second : "identical content could not be indexed";
        change.files.push_back(rec);
        ++report_.failed;
        continue;
      } else {
        still.push_back(std::move(it));
        continue;
      }
      ++report_.duplicates;
    }
    deferred_ = std::move(still);
  }

  void apply(const store::CatalogChange& change) {
    if (change.contents.empty() && change.files.empty() && change.removed_paths.empty()) return;
    report_.embedded += static_cast<int64_t>(lib_.apply(change).size());
  }

  Library& lib_;
  const Embedder& emb_;
  IndexReport& report_;
  std::vector<Item> deferred_;
  std::unordered_map<std::string, std::string> failed_hashes_;
};

}  // namespace

namespace {

// The folders this library indexes: files are served only from inside them.
void record_roots(Library& lib, const std::vector<std::string>& roots) {
  std::vector<std::string> dirs;
  for (const auto& r : roots) {
    std::error_code ec;
    const std::string real = fs::canonical(r, ec).string();
    dirs.push_back(ec ? r : fs::is_directory(real) ? real : fs::path(real).parent_path().string());
  }
  lib.add_roots(dirs);
}

}  // namespace

bool has_image_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* known : {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif"})
    if (ext == known) return true;
  return false;
}

IndexReport index_folders(Library& lib, const Embedder& embedder, const std::vector<std::string>& roots,
                          const IndexOptions& options) {
  IndexReport report;
  const std::lock_guard job(lib.jobs_mutex());
  // One writer per library: a second `clipdex index` waits here (and says for whom) instead of
  // embedding everything twice and saving an index that disagrees with the catalog.
  const Library::WriterScope writer(lib, options.writer_name, options.wait_for_writer);
  std::vector<std::string> canon_roots;
  for (const auto& r : roots) canon_roots.push_back(fs::weakly_canonical(r).string());
  // Rules given now are stored with the library; a rerun without any applies the stored ones.
  ScanRules rules = options.rules ? *options.rules : ScanRules::from_json(lib.setting("scan_rules"));
  if (options.rules) lib.set_setting("scan_rules", rules.to_json());
  auto found = scan(canon_roots, options.all_files, rules);
  const auto in_this_shard = [&](const std::string& path) {
    return !options.shard || shard_of(path, root_of(path, canon_roots), options.shard->count) == options.shard->index;
  };
  if (options.shard) std::erase_if(found, [&](const Candidate& c) { return !in_this_shard(c.path); });
  report.scanned = static_cast<int64_t>(found.size());
  lib.sync();  // load (or rebuild) before this run's changes land in the catalog
  record_roots(lib, canon_roots);

  // Diff the scan against the catalog.
  const auto known = lib.catalog().files();
  std::vector<Candidate> todo;
  std::unordered_set<std::string> seen;
  for (const auto& c : found) {
    seen.insert(c.path);
    auto k = known.find(c.path);
    const bool same = k != known.end() && k->second.size == c.size && k->second.mtime_ns == c.mtime_ns;
    if (same && (k->second.status == "indexed" || !options.retry_failed)) {
      ++report.unchanged;
      continue;
    }
    todo.push_back(c);
  }
  std::vector<std::string> gone;
  for (const auto& [path, rec] : known)
    if (!seen.count(path) && under_any(path, canon_roots) && in_this_shard(path)) gone.push_back(path);

  BatchCommitter committer(lib, embedder, report);
  if (!gone.empty()) committer.remove(gone);
  report.removed = static_cast<int64_t>(gone.size());

  // Workers hash every file; content seen before (or claimed by another worker) is not decoded.
  std::mutex claim_mu;
  std::unordered_set<std::string> claimed;
  const auto& cfg = embedder.model().preprocess_config();
  const auto decode = embedder.decode_options(options.decode);
  Progress progress("indexing", static_cast<int64_t>(todo.size()), options.progress && !todo.empty());
  auto last_save = std::chrono::steady_clock::now();
  int64_t done = 0;
  try {
    parallel_batches<Item>(
        todo.size(), options.threads, options.batch_size, 0,
        [&](size_t i) {
          Item it;
          it.file = todo[i];
          try {
            const std::string bytes = read_file(it.file.path);
            it.hash = content_hash(bytes);
            {
              std::lock_guard lock(claim_mu);
              it.duplicate = !claimed.insert(it.hash).second || lib.catalog().content_by_hash(it.hash).has_value();
            }
            if (!it.duplicate) {
              image::SourceInfo info;
              const auto im = image::decode_image({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()},
                                                  decode, it.file.path, &info);
              it.width = info.width;
              it.height = info.height;
              it.metadata = metadata_of(info);
              it.pixels = image::preprocess(im, cfg);
            }
          } catch (const std::exception& e) {
            it.error = e.what();
            it.duplicate = false;
          }
          return it;
        },
        [&](std::vector<Item>& items) {
          const size_t n = items.size();
          committer.commit(items);
          progress.advance(static_cast<int64_t>(n));
          done += static_cast<int64_t>(n);
          if (options.on_progress) options.on_progress(done, static_cast<int64_t>(todo.size()));
          if (options.cancel && options.cancel->load())
            throw Cancelled(fmt::format("indexing stopped after {} of {} files (asked to); a rerun finishes it", done,
                                        todo.size()));
          if (std::chrono::steady_clock::now() - last_save > std::chrono::duration<double>(options.save_every_seconds)) {
            std::unique_lock lock(lib.mutex());
            lib.save_vectors();
            last_save = std::chrono::steady_clock::now();
          }
        });
  } catch (const Cancelled&) {
    progress.finish();
    std::unique_lock lock(lib.mutex());
    lib.save_vectors();  // what was committed, saved as a finished run would
    throw;
  }
  committer.finish();
  progress.finish();
  report.metadata_filled = backfill_metadata(lib, decode, options.threads);
  std::unique_lock lock(lib.mutex());
  lib.save_vectors();
  return report;
}

}  // namespace clipdex::pipeline
