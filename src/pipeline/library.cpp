#include "pipeline/library.h"

#include <filesystem>

#include "core/error.h"

namespace clipdex::pipeline {

Library::Library(const std::string& db_path) : db_path_(db_path), catalog_(db_path) {}

std::string Library::setting(const std::string& key, const std::string& fallback) const {
  return catalog_.meta(key).value_or(fallback);
}

void Library::set_setting(const std::string& key, const std::string& value) { catalog_.set_meta(key, value); }

void Library::check_model(const std::string& model_id, bool bind_if_empty) {
  const auto stored = catalog_.meta("model_id");
  if (stored && *stored != model_id && catalog_.stats().contents > 0)
    throw_input("{} holds vectors from model {}, not {}; use another --db or the original model", db_path_, *stored,
                model_id);
  if (bind_if_empty && (!stored || *stored != model_id)) catalog_.set_meta("model_id", model_id);
}

index::IndexType Library::index_type() const { return index::parse_index_type(setting("index_type", "flat")); }

index::VectorIndex* Library::vectors() {
  std::lock_guard load(load_mu_);
  if (index_) return index_.get();
  const auto saved = catalog_.meta("index_generation");
  if (saved && std::stoll(*saved) == catalog_.generation() && std::filesystem::exists(index_path())) {
    index_ = index::load_faiss_index(index_path());
    if (index_->type() == index_type()) {
      trained_on_ = std::stoull(setting("index_trained_on", "0"));
      return index_.get();
    }
  }
  rebuild_vectors();
  return index_.get();
}

void Library::rebuild_vectors() {
  std::vector<int64_t> ids;
  std::vector<float> all;
  int dim = 0;
  catalog_.for_each_embedding([&](int64_t id, std::span<const float> v) {
    dim = static_cast<int>(v.size());
    ids.push_back(id);
    all.insert(all.end(), v.begin(), v.end());
  });
  if (dim == 0) dim = std::stoi(setting("dim", "0"));
  index::IndexParams params;
  params.type = index_type();
  if (dim == 0) {  // nothing stored yet: a flat placeholder until vectors arrive
    index_.reset();
    return;
  }
  if (params.type == index::IndexType::IVFPQ && ids.empty()) params.type = index::IndexType::Flat;
  index_ = index::make_faiss_index(dim, params, all.data(), ids.size());
  index_->add(all.data(), ids.data(), ids.size());
  trained_on_ = ids.size();
  set_setting("index_trained_on", std::to_string(trained_on_));
}

void Library::update_vectors(const std::vector<int64_t>& added_ids, const std::vector<float>& added,
                             const std::vector<int64_t>& removed_ids) {
  if (!added_ids.empty() && setting("dim").empty())
    set_setting("dim", std::to_string(added.size() / added_ids.size()));
  // The catalog already holds these changes: an index not loaded yet is built from it whole.
  if (!index_) {
    rebuild_vectors();
    return;
  }
  // IVF-PQ trained on a small set is retrained as the collection grows (8x since training).
  const bool retrain = index_->type() == index::IndexType::IVFPQ && index_->size() + added_ids.size() > 8 * std::max<size_t>(trained_on_, 32);
  if (retrain || !index_->remove(removed_ids.data(), removed_ids.size())) {
    rebuild_vectors();
    return;
  }
  index_->add(added.data(), added_ids.data(), added_ids.size());
}

void Library::save_vectors() {
  if (!index_) vectors();
  if (!index_) return;
  index_->save(index_path());
  set_setting("index_generation", std::to_string(catalog_.generation()));
}

}  // namespace clipdex::pipeline
