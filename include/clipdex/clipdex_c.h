/* clipdex C API: the C++ API (clipdex.h) behind opaque handles and status codes, for C and for
 * other languages' foreign-function interfaces.
 *
 *   clipdex_model* model = NULL;
 *   if (clipdex_model_open("models/clip-vit-base-patch32", "auto", &model) != CLIPDEX_OK)
 *     fprintf(stderr, "%s\n", clipdex_last_error());
 *   float v[512];
 *   const char* texts[] = {"a red car"};
 *   clipdex_embed_texts(model, texts, 1, 1, v);
 *   clipdex_model_free(model);
 *
 * Every function returning clipdex_status leaves a message for clipdex_last_error() when it fails
 * (per thread, valid until the thread's next failing call). Handles are freed by their _free
 * function (NULL is accepted). A model may be used from many threads at once. */
#ifndef CLIPDEX_C_H
#define CLIPDEX_C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  CLIPDEX_OK = 0,
  CLIPDEX_INPUT_ERROR = 1, /* bad input: a corrupt image, a missing file, a bad argument */
  CLIPDEX_IO_ERROR = 2,    /* the system failed */
  CLIPDEX_BUSY = 3,        /* another process is writing the library */
  CLIPDEX_CANCELLED = 4,
  CLIPDEX_ERROR = 5        /* anything else (a bug: please report it) */
} clipdex_status;

typedef struct clipdex_model clipdex_model;
typedef struct clipdex_library clipdex_library;
typedef struct clipdex_results clipdex_results;

const char* clipdex_last_error(void);

/* precision: "auto", "fp32", "bf16" or "int8" (NULL: auto). */
clipdex_status clipdex_model_open(const char* path, const char* precision, clipdex_model** out);

/* Every ModelOptions field (clipdex.h); zero-initialise, then set what you need (NULL: default). */
typedef struct {
  const char* vocab;       /* tokenizer file or folder */
  const char* text_model;  /* a separate (multilingual) text tower */
  const char* arch;        /* a built-in architecture overriding the model's config */
  const char* adapter;     /* a PEFT LoRA adapter folder merged into the weights */
  const char* precision;   /* auto, fp32, bf16, int8 */
  size_t threads;          /* compute threads for this model's calls; 0 = every core */
  int exact_decode;        /* != 0: decode every JPEG pixel (PIL parity) */
} clipdex_model_options;
clipdex_status clipdex_model_open_with(const char* path, const clipdex_model_options* options, clipdex_model** out);
void clipdex_model_free(clipdex_model* model);
int clipdex_model_dim(const clipdex_model* model);

/* out: n * dim floats, row-major; normalize != 0 scales rows to unit length. */
clipdex_status clipdex_embed_texts(const clipdex_model* model, const char* const* texts, size_t n, int normalize, float* out);
clipdex_status clipdex_embed_image_files(const clipdex_model* model, const char* const* paths, size_t n, int normalize,
                                         float* out);

/* Encoded image files in memory: data[i] holds sizes[i] bytes. */
clipdex_status clipdex_embed_encoded_images(const clipdex_model* model, const uint8_t* const* data, const size_t* sizes,
                                            size_t n, int normalize, float* out);
/* Decoded RGB pictures: rows of width * 3 bytes, stride bytes apart (0: width * 3). */
typedef struct {
  const uint8_t* pixels;
  int width, height;
  size_t stride;
} clipdex_rgb_image;
clipdex_status clipdex_embed_rgb_images(const clipdex_model* model, const clipdex_rgb_image* images, size_t n,
                                        int normalize, float* out);

/* create != 0 makes a new library when db does not exist. */
clipdex_status clipdex_library_open(const char* db, int create, clipdex_library** out);
void clipdex_library_free(clipdex_library* library);
/* embedded (may be NULL): how many new images were embedded. */
clipdex_status clipdex_library_index(clipdex_library* library, const clipdex_model* model, const char* const* folders,
                                     size_t n, int64_t* embedded);
clipdex_status clipdex_library_search(clipdex_library* library, const clipdex_model* model, const char* text, size_t k,
                                      clipdex_results** out);

/* clipdex_library_index with every IndexOptions field. on_progress (may be NULL) is called after
 * each committed batch; returning non-zero stops after it (CLIPDEX_CANCELLED; committed work stays). */
typedef struct {
  size_t batch_size; /* 0: 32 */
  size_t threads;    /* decode threads; 0 = every core */
  int retry_failed, all_files;
  int no_wait; /* != 0: CLIPDEX_BUSY instead of waiting for another writer */
  int (*on_progress)(int64_t done, int64_t total, void* user);
  void* user;
  const char* shard; /* "I/N" or "auto" (docs/SCALE.md); NULL: every file */
} clipdex_index_options;
typedef struct {
  int64_t scanned, unchanged, embedded, duplicates, failed, removed;
} clipdex_index_report;
clipdex_status clipdex_library_index_with(clipdex_library* library, const clipdex_model* model, const char* const* folders,
                                          size_t n, const clipdex_index_options* options, clipdex_index_report* report);

/* Pours libraries indexed apart (the parts of clipdex_index_options.shard) into this one;
 * idempotent. files_added (may be NULL): how many files it gained. */
clipdex_status clipdex_library_merge(clipdex_library* library, const char* const* dbs, size_t n, int64_t* files_added);

/* A query with every Query field (clipdex.h): weighted terms and filters. Zero-initialise;
 * k 0 means 10, min_score 0 means none (-1). Each term sets exactly one of text, image_file or
 * like_id (>= 0; set like_id = -1 otherwise); weight 0 means 1. */
typedef struct {
  const char* text;
  const char* image_file;
  int64_t like_id;
  float weight;
} clipdex_term;
typedef struct {
  const clipdex_term* terms;
  size_t n_terms;
  size_t k, offset;
  float min_score;
  const char* const* folders;
  size_t n_folders;
  const char* const* path_globs;
  size_t n_path_globs;
  const char* since; /* "2023", "2023-06", "2023-06-15" ... */
  const char* until;
  int min_width, min_height;
  const char* const* formats; /* jpeg, png, webp, gif, bmp, tiff, heif, avif */
  size_t n_formats;
} clipdex_query;
clipdex_status clipdex_library_query(clipdex_library* library, const clipdex_model* model, const clipdex_query* query,
                                     clipdex_results** out);
/* Stored captions nearest to an image file (clipdex_results_text gives each caption). */
clipdex_status clipdex_library_texts_for_image(clipdex_library* library, const clipdex_model* model, const char* image_file,
                                               size_t k, clipdex_results** out);
/* Zero-shot classification: results are labels (clipdex_results_text) with probabilities
 * (clipdex_results_score), best first. templates may be NULL (n_templates 0): "a photo of a {}.". */
clipdex_status clipdex_classify(const clipdex_model* model, const char* image_file, const char* const* labels,
                                size_t n_labels, const char* const* templates, size_t n_templates, size_t top,
                                clipdex_results** out);

/* LoRA fine-tuning (clipdex/finetune.h, docs/LORA.md): trains on JSON-lines image-caption pairs
 * and writes a PEFT adapter folder to out_dir. Zero-initialise the options; 0 / NULL fields take
 * the C++ defaults (rank 8, alpha 16, targets "q_proj,v_proj", epochs 1, batch 32, lr 1e-4,
 * weight decay 0.01, a checkpoint every 50 steps). on_step (may be NULL) runs after each step;
 * returning non-zero stops after it with a checkpoint (CLIPDEX_CANCELLED); calling again resumes. */
typedef struct {
  const char* init;    /* start from this adapter folder; NULL: a new one */
  int rank;
  double alpha;
  int rslora;
  const char* targets; /* comma-separated module names */
  int64_t steps, epochs, batch_size;
  double lr, weight_decay; /* weight_decay < 0 means 0 */
  int no_shuffle;
  uint64_t seed;
  int64_t checkpoint_every; /* < 0: none */
  size_t threads;
  int (*on_step)(int64_t step, int64_t steps, double loss, void* user);
  void* user;
} clipdex_finetune_options;
typedef struct {
  int64_t steps, resumed_at;
  double first_loss, last_loss;
} clipdex_finetune_report;
clipdex_status clipdex_finetune(const char* model_path, const char* pairs_file, const char* out_dir,
                                const clipdex_finetune_options* options, clipdex_finetune_report* report);

size_t clipdex_results_count(const clipdex_results* results);
/* The i-th hit, best first; the path stays valid until clipdex_results_free. */
int64_t clipdex_results_id(const clipdex_results* results, size_t i);
float clipdex_results_score(const clipdex_results* results, size_t i);
const char* clipdex_results_path(const clipdex_results* results, size_t i);
/* The hit's text: its path (searches), caption (texts_for_image) or label (classify). */
const char* clipdex_results_text(const clipdex_results* results, size_t i);
void clipdex_results_free(clipdex_results* results);

#ifdef __cplusplus
}
#endif

#endif /* CLIPDEX_C_H */
