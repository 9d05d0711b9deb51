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
#include <span>
#include <string>
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
  std::string precision = "auto";  // auto, fp32, bf16 or int8 (docs/PRECISION.md)
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
  std::string kernels() const;    // which kernels run them on this CPU
  std::string adapter() const;    // the LoRA adapter merged in (absolute path), "" for none

  // Row-major [n, dim()] embeddings, in input order; `normalize` scales rows to unit length
  // (the raw projected features otherwise, as `clipdex embed` prints them).
  std::vector<float> embed_texts(const std::vector<std::string>& texts, bool normalize = false) const;
  std::vector<float> embed_image_files(const std::vector<std::string>& paths, bool normalize = false) const;
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
};

struct MergeReport {
  int64_t files_added = 0, files_updated = 0, files_unchanged = 0, images_added = 0, texts_added = 0;
};

struct IndexReport {
  int64_t scanned = 0, unchanged = 0, embedded = 0, duplicates = 0, failed = 0, removed = 0;
};

// Which images a search may return (docs/API.md, "Filters"); empty fields pass everything.
struct Filters {
  std::vector<std::string> folders;     // under any of these folders
  std::vector<std::string> path_globs;  // whole-path globs, any of them
  std::string since, until;             // "2023", "2023-06", "2023-06-15", "2023-06-15T10:30"
  int min_width = 0, min_height = 0;
  std::vector<std::string> formats;     // jpeg, png, webp, gif, bmp, tiff, heif, avif
};

// A weighted sum of unit text and image embeddings, re-normalised (docs/CLI.md).
struct Query {
  struct Term {
    std::string text;        // one of text,
    std::string image_file;  // image_file,
    int64_t like_id = -1;    // or an indexed image's id
    float weight = 1.0f;
  };
  std::vector<Term> terms;
  size_t k = 10, offset = 0;
  float min_score = -1.0f;
  Filters filters;

  Query& text(std::string t, float weight = 1.0f);
  Query& minus(std::string t, float weight = 1.0f);  // weight -w
  Query& image(std::string file, float weight = 1.0f);
  Query& like(int64_t id, float weight = 1.0f);  // a positive weight leaves the image out of the results
};

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

class Library {
 public:
  enum Mode { Existing, Create };
  // The catalog at `db` (SQLite, beside it DB.faiss and DB.lock).
  static Library open(const std::string& db, Mode mode = Existing);

  // Brings the library up to date with folders (incremental; see `clipdex index`). The first
  // model to index a library is bound to it (and remembered, so `clipdex search --db` needs no
  // --model); another model's vectors are refused.
  IndexReport index(const Model& model, const std::vector<std::string>& folders, const IndexOptions& options = {});
  // Pours libraries indexed apart (the parts of IndexOptions::shard) into this one; the same
  // model's vectors only. Idempotent: merging again changes nothing.
  MergeReport merge(const std::vector<std::string>& dbs);
  // Stores captions for image -> text search.
  void add_texts(const Model& model, const std::vector<std::string>& texts);

  std::vector<ImageHit> search(const Model& model, const std::string& text, size_t k = 10);
  std::vector<ImageHit> search(const Model& model, const Query& query);
  std::vector<TextHit> texts_for_image(const Model& model, const std::string& image_file, size_t k = 10);

  int64_t images() const;  // distinct images held

  // Opens the model this library's vectors were made with (remembered by its first index();
  // an int8 library's in int8). `options` override what was remembered where set; InputError
  // when the library names no model yet.
  Model model(const ModelOptions& options = {}) const;
  const std::shared_ptr<pipeline::Library>& internals() const { return impl_; }

 private:
  explicit Library(std::shared_ptr<pipeline::Library> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<pipeline::Library> impl_;
};

// Zero-shot classification of an image file over labels, with prompt templates ("a photo of a
// {}."; the CLIP paper's single default when none are given). Best first, at most `top`.
std::vector<Prediction> classify(const Model& model, const std::string& image_file, const std::vector<std::string>& labels,
                                 const std::vector<std::string>& templates = {}, size_t top = 5);

}  // namespace clipdex
