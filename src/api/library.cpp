// clipdex::Library, Query and classify() over the pipeline and search components.
#include <filesystem>

#include <fmt/format.h>

#include "api/conversions.h"
#include "clipdex/clipdex.h"
#include "core/error.h"
#include "kernels/backend.h"
#include "core/mapped_file.h"
#include "core/paths.h"
#include "core/thread_pool.h"
#include "pipeline/indexer.h"
#include "pipeline/library.h"
#include "pipeline/merge.h"
#include "pipeline/reembed.h"
#include "search/filters.h"
#include "search/query_terms.h"
#include "search/searcher.h"
#include "search/duplicates.h"
#include "pipeline/watch.h"

namespace clipdex {
namespace {

using api::bind_model;

pipeline::IndexOptions pipeline_options(const IndexOptions& options) {
  pipeline::IndexOptions opt;
  opt.batch_size = options.batch_size;
  opt.threads = options.threads;
  opt.retry_failed = options.retry_failed;
  opt.all_files = options.all_files;
  opt.progress = options.progress_bar;
  opt.on_progress = options.on_progress;
  opt.cancel = options.cancel;
  if (!options.shard.empty()) opt.shard = pipeline::parse_shard(options.shard);
  if (options.max_pixels > 0) opt.decode.max_pixels = options.max_pixels;
  opt.decode.apply_exif_orientation = options.exif_orientation;
  if (options.rules) opt.rules = pipeline::ScanRules{options.rules->excludes, options.rules->include_hidden,
                                                     options.rules->follow_symlinks};
  opt.writer_name = options.writer_name;
  opt.wait_for_writer = options.wait ? pipeline::WriterLock::Wait::Yes : pipeline::WriterLock::Wait::No;
  return opt;
}

IndexReport public_report(const pipeline::IndexReport& r) {
  return {r.scanned, r.unchanged, r.embedded, r.duplicates, r.failed, r.removed, r.metadata_filled, 0};
}

// Binds the model to the library. A library holding another model's vectors is first re-embedded
// under this one when they differ in their LoRA adapter alone, or when asked; otherwise
// check_model refuses it with a message naming both.
pipeline::ReembedReport adopt_model(pipeline::Library& lib, const Model& model, const pipeline::IndexOptions& opt,
                                    bool reembed) {
  pipeline::ReembedReport r;
  const auto stored = lib.catalog().meta("model_id");
  if (stored && *stored != model.id() && lib.catalog().content_count() > 0 &&
      (reembed || pipeline::differs_only_in_adapter(*stored, model.id())))
    r = pipeline::reembed_library(lib, *model.internals(), opt);
  bind_model(lib, model);
  return r;
}

}  // namespace

void Filters::add(const std::string& name, const std::string& value) {
  auto number = [&](int& field) {
    try {
      size_t pos = 0;
      const long v = std::stol(value, &pos);
      if (pos != value.size() || v < 0 || v > 1'000'000'000) throw std::invalid_argument(name);
      field = static_cast<int>(v);
    } catch (const std::exception&) {
      throw_input("{} must be a non-negative integer, not '{}'", name, value);
    }
  };
  if (name == "folder") folders.push_back(value);
  else if (name == "path") path_globs.push_back(value);
  else if (name == "format") formats.push_back(value);
  else if (name == "since") since = value;
  else if (name == "until") until = value;
  else if (name == "min_width") number(min_width);
  else if (name == "min_height") number(min_height);
  else throw_input("unknown filter \"{}\"", name);
}

bool Filters::is_field(const std::string& name) { return search::is_filter_field(name); }

bool Filters::empty() const {
  return folders.empty() && path_globs.empty() && since.empty() && until.empty() && min_width <= 0 &&
         min_height <= 0 && formats.empty();
}

std::pair<std::string, float> split_weight(const std::string& spec) { return search::split_weight(spec); }

Query& Query::text(std::string t, float weight) {
  Term term;
  term.text = std::move(t);
  term.weight = weight;
  terms.push_back(std::move(term));
  return *this;
}
Query& Query::minus(std::string t, float weight) { return text(std::move(t), -weight); }
Query& Query::image(std::string file, float weight) {
  Term term;
  term.image_file = std::move(file);
  term.weight = weight;
  terms.push_back(std::move(term));
  return *this;
}
Query& Query::image_bytes(std::string encoded, float weight) {
  Term term;
  term.image_data = std::move(encoded);
  term.weight = weight;
  terms.push_back(std::move(term));
  return *this;
}
Query& Query::like(int64_t id, float weight) {
  Term term;
  term.like_id = id;
  term.weight = weight;
  terms.push_back(std::move(term));
  return *this;
}

Library Library::open(const std::string& db, Mode mode) {
  return Library(std::make_shared<pipeline::Library>(
      db, mode == Create ? pipeline::Library::Open::CreateIfMissing : pipeline::Library::Open::Existing));
}

IndexReport Library::index(const Model& model, const std::vector<std::string>& folders, const IndexOptions& options) {
  const ThreadPool::Limit limit(model.options().threads);
  const auto opt = pipeline_options(options);
  const pipeline::Library::WriterScope writer(*impl_, opt.writer_name, opt.wait_for_writer);
  const auto reembedded = adopt_model(*impl_, model, opt, options.reembed);
  if (!options.index_type.empty() && options.index_type != impl_->setting("index_type", "flat")) {
    index::parse_index_type(options.index_type);  // InputError for an unknown type
    impl_->set_setting("index_type", options.index_type);
    impl_->rebuild_vectors();
  }
  auto report = public_report(pipeline::index_folders(*impl_, *model.internals(), folders, opt));
  report.reembedded = reembedded.images;
  report.removed += reembedded.forgotten;
  return report;
}

void Library::watch(const Model& model, const std::vector<std::string>& folders, const IndexOptions& options,
                    double quiet_seconds, const std::atomic<bool>& stop, const WatchCallbacks& callbacks) {
  const ThreadPool::Limit limit(model.options().threads);
  auto opt = pipeline_options(options);
  opt.progress = false;
  {
    const pipeline::Library::WriterScope writer(*impl_, options.writer_name, pipeline::WriterLock::Wait::Yes);
    adopt_model(*impl_, model, opt, options.reembed);
  }
  pipeline::WatchCallbacks cb;
  if (callbacks.on_pass) cb.on_pass = [&](const pipeline::IndexReport& r) { callbacks.on_pass(public_report(r)); };
  cb.on_problem = callbacks.on_problem;
  cb.on_watching = callbacks.on_watching;
  const auto quiet = std::chrono::milliseconds(static_cast<int64_t>(quiet_seconds * 1000));
  pipeline::watch_and_index(*impl_, *model.internals(), folders, opt, quiet, stop, cb);
}

MergeReport Library::merge(const std::vector<std::string>& dbs) {
  const auto r = pipeline::merge_libraries(*impl_, dbs);
  return {r.files_added, r.files_updated, r.files_unchanged, r.contents_added, r.texts_added};
}

size_t Library::add_texts(const Model& model, const std::vector<std::string>& texts) {
  std::vector<std::string> fresh;
  for (const auto& t : texts)
    if (!impl_->catalog().has_text(t) && std::find(fresh.begin(), fresh.end(), t) == fresh.end()) fresh.push_back(t);
  if (fresh.empty()) return 0;
  const auto v = model.embed_texts(fresh, /*normalize=*/true);
  const pipeline::Library::WriterScope writer(*impl_, "clipdex library", pipeline::WriterLock::Wait::Yes);
  bind_model(*impl_, model);
  const size_t d = static_cast<size_t>(model.dim());
  for (size_t i = 0; i < fresh.size(); ++i) impl_->catalog().add_text(fresh[i], std::span(v).subspan(i * d, d));
  return fresh.size();
}

bool Library::has_text(const std::string& text) const { return impl_->catalog().has_text(text); }

std::vector<std::string> Library::remove(int64_t id, const std::string& writer_name) {
  if (!impl_->catalog().content(id)) throw NotFound(fmt::format("no indexed image has id {}", id));
  std::lock_guard lock(impl_->jobs_mutex());
  const pipeline::Library::WriterScope writer(*impl_, writer_name, pipeline::WriterLock::Wait::No);
  store::CatalogChange change;
  change.removed_paths = impl_->catalog().paths_of(id);
  impl_->apply(change);
  {
    std::unique_lock w(impl_->mutex());
    impl_->save_vectors();
  }
  return change.removed_paths;
}

std::vector<ImageHit> Library::search(const Model& model, const std::string& text, size_t k) {
  Query q;
  q.text(text).k = k;
  return search(model, q);
}

std::vector<ImageHit> Library::search(const Model& model, const Query& query) {
  return Searcher(*this, model, {0, 0}).images(query);
}

std::vector<TextHit> Library::texts_for_image(const Model& model, const std::string& image_file, size_t k) {
  Query q;
  q.image(image_file).k = k;
  return Searcher(*this, model, {0, 0}).texts(q);
}

std::vector<DuplicateGroup> Library::duplicates(float threshold, size_t max_groups) {
  if (!(threshold > 0.0f && threshold <= 1.0f)) throw InputError("the threshold must be a cosine greater than 0 and at most 1");
  std::vector<DuplicateGroup> out;
  for (auto& g : search::find_duplicates(*impl_, {threshold, max_groups})) {
    DuplicateGroup group;
    group.min_score = g.min_score;
    for (auto& img : g.images) {
      ImageRecord r;
      r.id = img.id;
      r.paths = std::move(img.paths);
      r.width = img.width;
      r.height = img.height;
      group.images.push_back(std::move(r));
    }
    out.push_back(std::move(group));
  }
  return out;
}

int64_t Library::images() const { return impl_->catalog().content_count(); }

LibraryStats Library::stats() const {
  const auto st = impl_->catalog().stats();
  LibraryStats out{st.contents, st.files, st.failed, st.texts, impl_->setting("index_type", "flat"), 0};
  impl_->sync();
  std::shared_lock lock(impl_->mutex());
  if (const auto* idx = impl_->vectors()) out.index_size = static_cast<int64_t>(idx->size());
  return out;
}

std::optional<ImageRecord> Library::image(int64_t id) const {
  const auto c = impl_->catalog().content(id);
  if (!c) return std::nullopt;
  return ImageRecord{c->id, c->hash, impl_->catalog().paths_of(id), c->width, c->height};
}

int64_t Library::id_of(const std::string& path) const {
  std::error_code ec;
  const std::string canon = std::filesystem::weakly_canonical(path, ec).string();
  const auto id = impl_->catalog().content_of_path(ec ? path : canon);
  if (!id) throw_input("'{}' is not an indexed image", path);
  return *id;
}

std::vector<float> Library::embedding(int64_t id) const {
  auto v = impl_->catalog().embedding(id);
  if (!v) throw NotFound(fmt::format("no indexed image has id {}", id));
  return std::move(*v);
}

const std::string& Library::path() const { return impl_->name(); }

void Library::search_on(const std::string& device) {
  const kernels::DeviceSpec d = kernels::device_spec(api::device_or_default(device));
  if (d.cuda) impl_->search_on_gpu(d.index);
}

std::string Library::side_path(const std::string& suffix) const {
  if (!impl_->is_postgres()) return impl_->db_path() + suffix;
  uint64_t h = 1469598103934665603ull;  // FNV-1a: a stable folder name per database URL
  for (unsigned char c : impl_->db_path()) h = (h ^ c) * 1099511628211ull;
  std::string base = user_cache_dir();
  if (base.empty()) base = (std::filesystem::temp_directory_path() / "clipdex").string();  // no HOME
  return fmt::format("{}/postgresql/{:016x}{}", base, h, suffix);
}

std::string Library::model_path() const { return impl_->remembered_model().model; }

ModelOptions Library::model_options(const ModelOptions& overrides) const {
  const auto stored = impl_->remembered_model();
  ModelOptions o = overrides;
  if (o.vocab.empty()) o.vocab = stored.vocab;
  if (o.arch.empty()) o.arch = stored.arch;
  if (o.text_model.empty()) o.text_model = stored.text_model;
  if (o.adapter.empty()) o.adapter = stored.adapter;
  // fp32 and bf16 vectors are interchangeable; int8 ones only match int8 queries.
  if ((o.precision.empty() || o.precision == "auto") && impl_->setting("precision") == "int8") o.precision = "int8";
  return o;
}

Model Library::model(const ModelOptions& options, const std::string& path) const {
  const auto stored = impl_->remembered_model();
  if (stored.model.empty() && path.empty())
    throw InputError(impl_->db_path() + " does not name a model yet: index it with one first (or pass a model)");
  Model m = Model::open(path.empty() ? stored.model : path, model_options(options));
  impl_->check_model(m.id(), /*bind_if_empty=*/false);
  return m;
}

}  // namespace clipdex
