// clipdex::Library, Query and classify() over the pipeline and search components.
#include <filesystem>

#include "clipdex/clipdex.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/thread_pool.h"
#include "pipeline/indexer.h"
#include "pipeline/library.h"
#include "pipeline/merge.h"
#include "search/filters.h"
#include "search/query_terms.h"
#include "search/searcher.h"
#include "search/zeroshot.h"

namespace clipdex {
namespace {

store::ContentFilter content_filter(const Filters& f) {
  store::ContentFilter out;
  for (const auto& v : f.folders) search::add_filter_field(out, "folder", v);
  for (const auto& v : f.path_globs) search::add_filter_field(out, "path", v);
  for (const auto& v : f.formats) search::add_filter_field(out, "format", v);
  if (!f.since.empty()) search::add_filter_field(out, "since", f.since);
  if (!f.until.empty()) search::add_filter_field(out, "until", f.until);
  if (f.min_width < 0 || f.min_height < 0) throw InputError("minimum sizes must not be negative");
  out.min_width = f.min_width;
  out.min_height = f.min_height;
  return out;
}

ImageHit public_hit(search::ImageHit&& h) {
  ImageHit r;
  r.id = h.id;
  r.path = std::move(h.path);
  r.paths = std::move(h.paths);
  r.score = h.score;
  r.width = h.width;
  r.height = h.height;
  r.date = search::format_date(h.date);
  r.date_from_exif = h.metadata.taken_at.has_value();
  r.camera = search::camera_name(h.metadata);
  r.format = std::move(h.metadata.format);
  return r;
}

// Refuses another model's vectors; binds and remembers the model of an empty library.
void bind_model(pipeline::Library& lib, const Model& model) {
  lib.check_model(model.id(), /*bind_if_empty=*/true);
  const auto& o = model.options();
  lib.remember_model({model.path(), o.vocab, o.arch, o.text_model, o.adapter}, model.precision() == "int8");
}

}  // namespace

Query& Query::text(std::string t, float weight) {
  terms.push_back({std::move(t), "", -1, weight});
  return *this;
}
Query& Query::minus(std::string t, float weight) { return text(std::move(t), -weight); }
Query& Query::image(std::string file, float weight) {
  terms.push_back({"", std::move(file), -1, weight});
  return *this;
}
Query& Query::like(int64_t id, float weight) {
  terms.push_back({"", "", id, weight});
  return *this;
}

Library Library::open(const std::string& db, Mode mode) {
  return Library(std::make_shared<pipeline::Library>(
      db, mode == Create ? pipeline::Library::Open::CreateIfMissing : pipeline::Library::Open::Existing));
}

IndexReport Library::index(const Model& model, const std::vector<std::string>& folders, const IndexOptions& options) {
  const ThreadPool::Limit limit(model.options().threads);
  pipeline::IndexOptions opt;
  opt.batch_size = options.batch_size;
  opt.threads = options.threads;
  opt.retry_failed = options.retry_failed;
  opt.all_files = options.all_files;
  opt.progress = false;
  opt.on_progress = options.on_progress;
  opt.cancel = options.cancel;
  if (!options.shard.empty()) opt.shard = pipeline::parse_shard(options.shard);
  opt.writer_name = "clipdex library";
  opt.wait_for_writer = options.wait ? pipeline::WriterLock::Wait::Yes : pipeline::WriterLock::Wait::No;
  const pipeline::Library::WriterScope writer(*impl_, opt.writer_name, opt.wait_for_writer);
  bind_model(*impl_, model);
  const auto r = pipeline::index_folders(*impl_, *model.internals(), folders, opt);
  return {r.scanned, r.unchanged, r.embedded, r.duplicates, r.failed, r.removed};
}

MergeReport Library::merge(const std::vector<std::string>& dbs) {
  const auto r = pipeline::merge_libraries(*impl_, dbs);
  return {r.files_added, r.files_updated, r.files_unchanged, r.contents_added, r.texts_added};
}

void Library::add_texts(const Model& model, const std::vector<std::string>& texts) {
  bind_model(*impl_, model);
  const auto v = model.embed_texts(texts, /*normalize=*/true);
  const size_t d = static_cast<size_t>(model.dim());
  for (size_t i = 0; i < texts.size(); ++i) impl_->catalog().add_text(texts[i], std::span(v).subspan(i * d, d));
}

std::vector<ImageHit> Library::search(const Model& model, const std::string& text, size_t k) {
  Query q;
  q.text(text).k = k;
  return search(model, q);
}

std::vector<ImageHit> Library::search(const Model& model, const Query& query) {
  const ThreadPool::Limit limit(model.options().threads);
  search::Searcher s(impl_, model.internals(), /*cache_entries=*/0);
  std::vector<search::WeightedVector> terms;
  std::vector<int64_t> exclude;
  for (const auto& t : query.terms) {
    const int given = int(!t.text.empty()) + int(!t.image_file.empty()) + int(t.like_id >= 0);
    if (given != 1) throw InputError("each query term gives exactly one of text, image_file, like_id");
    if (!t.text.empty()) {
      terms.push_back({s.text_embedding(t.text), t.weight});
    } else if (!t.image_file.empty()) {
      const std::string bytes = read_file(t.image_file);
      terms.push_back({s.image_embedding({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}), t.weight});
    } else {
      terms.push_back({s.stored_embedding(t.like_id), t.weight});
      if (t.weight > 0) exclude.push_back(t.like_id);
    }
  }
  search::Query q;
  q.k = query.k;
  q.offset = query.offset;
  q.min_score = query.min_score;
  q.filter = content_filter(query.filters);
  std::vector<ImageHit> out;
  for (auto& h : s.by_vector(search::combine_terms(terms), q, exclude)) out.push_back(public_hit(std::move(h)));
  return out;
}

std::vector<TextHit> Library::texts_for_image(const Model& model, const std::string& image_file, size_t k) {
  const ThreadPool::Limit limit(model.options().threads);
  search::Searcher s(impl_, model.internals(), /*cache_entries=*/0);
  const std::string bytes = read_file(image_file);
  search::Query q;
  q.k = k;
  std::vector<TextHit> out;
  for (auto& h : s.texts_for_image_bytes({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, q))
    out.push_back({h.id, std::move(h.text), h.score});
  return out;
}

int64_t Library::images() const { return impl_->catalog().content_count(); }

Model Library::model(const ModelOptions& options) const {
  const auto stored = impl_->remembered_model();
  if (stored.model.empty())
    throw InputError(impl_->db_path() + " does not name a model yet: index it with one first");
  ModelOptions o = options;
  if (o.vocab.empty()) o.vocab = stored.vocab;
  if (o.arch.empty()) o.arch = stored.arch;
  if (o.text_model.empty()) o.text_model = stored.text_model;
  if (o.adapter.empty()) o.adapter = stored.adapter;
  // fp32 and bf16 vectors are interchangeable; int8 ones only match int8 queries.
  if ((o.precision.empty() || o.precision == "auto") && impl_->setting("precision") == "int8") o.precision = "int8";
  return Model::open(stored.model, o);
}

std::vector<Prediction> classify(const Model& model, const std::string& image_file, const std::vector<std::string>& labels,
                                 const std::vector<std::string>& templates, size_t top) {
  const ThreadPool::Limit limit(model.options().threads);
  if (labels.size() < 2) throw InputError("classify needs at least two labels");
  search::PromptSet set;
  for (const auto& l : labels) set.classes.push_back({l});
  set.templates = templates.empty() ? std::vector<std::string>{"a photo of a {}."} : templates;
  const search::ZeroShotClassifier clf(*model.internals(), std::move(set), /*cache_dir=*/"");
  const auto v = model.embed_image_files({image_file}, /*normalize=*/true);
  std::vector<Prediction> out;
  for (const auto& p : clf.classify(v, top)) out.push_back({p.label, p.probability, p.score});
  return out;
}

}  // namespace clipdex
