#include "pipeline/merge.h"

#include <filesystem>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <unordered_map>


#include "core/error.h"

namespace clipdex::pipeline {
namespace {

constexpr size_t kContentsPerTransaction = 512;

bool same_file(const store::FileRecord& a, const store::FileRecord& b, const std::string& a_hash, const std::string& b_hash) {
  return a.size == b.size && a.mtime_ns == b.mtime_ns && a.status == b.status && a_hash == b_hash;
}

void merge_one(Library& into, Library& shard, MergeReport& report) {
  const auto shard_model = shard.catalog().meta("model_id");
  if (!shard_model) {
    if (shard.catalog().stats().files == 0) return;  // an empty shard (no files fell to it)
    throw_input("{} names no model", shard.db_path());
  }
  into.check_model(*shard_model, /*bind_if_empty=*/true);
  if (into.remembered_model().model.empty()) {
    const auto src = shard.remembered_model();
    const auto precision = shard.setting("precision");
    into.remember_model(src, precision.empty() ? std::nullopt : std::optional<bool>(precision == "int8"));
  }
  into.add_roots(shard.roots());

  auto& from = shard.catalog();
  auto& to = into.catalog();
  const auto held = to.files();
  std::unordered_map<int64_t, std::string> hash_of_shard_content;
  const auto shard_hash = [&](int64_t id) -> std::string {
    if (id < 0) return "";
    auto it = hash_of_shard_content.find(id);
    if (it == hash_of_shard_content.end()) it = hash_of_shard_content.emplace(id, from.content(id)->hash).first;
    return it->second;
  };
  const auto held_hash = [&](const store::FileRecord& r) -> std::string {
    return r.content_id < 0 ? "" : to.content(r.content_id)->hash;
  };

  store::CatalogChange change;
  size_t pending = 0;
  const auto flush = [&] {
    if (change.contents.empty() && change.files.empty() && change.removed_paths.empty()) return;
    report.contents_added += static_cast<int64_t>(into.apply(change).size());
    change = {};
    pending = 0;
  };
  std::unordered_map<std::string, size_t> new_content_slot;  // hash -> index in change.contents
  for (const auto& [path, rec] : from.files()) {
    const std::string hash = shard_hash(rec.content_id);
    const auto h = held.find(path);
    if (h != held.end() && same_file(h->second, rec, held_hash(h->second), hash)) {
      ++report.files_unchanged;
      continue;
    }
    if (h != held.end()) {
      change.removed_paths.push_back(path);
      ++report.files_updated;
    } else {
      ++report.files_added;
    }
    store::FileRecord file = rec;
    if (rec.content_id < 0) {  // a failure travels as one
      change.files.push_back(file);
      continue;
    }
    if (const auto existing = to.content_by_hash(hash)) {
      file.content_id = *existing;
      change.files.push_back(file);
      continue;
    }
    if (const auto slot = new_content_slot.find(hash); slot != new_content_slot.end()) {
      change.contents[slot->second].files.push_back(file);
      continue;
    }
    const auto content = from.content(rec.content_id);
    auto embedding = from.embedding(rec.content_id);
    if (!content || !embedding) throw_input("{}: content {} of {} is missing", shard.db_path(), rec.content_id, path);
    store::NewContent nc{content->hash, content->width, content->height, content->metadata, std::move(*embedding), {file}};
    new_content_slot[hash] = change.contents.size();
    change.contents.push_back(std::move(nc));
    if (++pending == kContentsPerTransaction) {
      flush();
      new_content_slot.clear();
    }
  }
  flush();

  // Captions for image -> text search.
  std::vector<std::pair<int64_t, std::vector<float>>> texts;
  from.for_each_text_embedding([&](int64_t id, std::span<const float> e) { texts.emplace_back(id, std::vector<float>(e.begin(), e.end())); });
  for (const auto& [id, e] : texts) {
    const auto text = from.text(id);
    if (text && !to.has_text(*text)) {
      to.add_text(*text, e);
      ++report.texts_added;
    }
  }
}

}  // namespace

MergeReport merge_libraries(Library& into, const std::vector<std::string>& shard_dbs) {
  MergeReport report;
  const std::lock_guard job(into.jobs_mutex());
  const Library::WriterScope writer(into, "clipdex merge", WriterLock::Wait::Yes);
  into.sync();
  for (const auto& db : shard_dbs) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(db, ec)) throw_input("{} is not a library database", db);
    if (std::filesystem::equivalent(db, into.db_path(), ec)) throw_input("{} is the library being merged into", db);
    Library shard(db, Library::Open::Existing);
    merge_one(into, shard, report);
  }
  std::unique_lock lock(into.mutex());
  into.save_vectors();
  return report;
}

}  // namespace clipdex::pipeline
