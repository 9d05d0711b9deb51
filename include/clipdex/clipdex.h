#pragma once
// clipdex: CLIP image-text retrieval as a C++20 library.
//
//   #include <clipdex/clipdex.h>
//
//   clipdex::Model model = clipdex::Model::open("models/clip-vit-base-patch32");
//   std::vector<float> v = model.embed_texts({"a red car", "a cat"}, /*normalize=*/true);  // [2 * model.dim()]
//
//   clipdex::Library photos = clipdex::Library::open("photos.db", clipdex::Library::Create);
//   clipdex::IndexOptions io;
//   io.on_progress = [](int64_t done, int64_t total) { /* ... */ };
//   photos.index(model, {"/home/me/Pictures"}, io);
//
//   clipdex::Query q;
//   q.text("a red car on a beach").minus("night").k = 20;
//   q.filters.since = "2023-06";
//   for (const clipdex::ImageHit& hit : photos.search(model, q)) std::cout << hit.score << " " << hit.path << "\n";
//
// Threads: a Model is immutable once opened and may be used from any number of threads at once
// (copies share it). A Library may be searched from many threads; one index() / remove() runs at
// a time per Library (others wait), and one process writes a library file at a time (another
// process's index() waits, or throws LibraryBusy with IndexOptions::wait = false).
//
// Errors are exceptions derived from clipdex::Error (include/clipdex/error.h): InputError for bad
// input (a corrupt image, a malformed date, a missing file), IoError for the system. No input
// aborts the process.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "clipdex/error.h"

namespace clipdex {

namespace pipeline {
class Embedder;
class Library;
}  // namespace pipeline

struct ModelOptions {
  std::string vocab;        // tokenizer file or folder; "" = found beside the model
  std::string text_model;   // a separate text tower (M-CLIP / XLM-R) for this model's images
  std::string arch;         // a built-in architecture overriding the model's config ("ViT-B-32")
  std::string adapter;      // a PEFT LoRA adapter folder merged into the weights (docs/LORA.md)
  std::string precision = "auto";  // auto, fp32, bf16, int8; fp16 on a GPU (docs/PRECISION.md)
  std::string device;       // "cpu", "cuda" or "cuda:N" (docs/GPU.md); "" = $CLIPDEX_DEVICE, else cpu
  bool exact_decode = false;  // decode every JPEG pixel (PIL parity) instead of a reduced-scale decode
  size_t threads = 0;  // compute threads this model's calls use; 0 = every core
};

// An RGB picture already decoded by the caller: rows of width * 3 bytes, `stride` bytes apart.
struct RgbImage {
  const uint8_t* pixels = nullptr;
  int width = 0, height = 0;
  size_t stride = 0;  // 0: width * 3
};

class Model {
 public:
  // A CLIP checkpoint: a folder (open_clip or Hugging Face layout), a .safetensors, PyTorch .bin
  // or OpenAI TorchScript .pt file.
  static Model open(const std::string& path, const ModelOptions& options = {});

  int dim() const;             // embedding width
  int image_size() const;      // the square input the image tower sees
  std::string id() const;      // identifies the weights (libraries refuse vectors of another model)
  std::string precision() const;  // what the matrix products run in: fp32, bf16 or int8
  std::string kernels() const;    // which kernels run them on this CPU or GPU
  std::string device() const;     // where the towers run: "cpu" or "cuda:0 (NVIDIA H200)"
  std::string adapter() const;    // the LoRA adapter merged in (absolute path), "" for none
  std::string adapter_summary() const;  // its rank, alpha and modules, "" for none
  bool has_image_tower() const;   // false for a text-only tower (M-CLIP / XLM-R)

  // InputError when a text cannot be embedded (invalid UTF-8), before any work is done.
  void check_text(const std::string& text) const;

  // Row-major [n, dim()] embeddings, in input order; `normalize` scales rows to unit length
  // (the raw projected features otherwise, as `clipdex embed` prints them).
  std::vector<float> embed_texts(const std::vector<std::string>& texts, bool normalize = false) const;
  std::vector<float> embed_image_files(const std::vector<std::string>& paths, bool normalize = false) const;
  // The same, but a file that cannot be read or decoded does not stop the others: its message
  // goes into errors[i] (resized to paths.size(); "" for the files that worked) and its row is 0.
  std::vector<float> embed_image_files(const std::vector<std::string>& paths, bool normalize,
                                       std::vector<std::string>& errors) const;
  std::vector<float> embed_encoded_images(const std::vector<std::span<const uint8_t>>& files, bool normalize = false) const;
  std::vector<float> embed_rgb_images(const std::vector<RgbImage>& images, bool normalize = false) const;

  const std::string& path() const { return path_; }
  const ModelOptions& options() const { return options_; }
  const std::shared_ptr<const pipeline::Embedder>& internals() const { return impl_; }

 private:
  Model(std::shared_ptr<const pipeline::Embedder> impl, std::string path, ModelOptions options)
      : impl_(std::move(impl)), path_(std::move(path)), options_(std::move(options)) {}
  std::shared_ptr<const pipeline::Embedder> impl_;
  std::string path_;
  ModelOptions options_;
};

struct IndexOptions {
  size_t batch_size = 32;
  size_t threads = 0;  // decode threads; 0 = every core
  bool retry_failed = false;
  bool all_files = false;  // every file, not only image extensions
  bool wait = true;        // false: throw LibraryBusy when another process writes the library
  // Called after each committed batch (from the calling thread).
  std::function<void(int64_t done, int64_t total)> on_progress;
  // Set to stop after the batch under way; index() then throws Cancelled. Committed batches stay.
  const std::atomic<bool>* cancel = nullptr;
  // "I/N": only the I-th of N deterministic parts of the files (docs/SCALE.md); "auto" takes I
  // and N from a Slurm job array or a Kubernetes Indexed Job; "" = every file.
  std::string shard = {};
  bool progress_bar = false;           // draw a progress bar on stderr (a terminal's: rate and time left)
  uint64_t max_pixels = 0;             // skip (as failed) larger images; 0 = the default (100 MP)
  bool exif_orientation = true;        // turn photos upright by their EXIF tag, as PIL's exif_transpose
  std::string index_type = {};         // flat, hnsw or ivfpq: converts the library's vector index; "" = keep
  std::string writer_name = "clipdex library";  // shown to another process that finds the library busy
  // Which files a folder holds (docs/CLI.md, "What gets indexed"); unset = the rules stored with
  // the library (set = used and stored).
  struct ScanRules {
    std::vector<std::string> excludes;  // globs on a name or a path below the folder
    bool include_hidden = false, follow_symlinks = false;
  };
  std::optional<ScanRules> rules = {};
  // A library indexed with another model is re-embedded under this one (every image read again;
  // resumable). Without it that happens only when the models differ in their LoRA adapter alone;
  // another model's library is refused.
  bool reembed = false;
};

struct MergeReport {
  int64_t files_added = 0, files_updated = 0, files_unchanged = 0, images_added = 0, texts_added = 0;
};

struct IndexReport {
  int64_t scanned = 0, unchanged = 0, embedded = 0, duplicates = 0, failed = 0, removed = 0;
  int64_t metadata_filled = 0;  // images of an older library whose dates and formats were read (kept embeddings)
  int64_t reembedded = 0;       // images embedded again under a new model (IndexOptions::reembed, a changed adapter)
};

// Which images a search may return (docs/API.md, "Filters"); empty fields pass everything.
struct Filters {
  std::vector<std::string> folders;     // under any of these folders
  std::vector<std::string> path_globs;  // whole-path globs, any of them
  std::string since, until;             // "2023", "2023-06", "2023-06-15", "2023-06-15T10:30"
  int min_width = 0, min_height = 0;
  std::vector<std::string> formats;     // jpeg, png, webp, gif, bmp, tiff, heif, avif

  // Sets a filter by its name in the HTTP API and CLI (folder, path, since, until, min_width,
  // min_height, format: the repeatable ones accumulate). InputError on an unknown name or a
  // value that is not a number where one is needed; dates are checked when searching.
  void add(const std::string& name, const std::string& value);
  static bool is_field(const std::string& name);
  bool empty() const;
};

// The deepest result a query may reach (offset + k); paging further is refused.
constexpr size_t kMaxResultDepth = 10000;

// A weighted sum of unit text and image embeddings, re-normalised (docs/CLI.md).
struct Query {
  struct Term {
    std::string text;        // one of text,
    std::string image_file;  // image_file,
    int64_t like_id = -1;    // an indexed image's id,
    float weight = 1.0f;
    std::string image_data = {};  // or an encoded image's bytes (an upload)
  };
  std::vector<Term> terms;
  size_t k = 10, offset = 0;
  float min_score = -1.0f;
  Filters filters;

  Query& text(std::string t, float weight = 1.0f);
  Query& minus(std::string t, float weight = 1.0f);  // weight -w
  Query& image(std::string file, float weight = 1.0f);
  Query& image_bytes(std::string encoded, float weight = 1.0f);
  Query& like(int64_t id, float weight = 1.0f);  // a positive weight leaves the image out of the results
};

// How the CLI spells a weighted term: "VALUE[:WEIGHT]" -> (VALUE, WEIGHT). The part after the
// last ':' is a weight only when it is a whole finite number ("night:0.5", "ref.jpg:-1");
// otherwise all of it is the value, weight 1 ("time: 10 am").
std::pair<std::string, float> split_weight(const std::string& spec);

struct ImageHit {
  int64_t id = -1;
  std::string path;                // first path holding this content
  std::vector<std::string> paths;  // every path holding it
  float score = 0;                 // cosine similarity
  int width = 0, height = 0;
  std::string date;         // "YYYY-MM-DDTHH:MM:SS": EXIF date taken, else the file time
  bool date_from_exif = false;
  std::string format, camera;
};

struct TextHit {
  int64_t id = -1;
  std::string text;
  float score = 0;
};

struct Prediction {
  std::string label;
  float probability = 0, score = 0;
};

// An indexed image: one content (identical files share it) and the files holding it.
struct ImageRecord {
  int64_t id = -1;
  std::string hash;                // of the file's bytes (xxh3-128, hex)
  std::vector<std::string> paths;  // every path holding it, ordered
  int width = 0, height = 0;
};

// Near-duplicate images: a connected group whose embeddings have cosine >= the threshold.
struct DuplicateGroup {
  std::vector<ImageRecord> images;  // at least two, by id
  float min_score = 1.0f;           // the weakest link: what it would take to split the group
};

struct LibraryStats {
  int64_t images = 0, files = 0, failed = 0, texts = 0;
  std::string index_type;  // flat, hnsw or ivfpq
  int64_t index_size = 0;  // vectors in the vector index
};

// `index --watch`: what a Library::watch reports, from its own thread.
struct WatchCallbacks {
  std::function<void(const IndexReport&)> on_pass;       // after each indexing pass
  std::function<void(const std::string&)> on_problem;    // a pass that could not run (retried later)
  std::function<void(size_t folders)> on_watching;        // once the folders are watched
};

class Library {
 public:
  enum Mode { Existing, Create };
  // The catalog at `db` (SQLite, beside it DB.faiss and DB.lock).
  static Library open(const std::string& db, Mode mode = Existing);

  // Brings the library up to date with folders (incremental; see `clipdex index`). The first
  // model to index a library is bound to it (and remembered, so `clipdex search --db` needs no
  // --model); another model's vectors are refused.
  IndexReport index(const Model& model, const std::vector<std::string>& folders, const IndexOptions& options = {});
  // Indexes the folders, then again after each burst of changes (quiet for `quiet_seconds`)
  // until `stop` is set; a pass under way finishes first. Each pass takes the writer lock for
  // its own length, so other writers get turns between.
  void watch(const Model& model, const std::vector<std::string>& folders, const IndexOptions& options,
             double quiet_seconds, const std::atomic<bool>& stop, const WatchCallbacks& callbacks = {});
  // Pours libraries indexed apart (the parts of IndexOptions::shard) into this one; the same
  // model's vectors only. Idempotent: merging again changes nothing.
  MergeReport merge(const std::vector<std::string>& dbs);
  // Stores captions for image -> text search; ones already stored are skipped. Returns how many
  // were added. The whole batch is refused (InputError) when one cannot be embedded.
  size_t add_texts(const Model& model, const std::vector<std::string>& texts);
  bool has_text(const std::string& text) const;
  // Forgets an indexed image (every file holding it); returns their paths. `writer_name` is
  // shown to another process that finds the library busy (LibraryBusy: this call never waits).
  std::vector<std::string> remove(int64_t id, const std::string& writer_name = "clipdex library");

  std::vector<ImageHit> search(const Model& model, const std::string& text, size_t k = 10);
  std::vector<ImageHit> search(const Model& model, const Query& query);
  std::vector<TextHit> texts_for_image(const Model& model, const std::string& image_file, size_t k = 10);
  std::vector<DuplicateGroup> duplicates(float threshold = 0.95f, size_t max_groups = 1000);

  int64_t images() const;  // distinct images held
  LibraryStats stats() const;
  // Where searches of a flat index run: "cpu" (FAISS) or "cuda[:N]" (a copy of the vectors on
  // that GPU; the same results; docs/GPU.md); "" = $CLIPDEX_DEVICE, else cpu. HNSW / IVF-PQ
  // indexes and PostgreSQL libraries search where they are. InputError when this build or
  // machine has no such GPU.
  void search_on(const std::string& device);
  std::optional<ImageRecord> image(int64_t id) const;
  // The id of the image an indexed file holds (InputError when the file is not indexed).
  int64_t id_of(const std::string& path) const;
  // The stored unit embedding of an indexed image (InputError when there is none).
  std::vector<float> embedding(int64_t id) const;
  // The bytes of an indexed image, read from one of its files that is still inside the indexed
  // folders and still holds the indexed content. NotFound (no such image, or no file left),
  // Changed (every file changed since indexing) and TooLarge (over max_bytes) are InputErrors
  // of their own so a server can answer 404, 409 and 413.
  class NotFound : public InputError {
   public:
    using InputError::InputError;
  };
  class Changed : public InputError {
   public:
    using InputError::InputError;
  };
  class TooLarge : public InputError {
   public:
    using InputError::InputError;
  };
  std::string read_image(int64_t id, uint64_t max_bytes) const;
  // Where the library is, for messages: its file, or its PostgreSQL URL without the password.
  const std::string& path() const;
  // A file or folder kept beside the library on this machine (the server's thumbnail cache,
  // uploaded images): PATH + suffix for a library file; for a PostgreSQL library, under
  // user_cache_dir()/postgresql/<hash of its URL>.
  std::string side_path(const std::string& suffix) const;

  // Opens the model this library's vectors were made with (remembered by its first index();
  // an int8 library's in int8). `options` override what was remembered where set, and a
  // non-empty `path` another copy of the weights; InputError when the library names no model
  // yet, or when the model is not the one its vectors came from.
  Model model(const ModelOptions& options = {}, const std::string& path = "") const;
  // The model path remembered by the first index(), "" for none yet.
  std::string model_path() const;
  // `overrides` with what the library remembers filled in where unset (vocab, arch, text model,
  // adapter; int8 precision): how model() opens the model, without its check.
  ModelOptions model_options(const ModelOptions& overrides = {}) const;
  const std::shared_ptr<pipeline::Library>& internals() const { return impl_; }

 private:
  explicit Library(std::shared_ptr<pipeline::Library> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<pipeline::Library> impl_;
};

// Searches a library with one model, remembering the embeddings of recent text queries (a
// server's repeated queries skip the text tower). Thread-safe: share one among request threads.
class Searcher {
 public:
  struct Options {
    size_t cache_entries = 1024;  // text queries remembered (0: none)
    uint64_t max_pixels = 0;      // largest query image decoded; 0 = the default (100 MP)
  };
  Searcher(Library library, Model model, Options options);
  Searcher(Library library, Model model) : Searcher(std::move(library), std::move(model), Options{}) {}

  // Images nearest the query (k, offset, min_score and filters applied).
  std::vector<ImageHit> images(const Query& query);
  // Stored texts nearest the query (image -> text); filters are refused (InputError).
  std::vector<TextHit> texts(const Query& query);

  struct CacheStats {
    size_t entries = 0;
    int64_t hits = 0, misses = 0;
  };
  CacheStats cache() const;
  Library& library() { return library_; }
  const Model& model() const { return model_; }

 private:
  struct Impl;
  Library library_;
  Model model_;
  std::shared_ptr<Impl> impl_;
};

// Classes for zero-shot classification: each a name and its synonyms, with prompt templates
// ("a photo of a {}."); a class's embedding is the mean over every template x synonym.
struct PromptSet {
  std::vector<std::vector<std::string>> classes;  // the first of each names the class
  std::vector<std::string> templates;

  // A set by name from a zeroshot_prompts.json-style file ({name: {"classes", "templates"}});
  // an empty file means $CLIPDEX_PROMPTS_FILE.
  static PromptSet named(const std::string& name, const std::string& file = "");
  // Comma-separated labels, with templates from a file (that format, a JSON list, or one per
  // line), or the CLIP paper's single "a photo of a {}." when none is given.
  static PromptSet labels(const std::string& comma_separated, const std::string& templates_file = "");
};

// A prompt set's class embeddings for one model, ready to classify image embeddings. With a
// cache folder they are stored there per model and prompt set, and read back next time.
class Classifier {
 public:
  Classifier(const Model& model, PromptSet prompts, const std::string& cache_dir = "");
  // Best first, at most `top`; `image` is a unit image embedding of the same model.
  std::vector<Prediction> classify(std::span<const float> image, size_t top = 5) const;
  std::vector<Prediction> classify_file(const std::string& image_file, size_t top = 5) const;
  size_t classes() const;

 private:
  struct Impl;
  Model model_;
  std::shared_ptr<const Impl> impl_;
};

// Zero-shot classification of an image file over labels, with prompt templates ("a photo of a
// {}."; the CLIP paper's single default when none are given). Best first, at most `top`.
std::vector<Prediction> classify(const Model& model, const std::string& image_file, const std::vector<std::string>& labels,
                                 const std::vector<std::string>& templates = {}, size_t top = 5);

}  // namespace clipdex
