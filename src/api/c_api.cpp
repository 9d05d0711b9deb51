// The C API (include/clipdex/clipdex_c.h): each call runs the C++ API inside one try block that
// turns exceptions into status codes and a per-thread message.
#include "clipdex/clipdex_c.h"

#include <cstring>
#include <string>
#include <vector>

#include "clipdex/clipdex.h"

struct clipdex_model {
  clipdex::Model model;
};
struct clipdex_library {
  clipdex::Library library;
};
struct clipdex_results {
  std::vector<clipdex::ImageHit> hits;
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
    *out = new clipdex_results{library->library.search(model->model, text, k)};
  });
}

size_t clipdex_results_count(const clipdex_results* r) { return r ? r->hits.size() : 0; }
int64_t clipdex_results_id(const clipdex_results* r, size_t i) { return r && i < r->hits.size() ? r->hits[i].id : -1; }
float clipdex_results_score(const clipdex_results* r, size_t i) { return r && i < r->hits.size() ? r->hits[i].score : 0.0f; }
const char* clipdex_results_path(const clipdex_results* r, size_t i) {
  return r && i < r->hits.size() ? r->hits[i].path.c_str() : nullptr;
}
void clipdex_results_free(clipdex_results* r) { delete r; }

}  // extern "C"
