// clipdex.Library: index folders, search them; clipdex.classify. A Library keeps the model it
// was opened with (or the one its vectors were made with, opened on first use).
#include <atomic>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/function.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.h"
#include "clipdex/clipdex.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace clipdex::python {
namespace {

using Paths = std::vector<std::filesystem::path>;

std::vector<std::string> strings(const Paths& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) out.push_back(p.string());
  return out;
}

class PyLibrary {
 public:
  PyLibrary(const std::filesystem::path& db, std::optional<clipdex::Model> model, bool create)
      : lib_(clipdex::Library::open(db.string(), create ? clipdex::Library::Create : clipdex::Library::Existing)),
        model_(std::move(model)) {}

  // The model a call uses: the one given, else the library's (opened once).
  clipdex::Model model_for(const std::optional<clipdex::Model>& given) {
    if (given) return *given;
    std::lock_guard lock(mu_);
    if (!model_) model_ = lib_.model();
    return *model_;
  }

  clipdex::Library& lib() { return lib_; }

 private:
  clipdex::Library lib_;
  std::mutex mu_;
  std::optional<clipdex::Model> model_;
};

// A report's counts as a dict, e.g. {"embedded": 6, ...}.
nb::dict counts(std::initializer_list<std::pair<const char*, int64_t>> fields) {
  nb::dict d;
  for (const auto& [name, value] : fields) d[name] = value;
  return d;
}

// Keyword arguments of search() and search_hits() as a clipdex::Query.
Query make_query(const std::string& text, size_t k, const std::vector<std::string>& minus, const Paths& images,
                 const std::vector<int64_t>& like, size_t offset, float min_score, const Paths& folders,
                 const std::vector<std::string>& paths, std::optional<std::string> since, std::optional<std::string> until,
                 int min_width, int min_height, const std::vector<std::string>& formats) {
  Query q;
  if (!text.empty()) q.text(text);
  for (const auto& t : minus) q.minus(t);
  for (const auto& i : images) q.image(i.string());
  for (const auto id : like) q.like(id);
  q.k = k;
  q.offset = offset;
  q.min_score = min_score;
  q.filters.folders = strings(folders);
  q.filters.path_globs = paths;
  q.filters.since = since.value_or("");
  q.filters.until = until.value_or("");
  q.filters.min_width = min_width;
  q.filters.min_height = min_height;
  q.filters.formats = formats;
  return q;
}

std::vector<ImageHit> run_search(PyLibrary& self, const std::string& text, size_t k, const std::vector<std::string>& minus,
                                 const Paths& images, const std::vector<int64_t>& like, size_t offset, float min_score,
                                 const Paths& folders, const std::vector<std::string>& paths, std::optional<std::string> since,
                                 std::optional<std::string> until, int min_width, int min_height,
                                 const std::vector<std::string>& formats, const std::optional<clipdex::Model>& model) {
  const Query q = make_query(text, k, minus, images, like, offset, min_score, folders, paths, std::move(since),
                             std::move(until), min_width, min_height, formats);
  nb::gil_scoped_release release;
  return self.lib().search(self.model_for(model), q);
}

#define CLIPDEX_SEARCH_ARGS                                                                                          \
  "text"_a = "", "k"_a = 10, nb::kw_only(), "minus"_a = std::vector<std::string>{}, "images"_a = Paths{},           \
      "like"_a = std::vector<int64_t>{}, "offset"_a = 0, "min_score"_a = -1.0f, "folders"_a = Paths{},               \
      "paths"_a = std::vector<std::string>{}, "since"_a = nb::none(), "until"_a = nb::none(), "min_width"_a = 0,     \
      "min_height"_a = 0, "formats"_a = std::vector<std::string>{}, "model"_a = nb::none()

}  // namespace

void bind_library(nb::module_& m) {
  nb::class_<ImageHit>(m, "ImageHit", "One search result.")
      .def_ro("id", &ImageHit::id)
      .def_ro("path", &ImageHit::path, "The first path holding this image.")
      .def_ro("paths", &ImageHit::paths, "Every path holding it.")
      .def_ro("score", &ImageHit::score, "Cosine similarity.")
      .def_ro("width", &ImageHit::width)
      .def_ro("height", &ImageHit::height)
      .def_ro("date", &ImageHit::date, "YYYY-MM-DDTHH:MM:SS: the EXIF date taken, else the file time.")
      .def_ro("date_from_exif", &ImageHit::date_from_exif)
      .def_ro("format", &ImageHit::format)
      .def_ro("camera", &ImageHit::camera)
      .def("__repr__", [](const ImageHit& h) { return "ImageHit('" + h.path + "', score=" + std::to_string(h.score) + ")"; });

  nb::class_<PyLibrary>(m, "Library",
                        "A library of indexed images: SQLite catalog at db, vectors beside it. Search it from any "
                        "number of threads; one index() runs at a time.")
      .def(nb::init<const std::filesystem::path&, std::optional<clipdex::Model>, bool>(), "db"_a, "model"_a = nb::none(),
           "create"_a = true,
           "Opens the library at db (created when create=True and missing). model: used by calls that are not "
           "given one; by default the model the library was indexed with.")
      .def(
          "index",
          [](PyLibrary& self, const Paths& folders, std::optional<clipdex::Model> model, size_t batch_size, size_t threads,
             bool retry_failed, bool all_files, bool wait, std::optional<nb::callable> progress,
             std::optional<std::string> shard, bool reembed) {
            IndexOptions o;
            o.batch_size = batch_size;
            o.threads = threads;
            o.retry_failed = retry_failed;
            o.all_files = all_files;
            o.wait = wait;
            o.shard = shard.value_or("");
            o.reembed = reembed;
            std::atomic<bool> cancel{false};
            o.cancel = &cancel;
            // A Python error in the callback (KeyboardInterrupt included) stops the job after the
            // committed batch and is raised in place of Cancelled.
            std::exception_ptr callback_error;
            if (progress)
              o.on_progress = [&](int64_t done, int64_t total) {
                nb::gil_scoped_acquire acquire;
                try {
                  if (PyErr_CheckSignals() != 0) throw nb::python_error();
                  const nb::object keep_going = (*progress)(done, total);
                  if (!keep_going.is_none() && !nb::cast<bool>(keep_going)) cancel = true;
                } catch (...) {
                  callback_error = std::current_exception();
                  cancel = true;
                }
              };
            const std::vector<std::string> roots = strings(folders);
            IndexReport r;
            try {
              nb::gil_scoped_release release;
              r = self.lib().index(self.model_for(model), roots, o);
            } catch (const clipdex::Cancelled&) {
              if (callback_error) std::rethrow_exception(callback_error);
              throw;
            }
            return counts({{"scanned", r.scanned}, {"unchanged", r.unchanged}, {"embedded", r.embedded},
                           {"duplicates", r.duplicates}, {"failed", r.failed}, {"removed", r.removed},
                           {"reembedded", r.reembedded}});
          },
          "folders"_a, "model"_a = nb::none(), nb::kw_only(), "batch_size"_a = 32, "threads"_a = 0, "retry_failed"_a = false,
          "all_files"_a = false, "wait"_a = true, "progress"_a = nb::none(), "shard"_a = nb::none(), "reembed"_a = false,
          "Brings the library up to date with folders (incremental). progress(done, total) is called after each "
          "committed batch; returning False stops after it (raises clipdex.Cancelled; committed work stays). "
          "shard: \"I/N\" (or \"auto\" under Slurm / Kubernetes) indexes one part of the files. "
          "reembed: a library indexed with another model is embedded again with this one (automatic when only the "
          "LoRA adapter differs). Returns counts: scanned, unchanged, embedded, duplicates, failed, removed, reembedded.")
      .def(
          "merge",
          [](PyLibrary& self, const Paths& dbs) {
            const std::vector<std::string> paths = strings(dbs);
            MergeReport r;
            {
              nb::gil_scoped_release release;
              r = self.lib().merge(paths);
            }
            return counts({{"files_added", r.files_added}, {"files_updated", r.files_updated},
                           {"files_unchanged", r.files_unchanged}, {"images_added", r.images_added},
                           {"texts_added", r.texts_added}});
          },
          "dbs"_a, "Pours libraries indexed apart (index(shard=...)) into this one; idempotent.")
      .def(
          "add_texts",
          [](PyLibrary& self, const std::vector<std::string>& texts, std::optional<clipdex::Model> model) {
            nb::gil_scoped_release release;
            self.lib().add_texts(self.model_for(model), texts);
          },
          "texts"_a, "model"_a = nb::none(), "Stores captions for texts_for_image().")
      .def(
          "search",
          [](PyLibrary& self, const std::string& text, size_t k, const std::vector<std::string>& minus, const Paths& images,
             const std::vector<int64_t>& like, size_t offset, float min_score, const Paths& folders,
             const std::vector<std::string>& paths, std::optional<std::string> since, std::optional<std::string> until,
             int min_width, int min_height, const std::vector<std::string>& formats, std::optional<clipdex::Model> model) {
            std::vector<std::pair<std::string, float>> out;
            for (auto& h : run_search(self, text, k, minus, images, like, offset, min_score, folders, paths, std::move(since),
                                      std::move(until), min_width, min_height, formats, model))
              out.emplace_back(std::move(h.path), h.score);
            return out;
          },
          CLIPDEX_SEARCH_ARGS,
          "[(path, score)], best first. text, minus (subtracted texts), images (query image files) and like "
          "(indexed image ids) combine into one query; folders, paths (globs), since/until (\"2023-06\"), "
          "min_width/min_height and formats filter what may be returned.")
      .def("search_hits", &run_search, CLIPDEX_SEARCH_ARGS, "As search(), with every detail of each hit (ImageHit).")
      .def(
          "texts_for_image",
          [](PyLibrary& self, const std::filesystem::path& image, size_t k, std::optional<clipdex::Model> model) {
            std::vector<TextHit> hits;
            {
              nb::gil_scoped_release release;
              hits = self.lib().texts_for_image(self.model_for(model), image.string(), k);
            }
            std::vector<std::pair<std::string, float>> out;
            for (auto& h : hits) out.emplace_back(std::move(h.text), h.score);
            return out;
          },
          "image"_a, "k"_a = 10, "model"_a = nb::none(), "[(text, score)]: the stored captions nearest to an image file.")
      .def_prop_ro("images", [](PyLibrary& self) { return self.lib().images(); }, "Distinct images held.")
      .def("__len__", [](PyLibrary& self) { return static_cast<size_t>(self.lib().images()); })
      .def_prop_ro("model", [](PyLibrary& self) {
        nb::gil_scoped_release release;
        return self.model_for(std::nullopt);
      }, "The model calls use when given none.");

  m.def(
      "classify",
      [](const clipdex::Model& model, const std::filesystem::path& image, const std::vector<std::string>& labels,
         const std::vector<std::string>& templates, size_t top) {
        std::vector<Prediction> preds;
        {
          nb::gil_scoped_release release;
          preds = clipdex::classify(model, image.string(), labels, templates, top);
        }
        std::vector<std::pair<std::string, float>> out;
        for (auto& p : preds) out.emplace_back(std::move(p.label), p.probability);
        return out;
      },
      "model"_a, "image"_a, "labels"_a, "templates"_a = std::vector<std::string>{}, "top"_a = 5,
      "Zero-shot classification: [(label, probability)], best first. templates: prompts with {} for the label "
      "(default: \"a photo of a {}.\").");
}

}  // namespace clipdex::python
