/* The C API from C: open a model, embed, index a folder, search, and a clear error for a bad
 * path. Prints the top hit's path; exits non-zero on any failure.
 *   c_api_smoke MODEL FOLDER DB */
#include <clipdex/clipdex_c.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                          \
  do {                                                                       \
    clipdex_status s_ = (call);                                              \
    if (s_ != CLIPDEX_OK) {                                                  \
      fprintf(stderr, "%s failed (%d): %s\n", #call, s_, clipdex_last_error()); \
      return 1;                                                              \
    }                                                                        \
  } while (0)

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  clipdex_model* bad = NULL;
  if (clipdex_model_open("/no/such/model", NULL, &bad) != CLIPDEX_INPUT_ERROR || strlen(clipdex_last_error()) == 0) {
    fprintf(stderr, "a missing model must be CLIPDEX_INPUT_ERROR with a message\n");
    return 1;
  }
  clipdex_model* model = NULL;
  CHECK(clipdex_model_open(argv[1], "fp32", &model));
  const int dim = clipdex_model_dim(model);
  float* v = malloc(sizeof(float) * (size_t)dim);
  const char* texts[] = {"a photo of a rocket"};
  CHECK(clipdex_embed_texts(model, texts, 1, 1, v));
  double norm = 0;
  for (int i = 0; i < dim; ++i) norm += (double)v[i] * v[i];
  if (fabs(norm - 1.0) > 1e-4) {
    fprintf(stderr, "normalized embedding has norm^2 %f\n", norm);
    return 1;
  }
  clipdex_library* lib = NULL;
  CHECK(clipdex_library_open(argv[3], 1, &lib));
  const char* folders[] = {argv[2]};
  int64_t embedded = 0;
  CHECK(clipdex_library_index(lib, model, folders, 1, &embedded));
  clipdex_results* r = NULL;
  CHECK(clipdex_library_search(lib, model, "a photo of a rocket", 3, &r));
  if (clipdex_results_count(r) != 3) return 1;
  printf("%s\t%lld\t%.6f\n", clipdex_results_path(r, 0), (long long)embedded, clipdex_results_score(r, 0));
  clipdex_results_free(r);
  clipdex_library_free(lib);
  clipdex_model_free(model);
  free(v);
  return 0;
}
