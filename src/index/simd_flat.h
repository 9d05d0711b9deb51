#pragma once
// FAISS's flat inner-product storage, scored with a vectorised dot product. Debian's FAISS 1.7.3
// is built for baseline x86-64 and scores one vector at a time with a scalar loop
// (fvec_inner_product_ref: ~93% of an HNSW build's time, one add per cycle at best), which made
// HNSW builds and single-query flat searches many times slower than the CPU allows. SimdFlatIP
// keeps FAISS's layout and file format — it is an IndexFlatIP, and is written as one — and
// scores with code compiled for each ISA level (core/isa_clones.h).
#include <faiss/IndexFlat.h>

#include <cstddef>

namespace clipdex::index {

// a . b over d floats (vectorised for the CPU at hand; sums agree with a plain loop to float
// rounding).
float dot_product(const float* a, const float* b, size_t d);

struct SimdFlatIP : faiss::IndexFlatIP {
  explicit SimdFlatIP(idx_t d) : faiss::IndexFlatIP(d) {}

  // What HNSW walks (and IndexFlat's own per-vector paths) score with.
  faiss::FlatCodesDistanceComputer* get_FlatCodesDistanceComputer() const override;
  // A few queries without a selector: one pass over the vectors per query with the dot above
  // (FAISS's own would take its scalar loop); many queries, or a selector: FAISS (BLAS / its
  // selector handling).
  void search(idx_t n, const float* x, idx_t k, float* distances, idx_t* labels,
              const faiss::SearchParameters* params = nullptr) const override;
};

// Replaces plain IndexFlatIP storage inside `index` (an IndexIDMap2 over a flat or HNSW-flat
// index, as made or read from a file) with SimdFlatIP holding the same vectors; other kinds are
// left as they are.
void use_simd_storage(faiss::Index* index);

}  // namespace clipdex::index
