// The C API (include/clipdex/clipdex_c.h): each call runs the C++ API inside one try block that
// turns exceptions into status codes and a per-thread message.
#include "clipdex/clipdex_c.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "clipdex/clipdex.h"
#include "clipdex/finetune.h"

struct clipdex_model {
  clipdex::Model model;
};
struct clipdex_library {
  clipdex::Library library;
};
// Search hits, captions or labels: one shape for all three.
struct clipdex_results {
  struct Item {
    int64_t id = -1;
    std::string text;
    float score = 0;
  };
  std::vector<Item> items;
};

namespace {

thread_local std::string g_last_error;

template <typename Fn>
clipdex_status guarded(Fn fn) {
  try {
    fn();
    return CLIPDEX_OK;
  } catch (const clipdex::InputError& e) {
    g_last_error = e.what();
    return CLIPDEX_INPUT_ERROR;
  } catch (const clipdex::IoError& e) {
    g_last_error = e.what();
    return CLIPDEX_IO_ERROR;
  } catch (const clipdex::LibraryBusy& e) {
    g_last_error = e.what();
    return CLIPDEX_BUSY;
  } catch (const clipdex::Cancelled& e) {
    g_last_error = e.what();
    return CLIPDEX_CANCELLED;
  } catch (const std::exception& e) {
    g_last_error = e.what();
    return CLIPDEX_ERROR;
  } catch (...) {
    g_last_error = "unknown error";
    return CLIPDEX_ERROR;
  }
}

void require(bool ok, const char* what) {
  if (!ok) throw clipdex::InputError(what);
}

std::vector<std::string> strings(const char* const* items, size_t n, const char* what) {
  require(items != nullptr || n == 0, what);
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    require(items[i] != nullptr, what);
    out.emplace_back(items[i]);
  }
  return out;
}

const char* or_empty(const char* s) { return s ? s : ""; }

clipdex_results* image_results(std::vector<clipdex::ImageHit>&& hits) {
  auto r = std::make_unique<clipdex_results>();
  for (auto& h : hits) r->items.push_back({h.id, std::move(h.path), h.score});
  return r.release();
}

clipdex::Query public_query(const clipdex_query& q) {
  clipdex::Query out;
  require(q.terms != nullptr || q.n_terms == 0, "clipdex_query: terms is NULL");
  for (size_t i = 0; i < q.n_terms; ++i) {
    const clipdex_term& t = q.terms[i];
    out.terms.push_back({or_empty(t.text), or_empty(t.image_file), t.like_id, t.weight == 0 ? 1.0f : t.weight});
  }
  out.k = q.k ? q.k : 10;
  out.offset = q.offset;
  out.min_score = q.min_score == 0 ? -1.0f : q.min_score;
  out.filters.folders = strings(q.folders, q.n_folders, "clipdex_query: a folder is NULL");
  out.filters.path_globs = strings(q.path_globs, q.n_path_globs, "clipdex_query: a path glob is NULL");
  out.filters.formats = strings(q.formats, q.n_formats, "clipdex_query: a format is NULL");
  out.filters.since = or_empty(q.since);
  out.filters.until = or_empty(q.until);
  out.filters.min_width = q.min_width;
  out.filters.min_height = q.min_height;
  return out;
}

}  // namespace

extern "C" {

const char* clipdex_last_error(void) { return g_last_error.c_str(); }

clipdex_status clipdex_model_open(const char* path, const char* precision, clipdex_model** out) {
  return guarded([&] {
    require(path && out, "clipdex_model_open: path and out must not be NULL");
    clipdex::ModelOptions o;
    if (precision) o.precision = precision;
    *out = new clipdex_model{clipdex::Model::open(path, o)};
  });
}

clipdex_status clipdex_model_open_with(const char* path, const clipdex_model_options* options, clipdex_model** out) {
  return guarded([&] {
    require(path && options && out, "clipdex_model_open_with: path, options and out must not be NULL");
    clipdex::ModelOptions o;
    o.vocab = or_empty(options->vocab);
    o.text_model = or_empty(options->text_model);
    o.arch = or_empty(options->arch);
    o.adapter = or_empty(options->adapter);
    if (options->precision) o.precision = options->precision;
    o.threads = options->threads;
    o.exact_decode = options->exact_decode != 0;
    *out = new clipdex_model{clipdex::Model::open(path, o)};
  });
}

void clipdex_model_free(clipdex_model* model) { delete model; }

int clipdex_model_dim(const clipdex_model* model) { return model ? model->model.dim() : 0; }

clipdex_status clipdex_embed_texts(const clipdex_model* model, const char* const* texts, size_t n, int normalize,
                                   float* out) {
  return guarded([&] {
    require(model && out, "clipdex_embed_texts: model and out must not be NULL");
    const auto v = model->model.embed_texts(strings(texts, n, "clipdex_embed_texts: a text is NULL"), normalize != 0);
    std::memcpy(out, v.data(), v.size() * sizeof(float));
  });
}

clipdex_status clipdex_embed_image_files(const clipdex_model* model, const char* const* paths, size_t n, int normalize,
                                         float* out) {
  return guarded([&] {
    require(model && out, "clipdex_embed_image_files: model and out must not be NULL");
    const auto v =
        model->model.embed_image_files(strings(paths, n, "clipdex_embed_image_files: a path is NULL"), normalize != 0);
    std::memcpy(out, v.data(), v.size() * sizeof(float));
  });
}

clipdex_status clipdex_embed_encoded_images(const clipdex_model* model, const uint8_t* const* data, const size_t* sizes,
                                            size_t n, int normalize, float* out) {
  return guarded([&] {
    require(model && out && ((data && sizes) || n == 0), "clipdex_embed_encoded_images: arguments must not be NULL");
    std::vector<std::span<const uint8_t>> files;
    for (size_t i = 0; i < n; ++i) {
      require(data[i] != nullptr || sizes[i] == 0, "clipdex_embed_encoded_images: an image is NULL");
      files.emplace_back(data[i], sizes[i]);
    }
    const auto v = model->model.embed_encoded_images(files, normalize != 0);
    std::memcpy(out, v.data(), v.size() * sizeof(float));
  });
}

clipdex_status clipdex_embed_rgb_images(const clipdex_model* model, const clipdex_rgb_image* images, size_t n,
                                        int normalize, float* out) {
  return guarded([&] {
    require(model && out && (images || n == 0), "clipdex_embed_rgb_images: arguments must not be NULL");
    std::vector<clipdex::RgbImage> rgb;
    for (size_t i = 0; i < n; ++i) rgb.push_back({images[i].pixels, images[i].width, images[i].height, images[i].stride});
    const auto v = model->model.embed_rgb_images(rgb, normalize != 0);
    std::memcpy(out, v.data(), v.size() * sizeof(float));
  });
}

clipdex_status clipdex_library_open(const char* db, int create, clipdex_library** out) {
  return guarded([&] {
    require(db && out, "clipdex_library_open: db and out must not be NULL");
    *out = new clipdex_library{clipdex::Library::open(db, create ? clipdex::Library::Create : clipdex::Library::Existing)};
  });
}

void clipdex_library_free(clipdex_library* library) { delete library; }

clipdex_status clipdex_library_index(clipdex_library* library, const clipdex_model* model, const char* const* folders,
                                     size_t n, int64_t* embedded) {
  return guarded([&] {
    require(library && model, "clipdex_library_index: library and model must not be NULL");
    const auto r = library->library.index(model->model, strings(folders, n, "clipdex_library_index: a folder is NULL"));
    if (embedded) *embedded = r.embedded;
  });
}

clipdex_status clipdex_library_search(clipdex_library* library, const clipdex_model* model, const char* text, size_t k,
                                      clipdex_results** out) {
  return guarded([&] {
    require(library && model && text && out, "clipdex_library_search: arguments must not be NULL");
    *out = image_results(library->library.search(model->model, text, k));
  });
}

clipdex_status clipdex_library_index_with(clipdex_library* library, const clipdex_model* model, const char* const* folders,
                                          size_t n, const clipdex_index_options* options, clipdex_index_report* report) {
  return guarded([&] {
    require(library && model && options, "clipdex_library_index_with: library, model and options must not be NULL");
    clipdex::IndexOptions o;
    if (options->batch_size) o.batch_size = options->batch_size;
    o.threads = options->threads;
    o.retry_failed = options->retry_failed != 0;
    o.all_files = options->all_files != 0;
    o.wait = options->no_wait == 0;
    o.shard = or_empty(options->shard);
    std::atomic<bool> cancel{false};
    o.cancel = &cancel;
    if (options->on_progress)
      o.on_progress = [&](int64_t done, int64_t total) {
        if (options->on_progress(done, total, options->user) != 0) cancel = true;
      };
    const auto r = library->library.index(model->model, strings(folders, n, "clipdex_library_index_with: a folder is NULL"), o);
    if (report) *report = {r.scanned, r.unchanged, r.embedded, r.duplicates, r.failed, r.removed};
  });
}

clipdex_status clipdex_library_merge(clipdex_library* library, const char* const* dbs, size_t n, int64_t* files_added) {
  return guarded([&] {
    require(library != nullptr, "clipdex_library_merge: library must not be NULL");
    const auto r = library->library.merge(strings(dbs, n, "clipdex_library_merge: a database path is NULL"));
    if (files_added) *files_added = r.files_added;
  });
}

clipdex_status clipdex_finetune(const char* model_path, const char* pairs_file, const char* out_dir,
                                const clipdex_finetune_options* options, clipdex_finetune_report* report) {
  return guarded([&] {
    require(model_path && pairs_file && out_dir, "clipdex_finetune: paths must not be NULL");
    clipdex::FinetuneOptions o;
    std::atomic<bool> cancel{false};
    if (options) {
      const auto& c = *options;
      if (c.init) o.init = c.init;
      if (c.rank > 0) o.rank = c.rank;
      if (c.alpha > 0) o.alpha = c.alpha;
      o.rslora = c.rslora != 0;
      if (c.targets) o.targets = clipdex::parse_targets(c.targets);
      if (c.steps > 0) o.steps = c.steps;
      if (c.epochs > 0) o.epochs = c.epochs;
      if (c.batch_size > 0) o.batch_size = c.batch_size;
      if (c.lr > 0) o.lr = c.lr;
      if (c.weight_decay != 0) o.weight_decay = c.weight_decay < 0 ? 0 : c.weight_decay;
      o.shuffle = c.no_shuffle == 0;
      o.seed = c.seed;
      if (c.checkpoint_every != 0) o.checkpoint_every = c.checkpoint_every < 0 ? 0 : c.checkpoint_every;
      o.threads = c.threads;
      if (c.on_step) {
        o.cancel = &cancel;
        o.on_step = [&](int64_t step, int64_t steps, int64_t, double loss, double) {
          if (c.on_step(step, steps, loss, c.user) != 0) cancel = true;
        };
      }
    }
    const auto r = clipdex::finetune(model_path, pairs_file, out_dir, o);
    if (report) *report = {r.steps, r.resumed_at, r.first_loss, r.last_loss};
  });
}

clipdex_status clipdex_library_query(clipdex_library* library, const clipdex_model* model, const clipdex_query* query,
                                     clipdex_results** out) {
  return guarded([&] {
    require(library && model && query && out, "clipdex_library_query: arguments must not be NULL");
    *out = image_results(library->library.search(model->model, public_query(*query)));
  });
}

clipdex_status clipdex_library_texts_for_image(clipdex_library* library, const clipdex_model* model, const char* image_file,
                                               size_t k, clipdex_results** out) {
  return guarded([&] {
    require(library && model && image_file && out, "clipdex_library_texts_for_image: arguments must not be NULL");
    auto r = std::make_unique<clipdex_results>();  // freed if the search throws
    for (auto& h : library->library.texts_for_image(model->model, image_file, k)) r->items.push_back({h.id, std::move(h.text), h.score});
    *out = r.release();
  });
}

clipdex_status clipdex_classify(const clipdex_model* model, const char* image_file, const char* const* labels,
                                size_t n_labels, const char* const* templates, size_t n_templates, size_t top,
                                clipdex_results** out) {
  return guarded([&] {
    require(model && image_file && out, "clipdex_classify: arguments must not be NULL");
    auto r = std::make_unique<clipdex_results>();  // freed if classify throws
    for (auto& p : clipdex::classify(model->model, image_file, strings(labels, n_labels, "clipdex_classify: a label is NULL"),
                                     strings(templates, n_templates, "clipdex_classify: a template is NULL"), top))
      r->items.push_back({-1, std::move(p.label), p.probability});
    *out = r.release();
  });
}

size_t clipdex_results_count(const clipdex_results* r) { return r ? r->items.size() : 0; }
int64_t clipdex_results_id(const clipdex_results* r, size_t i) { return r && i < r->items.size() ? r->items[i].id : -1; }
float clipdex_results_score(const clipdex_results* r, size_t i) { return r && i < r->items.size() ? r->items[i].score : 0.0f; }
const char* clipdex_results_text(const clipdex_results* r, size_t i) {
  return r && i < r->items.size() ? r->items[i].text.c_str() : nullptr;
}
const char* clipdex_results_path(const clipdex_results* r, size_t i) { return clipdex_results_text(r, i); }
void clipdex_results_free(clipdex_results* r) { delete r; }

}  // extern "C"
