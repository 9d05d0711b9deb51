#include "pipeline/library.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "kernels/gpu_flat_search.h"
#include "store/pgvector_index.h"
#include "store/sql.h"

namespace clipdex::pipeline {
namespace {

namespace fs = std::filesystem;

// Change-log entries kept behind the saved index, so readers a little behind catch up by
// applying changes rather than reloading the file.
constexpr int64_t kLogKeep = 256;

const std::string& existing(const std::string& path, Library::Open mode) {
  if (mode == Library::Open::Existing && !store::is_database_url(path) && !fs::exists(path))
    throw_input("no library at '{}' (a typo? a new one is made by: clipdex index FOLDER --db {})", path, path);
  return path;
}

std::string checksum(const std::string& path) { return fmt::format("{:016x}", hash_file(path)); }

}  // namespace

Library::Library(const std::string& db_path, Open mode)
    : db_path_(db_path),
      name_(store::without_password(db_path)),
      postgres_(store::is_database_url(db_path)),
      catalog_(existing(db_path, mode)) {}

Library::~Library() = default;

std::string Library::setting(const std::string& key, const std::string& fallback) const {
  return catalog_.meta(key).value_or(fallback);
}

void Library::set_setting(const std::string& key, const std::string& value) { catalog_.set_meta(key, value); }

void Library::check_model(const std::string& model_id, bool bind_if_empty) {
  const auto stored = catalog_.meta("model_id");
  if (stored && *stored != model_id && catalog_.stats().contents > 0) {
    const auto int8 = [](const std::string& id) { return id.find("+int8") != std::string::npos; };
    if (int8(*stored) != int8(model_id))
      throw_input("{} holds vectors computed in {} precision; run with --precision {}", name_,
                  int8(*stored) ? "int8" : "fp32/bf16", int8(*stored) ? "int8" : "fp32");
    throw_input("{} holds vectors from model {}, not {}; use another --db or the original model", name_, *stored,
                model_id);
  }
  if (bind_if_empty && (!stored || *stored != model_id)) catalog_.set_meta("model_id", model_id);
}

void Library::remember_model(const ModelSource& src, std::optional<bool> int8) {
  const auto absolute = [](const std::string& p) {
    return p.empty() ? p : std::filesystem::absolute(p).lexically_normal().string();
  };
  std::map<std::string, std::string> values = {{"model", absolute(src.model)},
                                               {"vocab", absolute(src.vocab)},
                                               {"arch", src.arch},
                                               {"text_model", absolute(src.text_model)},
                                               {"adapter", absolute(src.adapter)}};
  if (int8) values["precision"] = *int8 ? "int8" : "";
  catalog_.set_meta_all(values);
}

Library::ModelSource Library::remembered_model() const {
  return {setting("model"), setting("vocab"), setting("arch"), setting("text_model"), setting("adapter")};
}

std::vector<std::string> Library::roots() const {
  std::vector<std::string> out;
  const auto j = nlohmann::json::parse(setting("roots", "[]"), nullptr, false);
  if (j.is_array())
    for (const auto& r : j)
      if (r.is_string()) out.push_back(r.get<std::string>());
  return out;
}

void Library::add_roots(const std::vector<std::string>& folders) {
  auto known = roots();
  for (const auto& f : folders)
    if (std::find(known.begin(), known.end(), f) == known.end()) known.push_back(f);
  set_setting("roots", nlohmann::json(known).dump());
}

bool Library::acquire_writer(const std::string& who, WriterLock::Wait wait) {
  if (postgres_) return postgres_writer_ = true;  // each change takes the server's lock itself
  if (writer_) return true;
  writer_ = WriterLock::acquire(lock_path(), who, wait);
  return writer_ != nullptr;
}

void Library::release_writer() {
  writer_.reset();
  postgres_writer_ = false;
}

Library::WriterScope::WriterScope(Library& lib, const std::string& who, WriterLock::Wait wait)
    : lib_(lib), release_(!lib.is_writer()) {
  if (!lib.acquire_writer(who, wait))
    throw LibraryBusy(fmt::format("{} is being written by {}", lib.name(), lib.writer_holder()));
}

Library::WriterScope::~WriterScope() {
  if (release_) lib_.release_writer();
}

index::IndexType Library::index_type() const { return index::parse_index_type(setting("index_type", "flat")); }

index::IndexParams Library::index_params() const {
  index::IndexParams params;
  params.type = index_type();
  return params;
}

void Library::notice(const std::string& message) const {
  if (notice_) notice_(message);
  else std::fprintf(stderr, "clipdex: notice: %s\n", message.c_str());
}

void Library::sync() {
  {
    std::shared_lock read(mu_);
    if (index_generation_ >= 0 && catalog_.generation() == index_generation_) return;
  }
  std::unique_lock write(mu_);
  sync_locked();
}

// The server's table is the index: only whether there are vectors yet, and of what size, is
// followed (a re-embedding under another model changes the size).
void Library::sync_postgres() {
  const int64_t g = catalog_.generation();
  if (g == index_generation_) return;
  const int dim = std::stoi(setting("dim", "0"));
  if (dim <= 0 || catalog_.content_count() == 0) index_.reset();
  else if (!index_ || index_->dim() != dim || index_->type() != index_type())
    index_ = store::make_pgvector_index(catalog_, index_params(), dim);
  index_generation_ = g;
}

void Library::sync_locked() {
  if (postgres_) return sync_postgres();
  if (index_generation_ >= 0 && catalog_.generation() == index_generation_) return;
  // Loaded already: follow the change log.
  if (index_generation_ >= 0)
    if (auto d = catalog_.changes_since(index_generation_); d && apply_delta(*d)) {
      check_count("after following the catalog");
      return;
    }
  // Otherwise the saved file, if it verifies, plus the changes logged since it was saved.
  std::string why;
  if (load_verified(why)) {
    if (auto d = catalog_.changes_since(index_generation_); d && apply_delta(*d)) {
      check_count("after loading");
      return;
    }
  } else if (!why.empty()) {
    notice(fmt::format("the vector index {} {}; rebuilding it from the stored embeddings", index_path(), why));
  }
  rebuild_from_catalog();
}

bool Library::load_verified(std::string& why) {
  // A writer may replace the file between our reading its recorded checksum and hashing it:
  // a mismatch is believed only when the record did not change meanwhile.
  for (int attempt = 0; attempt < 3; ++attempt) {
    const auto gen = catalog_.meta("index_generation"), sum = catalog_.meta("index_checksum");
    const auto count = catalog_.meta("index_count");
    std::error_code ec;
    if (!fs::exists(index_path(), ec)) return false;
    if (!gen || !sum || sum->empty() || !count) {
      why = "has no recorded checksum (an older clipdex wrote it)";
      return false;
    }
    std::string actual;
    try {
      actual = checksum(index_path());
    } catch (const Error& e) {
      why = fmt::format("cannot be read ({})", e.what());
      return false;
    }
    if (actual != *sum) {
      if (catalog_.meta("index_checksum") != sum) continue;
      why = "does not match the checksum recorded at its last save (damaged, or copied from another library)";
      return false;
    }
    std::unique_ptr<index::VectorIndex> idx;
    try {
      idx = index::load_faiss_index(index_path());
    } catch (const Error& e) {
      why = fmt::format("cannot be loaded ({})", e.what());
      return false;
    }
    if (idx->type() != index_type()) return false;  // the index type changed: rebuilt, no alarm
    if (std::to_string(idx->size()) != *count) {
      why = fmt::format("holds {} vectors where {} were saved", idx->size(), *count);
      return false;
    }
    index_ = std::move(idx);
    index_on_gpu_ = false;
    place_index();
    index_generation_ = std::stoll(*gen);
    trained_on_ = std::stoull(setting("index_trained_on", "0"));
    return true;
  }
  why = "kept changing while being read";
  return false;
}

void Library::rebuild_from_catalog() {
  std::vector<int64_t> ids;
  std::vector<float> all;
  int dim = 0;
  const int64_t generation = catalog_.snapshot_embeddings([&](int64_t id, std::span<const float> v) {
    dim = static_cast<int>(v.size());
    ids.push_back(id);
    all.insert(all.end(), v.begin(), v.end());
  });
  index_generation_ = generation;
  if (dim == 0) {  // nothing stored yet
    index_.reset();
    return;
  }
  index::IndexParams params;
  params.type = index_type();
  index_ = index::make_faiss_index(dim, params, all.data(), ids.size());
  index_->add(all.data(), ids.data(), ids.size());
  trained_on_ = ids.size();
  index_on_gpu_ = false;
  place_index();
}

void Library::search_on_gpu(int device) {
  kernels::make_gpu_flat_search(device, 1);  // fails now, with its reason, if there is no such GPU
  std::unique_lock lock(mu_);
  gpu_device_ = device;
  place_index();
}

void Library::place_index() {
  if (!gpu_device_ || !index_ || postgres_ || index_->type() != index::IndexType::Flat || index_on_gpu_) return;
  const int dim = index_->dim();
  index_ = index::make_gpu_flat_index(std::move(index_), kernels::make_gpu_flat_search(*gpu_device_, dim));
  index_on_gpu_ = true;
}

bool Library::apply_delta(const store::VectorDelta& d) {
  if (!index_) {
    if (!d.added_ids.empty()) return false;  // the first vectors: build the index whole
    index_generation_ = d.generation;
    return true;
  }
  if (!d.removed.empty() && !index_->remove(d.removed.data(), d.removed.size())) return false;
  // IVF-PQ trained on a small set is retrained as the collection grows (8x since training).
  if (index_->type() == index::IndexType::IVFPQ &&
      index_->size() + d.added_ids.size() > 8 * std::max<size_t>(trained_on_, 32))
    return false;
  index_->add(d.added.data(), d.added_ids.data(), d.added_ids.size());
  index_generation_ = d.generation;
  return true;
}

void Library::check_count(const char* when) {
  const auto expected = static_cast<size_t>(catalog_.content_count());  // runs after every batch
  const size_t actual = index_ ? index_->size() : 0;
  if (actual == expected) return;
  notice(fmt::format("the vector index held {} vectors {} where the catalog has {}; rebuilding it", actual, when,
                     expected));
  rebuild_from_catalog();
}

index::VectorIndex* Library::vectors() { return index_.get(); }

std::vector<int64_t> Library::apply(const store::CatalogChange& change) {
  if (!is_writer()) throw Error("Library::apply needs the writer lock (acquire_writer)");
  std::unique_lock write(mu_);
  if (postgres_) {
    std::vector<int64_t> orphaned;
    const auto ids = catalog_.apply(change, orphaned);
    if (!ids.empty()) {
      const auto dim = static_cast<int>(change.contents.front().embedding.size());
      if (setting("dim").empty()) set_setting("dim", std::to_string(dim));
      store::ensure_pgvector_index(catalog_, index_params(), dim);
    }
    sync_postgres();
    return ids;
  }
  sync_locked();
  std::vector<int64_t> orphaned;
  const auto ids = catalog_.apply(change, orphaned);
  store::VectorDelta d;
  d.generation = catalog_.generation();
  d.removed = orphaned;
  d.added_ids = ids;
  for (const auto& c : change.contents) d.added.insert(d.added.end(), c.embedding.begin(), c.embedding.end());
  if (!ids.empty() && setting("dim").empty()) set_setting("dim", std::to_string(d.added.size() / ids.size()));
  if (!apply_delta(d)) rebuild_from_catalog();
  check_count("after a change");
  return ids;
}

bool Library::save_vectors() {
  if (postgres_ || !writer_) return false;  // PostgreSQL: committed is saved  // readers never write the index: only the writer's is current
  sync_locked();
  std::map<std::string, std::string> record = {{"index_generation", std::to_string(index_generation_)},
                                               {"index_trained_on", std::to_string(trained_on_)}};
  if (index_) {
    index_->save(index_path());
    record["index_checksum"] = checksum(index_path());
    record["index_count"] = std::to_string(index_->size());
  } else {
    std::error_code ec;
    fs::remove(index_path(), ec);
    record["index_checksum"].clear();
    record["index_count"] = std::to_string(0);
  }
  catalog_.set_meta_all(record);
  if (index_generation_ > kLogKeep) catalog_.prune_log(index_generation_ - kLogKeep);
  return true;
}

void Library::rebuild_vectors() {
  std::unique_lock write(mu_);
  if (postgres_) {
    // After an index-type change or a re-embedding (the HNSW index was dropped with the old vectors).
    if (const auto dim = catalog_.vector_dim()) {
      set_setting("dim", std::to_string(*dim));
      store::ensure_pgvector_index(catalog_, index_params(), *dim);
    }
    index_generation_ = -1;
    sync_postgres();
    return;
  }
  rebuild_from_catalog();
  save_vectors();
}

}  // namespace clipdex::pipeline
