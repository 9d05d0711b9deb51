#pragma once
// The vector index interface: batched add / remove / search over raw float arrays with int64
// ids, inner-product scores (cosine on unit vectors). FAISS is one implementation; shards are
// a wrapper that is itself an index, so pieces compose.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace clipdex::kernels {
class GpuFlatSearch;
}

namespace clipdex::index {

struct Hit {
  int64_t id = -1;
  float score = 0.0f;
};

enum class IndexType { Flat, HNSW, IVFPQ };
IndexType parse_index_type(const std::string& name);  // "flat", "hnsw", "ivfpq"
const char* index_type_name(IndexType t);

class VectorIndex {
 public:
  virtual ~VectorIndex() = default;
  virtual IndexType type() const = 0;
  virtual int dim() const = 0;
  virtual size_t size() const = 0;
  // Scores are exact inner products (flat, HNSW) or approximations (PQ codes).
  virtual bool exact_scores() const = 0;

  // x: [n, dim]. Ids must be unique; callers remove before re-adding.
  virtual void add(const float* x, const int64_t* ids, size_t n) = 0;
  // Returns false when this index kind cannot remove (the caller rebuilds instead).
  virtual bool remove(const int64_t* ids, size_t n) = 0;
  // q: [nq, dim]; up to k hits per query, best first.
  virtual std::vector<std::vector<Hit>> search(const float* q, size_t nq, size_t k) const = 0;
  // One query over only the vectors whose ids are in `allowed` (sorted, unique; ids the index
  // lacks are ignored), filtered inside the search (FAISS IDSelector). Up to k hits, best first;
  // graph and inverted-list indexes may find fewer than k of the allowed vectors (the caller
  // then scores them exactly).
  virtual std::vector<Hit> search_among(const float* q, size_t k, const std::vector<int64_t>& allowed) const = 0;

  // Atomic save (temporary file, fsync, rename).
  virtual void save(const std::string& path) const = 0;

  // A flat index's stored vectors [size, dim] and their ids, in storage order; false for other
  // kinds (what a GPU copy of the index is built from).
  virtual bool flat_contents(std::vector<float>& vectors, std::vector<int64_t>& ids) const {
    (void)vectors;
    (void)ids;
    return false;
  }
};

struct IndexParams {
  IndexType type = IndexType::Flat;
  int hnsw_m = 32;
  // Candidates kept while linking a new vector into the graph; 0 keeps each engine's default
  // (FAISS 80, pgvector max(64, 2m)). Build time grows with it, recall too.
  int hnsw_ef_construction = 0;
  int hnsw_ef_search = 128;
  int ivf_nprobe = 16;
};

// The efConstruction a FAISS HNSW index is built with for `params` (80 unless set).
int faiss_ef_construction(const IndexParams& params);

// A new index. IVF-PQ is trained on `train` ([n_train, dim]), sized to what it holds.
std::unique_ptr<VectorIndex> make_faiss_index(int dim, const IndexParams& params, const float* train, size_t n_train);
// Loads a saved index; `mmap` maps IVF inverted lists from disk instead of reading them.
std::unique_ptr<VectorIndex> load_faiss_index(const std::string& path, bool mmap = false);

// A flat index searched on a GPU (kernels::GpuFlatSearch): the FAISS index stays the stored
// one (adds, removals, saves, filtered searches); unfiltered searches run on its GPU copy, with
// the same results as FAISS's flat search. `flat` must be a flat index.
std::unique_ptr<VectorIndex> make_gpu_flat_index(std::unique_ptr<VectorIndex> flat,
                                                 std::unique_ptr<kernels::GpuFlatSearch> gpu);

// Splits vectors over several indexes by id (id mod shards) and merges their results.
std::unique_ptr<VectorIndex> make_sharded_index(std::vector<std::unique_ptr<VectorIndex>> shards);

}  // namespace clipdex::index
