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
void clipdex_model_free(clipdex_model* model);
int clipdex_model_dim(const clipdex_model* model);

/* out: n * dim floats, row-major; normalize != 0 scales rows to unit length. */
clipdex_status clipdex_embed_texts(const clipdex_model* model, const char* const* texts, size_t n, int normalize, float* out);
clipdex_status clipdex_embed_image_files(const clipdex_model* model, const char* const* paths, size_t n, int normalize,
                                         float* out);

/* create != 0 makes a new library when db does not exist. */
clipdex_status clipdex_library_open(const char* db, int create, clipdex_library** out);
void clipdex_library_free(clipdex_library* library);
/* embedded (may be NULL): how many new images were embedded. */
clipdex_status clipdex_library_index(clipdex_library* library, const clipdex_model* model, const char* const* folders,
                                     size_t n, int64_t* embedded);
clipdex_status clipdex_library_search(clipdex_library* library, const clipdex_model* model, const char* text, size_t k,
                                      clipdex_results** out);

size_t clipdex_results_count(const clipdex_results* results);
/* The i-th hit, best first; the path stays valid until clipdex_results_free. */
int64_t clipdex_results_id(const clipdex_results* results, size_t i);
float clipdex_results_score(const clipdex_results* results, size_t i);
const char* clipdex_results_path(const clipdex_results* results, size_t i);
void clipdex_results_free(clipdex_results* results);

#ifdef __cplusplus
}
#endif

#endif /* CLIPDEX_C_H */
