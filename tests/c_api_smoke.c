/* The C API from C: open a model, embed, index a folder (with options and a progress callback),
 * search (plain and with a weighted, filtered query), and a clear error for a bad path. Prints
 * the top hit's path; exits non-zero on any failure.
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

static int count_progress(int64_t done, int64_t total, void* user) {
  (void)done;
  (void)total;
  ++*(int*)user;
  return 0; /* keep going */
}

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  clipdex_model* bad = NULL;
  if (clipdex_model_open("/no/such/model", NULL, &bad) != CLIPDEX_INPUT_ERROR || strlen(clipdex_last_error()) == 0) {
    fprintf(stderr, "a missing model must be CLIPDEX_INPUT_ERROR with a message\n");
    return 1;
  }
  clipdex_model* model = NULL;
  clipdex_model_options options = {0};
  options.precision = "fp32";
  CHECK(clipdex_model_open_with(argv[1], &options, &model));
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
  clipdex_index_options index_options = {0};
  int progress_calls = 0;
  index_options.on_progress = count_progress;
  index_options.user = &progress_calls;
  clipdex_index_report report;
  CHECK(clipdex_library_index_with(lib, model, folders, 1, &index_options, &report));
  const int64_t embedded = report.embedded;
  if (progress_calls == 0) return 1;
  clipdex_results* r = NULL;
  CHECK(clipdex_library_search(lib, model, "a photo of a rocket", 3, &r));
  if (clipdex_results_count(r) != 3) return 1;
  /* The same search as a query with one term gives the same first hit. */
  clipdex_term term = {"a photo of a rocket", NULL, -1, 1.0f};
  clipdex_query query = {0};
  query.terms = &term;
  query.n_terms = 1;
  query.k = 1;
  clipdex_results* q = NULL;
  CHECK(clipdex_library_query(lib, model, &query, &q));
  if (clipdex_results_count(q) != 1 || strcmp(clipdex_results_path(q, 0), clipdex_results_path(r, 0)) != 0) return 1;
  clipdex_results_free(q);
  printf("%s\t%lld\t%.6f\n", clipdex_results_path(r, 0), (long long)embedded, clipdex_results_score(r, 0));
  clipdex_results_free(r);
  clipdex_library_free(lib);
  clipdex_model_free(model);
  free(v);
  return 0;
}
