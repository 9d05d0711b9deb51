// FAISS behind the VectorIndex interface: IndexIDMap2 over IndexFlatIP, IndexHNSWFlat or
// IndexIVFPQ (inner product).
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/HNSW.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/index_io.h>

#include <algorithm>
#include <cmath>

#include "core/atomic_file.h"
#include "core/error.h"
#include "index/simd_flat.h"
#include "index/vector_index.h"

namespace clipdex::index {
namespace {

// IVF-PQ sized to the data: about sqrt(n) lists with >= 39 training points each, 4-dimensional
// sub-quantizers (dim / 4 bytes per vector), and at most 2^bits <= n centroids per sub-quantizer.
std::unique_ptr<faiss::Index> make_ivfpq(int dim, const IndexParams& p, const float* train, size_t n) {
  if (n == 0) throw Error("an IVF-PQ index needs vectors to train on");
  const size_t nlist = std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(std::sqrt(double(n))), n / 39));
  int m = std::max(1, dim / 4);
  while (m > 1 && dim % m != 0) --m;
  const int nbits = std::clamp(static_cast<int>(std::floor(std::log2(double(n)))), 1, 8);
  auto* quantizer = new faiss::IndexFlatIP(dim);
  auto ivf = std::make_unique<faiss::IndexIVFPQ>(quantizer, dim, nlist, m, nbits, faiss::METRIC_INNER_PRODUCT);
  ivf->own_fields = true;
  ivf->cp.min_points_per_centroid = 1;  // small collections train without complaint
  ivf->pq.cp.min_points_per_centroid = 1;
  ivf->train(static_cast<faiss::Index::idx_t>(n), train);
  ivf->nprobe = std::min<size_t>(nlist, static_cast<size_t>(p.ivf_nprobe));
  return ivf;
}

// The best k of the allowed ids, scored exactly against raw vectors stored by position.
std::vector<Hit> exact_among(const float* xb, const faiss::IndexIDMap2& map, const float* q, size_t k,
                             const std::vector<int64_t>& allowed) {
  const size_t d = static_cast<size_t>(map.d);
  std::vector<Hit> hits;
  hits.reserve(allowed.size());
  for (int64_t id : allowed)
    if (auto it = map.rev_map.find(id); it != map.rev_map.end())
      hits.push_back({id, dot_product(q, xb + static_cast<size_t>(it->second) * d, d)});
  k = std::min(k, hits.size());
  std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(k), hits.end(),
                    [](const Hit& a, const Hit& b) { return a.score > b.score || (a.score == b.score && a.id < b.id); });
  hits.resize(k);
  return hits;
}

class FaissIndex final : public VectorIndex {
 public:
  FaissIndex(std::unique_ptr<faiss::Index> index, IndexType type) : index_(std::move(index)), type_(type) {}

  IndexType type() const override { return type_; }
  int dim() const override { return static_cast<int>(index_->d); }
  size_t size() const override { return static_cast<size_t>(index_->ntotal); }
  bool exact_scores() const override { return type_ != IndexType::IVFPQ; }

  void add(const float* x, const int64_t* ids, size_t n) override {
    if (n) index_->add_with_ids(static_cast<faiss::Index::idx_t>(n), x, ids);
  }

  bool remove(const int64_t* ids, size_t n) override {
    if (n == 0) return true;
    if (type_ == IndexType::HNSW) return false;  // FAISS HNSW cannot delete
    faiss::IDSelectorBatch sel(n, ids);
    index_->remove_ids(sel);
    return true;
  }

  std::vector<std::vector<Hit>> search(const float* q, size_t nq, size_t k) const override {
    std::vector<std::vector<Hit>> out(nq);
    k = std::min(k, size());
    if (k == 0 || nq == 0) return out;
    std::vector<float> d(nq * k);
    std::vector<faiss::Index::idx_t> l(nq * k);
    index_->search(static_cast<faiss::Index::idx_t>(nq), q, static_cast<faiss::Index::idx_t>(k), d.data(), l.data());
    for (size_t i = 0; i < nq; ++i)
      for (size_t j = 0; j < k; ++j)
        if (l[i * k + j] >= 0) out[i].push_back({l[i * k + j], d[i * k + j]});
    return out;
  }

  std::vector<Hit> search_among(const float* q, size_t k, const std::vector<int64_t>& allowed) const override {
    // IndexIDMap2 takes no search parameters in FAISS 1.7.3: select on the inner index's
    // positions (rev_map: id -> position) and map the hits back. widen = 1 / the fraction passing.
    const auto* mapped = dynamic_cast<const faiss::IndexIDMap2*>(index_.get());
    if (!mapped) throw Error("the index file is not one clipdex wrote (no id map); rebuild it");
    const auto& map = *mapped;
    const faiss::Index& inner = *map.index;
    const size_t n = size();
    std::vector<uint8_t> bits((n + 7) / 8, 0);
    size_t count = 0;
    for (int64_t id : allowed)
      if (auto it = map.rev_map.find(id); it != map.rev_map.end()) {
        bits[static_cast<size_t>(it->second) >> 3] |= static_cast<uint8_t>(1u << (it->second & 7));
        ++count;
      }
    k = std::min(k, count);
    if (k == 0) return {};
    faiss::IDSelectorBitmap selector(n, bits.data());
    faiss::SearchParametersIVF ivf;
    faiss::SearchParameters plain;
    faiss::SearchParameters* params = &plain;
    const double widen = std::min(64.0, double(n) / double(count));
    if (const auto* h = dynamic_cast<const faiss::IndexHNSW*>(&inner)) {
      // FAISS 1.7.3's filtered HNSW walk does not pass through filtered-out nodes, which cuts the
      // graph (recall 0.6-0.8 at 10-30% selectivity). A filter passing at most half the vectors
      // is answered exactly from the raw vectors HNSWFlat stores (count x dim multiply-adds);
      // a looser one walks unfiltered, twice as deep as the filter thins the results.
      const auto* flat = dynamic_cast<const faiss::IndexFlat*>(h->storage);
      if (flat && widen >= 2) return exact_among(flat->get_xb(), map, q, k, allowed);
      const double depth = std::max<double>(h->hnsw.efSearch, double(k)) * widen * 2;
      const size_t fetch = std::min<size_t>(n, static_cast<size_t>(std::min(depth, 65536.0)));
      const auto hits = search(q, 1, fetch);  // held: a range-for over [0] of a temporary dangles
      std::vector<Hit> out;
      for (const auto& hit : hits[0]) {
        if (std::binary_search(allowed.begin(), allowed.end(), hit.id)) out.push_back(hit);
        if (out.size() == k) break;
      }
      return out;
    }
    if (const auto* v = dynamic_cast<const faiss::IndexIVF*>(&inner)) {
      // A filter passing a fraction f of the vectors leaves about f of each probed list: probe
      // 1/f times as many lists (capped) to keep the recall of an unfiltered search.
      ivf.nprobe = std::min<size_t>(v->nlist, static_cast<size_t>(std::ceil(double(v->nprobe) * widen)));
      params = &ivf;
    }
    params->sel = &selector;
    std::vector<float> d(k);
    std::vector<faiss::Index::idx_t> l(k);
    try {
      inner.search(1, q, static_cast<faiss::Index::idx_t>(k), d.data(), l.data(), params);
    } catch (const faiss::FaissException& e) {
      throw Error(std::string("FAISS: ") + e.what());
    }
    std::vector<Hit> out;
    for (size_t j = 0; j < k; ++j)
      if (l[j] >= 0) out.push_back({map.id_map[static_cast<size_t>(l[j])], d[j]});
    return out;
  }

  bool flat_contents(std::vector<float>& vectors, std::vector<int64_t>& ids) const override {
    const auto* map = dynamic_cast<const faiss::IndexIDMap2*>(index_.get());
    const auto* flat = map ? dynamic_cast<const faiss::IndexFlat*>(map->index) : nullptr;
    if (type_ != IndexType::Flat || !flat) return false;
    const auto* xb = flat->get_xb();
    vectors.assign(xb, xb + static_cast<size_t>(flat->ntotal) * static_cast<size_t>(flat->d));
    ids.assign(map->id_map.begin(), map->id_map.end());
    return true;
  }

  void save(const std::string& path) const override {
    const std::string tmp = path + ".tmp";
    try {
      faiss::write_index(index_.get(), tmp.c_str());
    } catch (const faiss::FaissException& e) {
      throw_io("cannot write index '{}': {}", tmp, e.what());
    }
    commit_file(tmp, path);
  }

 private:
  std::unique_ptr<faiss::Index> index_;
  IndexType type_;
};

IndexType type_of(const faiss::Index* idx) {
  const auto* map = dynamic_cast<const faiss::IndexIDMap2*>(idx);
  const faiss::Index* inner = map ? map->index : idx;
  if (dynamic_cast<const faiss::IndexHNSW*>(inner)) return IndexType::HNSW;
  if (dynamic_cast<const faiss::IndexIVFPQ*>(inner)) return IndexType::IVFPQ;
  return IndexType::Flat;
}

}  // namespace

IndexType parse_index_type(const std::string& name) {
  if (name == "flat") return IndexType::Flat;
  if (name == "hnsw") return IndexType::HNSW;
  if (name == "ivfpq") return IndexType::IVFPQ;
  throw_input("unknown index type '{}' (flat, hnsw, ivfpq)", name);
}

const char* index_type_name(IndexType t) {
  switch (t) {
    case IndexType::Flat: return "flat";
    case IndexType::HNSW: return "hnsw";
    case IndexType::IVFPQ: return "ivfpq";
  }
  return "?";
}

int faiss_ef_construction(const IndexParams& params) {
  return params.hnsw_ef_construction > 0 ? params.hnsw_ef_construction : 80;
}

std::unique_ptr<VectorIndex> make_faiss_index(int dim, const IndexParams& p, const float* train, size_t n_train) {
  try {
    std::unique_ptr<faiss::Index> inner;
    switch (p.type) {
      case IndexType::Flat:
        inner = std::make_unique<faiss::IndexFlatIP>(dim);
        break;
      case IndexType::HNSW: {
        auto h = std::make_unique<faiss::IndexHNSWFlat>(dim, p.hnsw_m, faiss::METRIC_INNER_PRODUCT);
        h->hnsw.efSearch = p.hnsw_ef_search;
        h->hnsw.efConstruction = faiss_ef_construction(p);
        inner = std::move(h);
        break;
      }
      case IndexType::IVFPQ:
        inner = make_ivfpq(dim, p, train, n_train);
        break;
    }
    auto map = std::make_unique<faiss::IndexIDMap2>(inner.release());
    map->own_fields = true;
    use_simd_storage(map.get());
    return std::make_unique<FaissIndex>(std::move(map), p.type);
  } catch (const faiss::FaissException& e) {
    throw Error(std::string("FAISS: ") + e.what());
  }
}

std::unique_ptr<VectorIndex> load_faiss_index(const std::string& path, bool mmap) {
  try {
    std::unique_ptr<faiss::Index> idx(faiss::read_index(path.c_str(), mmap ? faiss::IO_FLAG_MMAP : 0));
    use_simd_storage(idx.get());
    const IndexType t = type_of(idx.get());
    return std::make_unique<FaissIndex>(std::move(idx), t);
  } catch (const faiss::FaissException& e) {
    throw_input("cannot read index '{}': {}", path, e.what());
  }
}

}  // namespace clipdex::index
