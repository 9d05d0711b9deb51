#include "store/pgvector_index.h"

#include <fmt/format.h>

#include <mutex>

#include "core/error.h"
#include "store/sql.h"

namespace clipdex::store {
namespace {

constexpr const char* kIndexName = "contents_embedding_hnsw";
// What the index was built as ("hnsw m=M dim=D", or "" for none), in the catalog's settings.
constexpr const char* kIndexSetting = "pg_vector_index";

// The indexed expression: pgvector's HNSW needs a fixed dimension and the column has none (a
// library may be re-embedded under a model of another size).
std::string embedding_expr(int dim) { return fmt::format("(embedding::halfvec({}))", dim); }

std::string id_array(const std::vector<int64_t>& ids) {
  std::string s = "{";
  for (size_t i = 0; i < ids.size(); ++i) fmt::format_to(std::back_inserter(s), "{}{}", i ? "," : "", ids[i]);
  return s + "}";
}

class PgVectorIndex final : public index::VectorIndex {
 public:
  PgVectorIndex(const Catalog& catalog, const index::IndexParams& params, int dim)
      : catalog_(catalog), db_(catalog.database()), params_(params), dim_(dim), expr_(embedding_expr(dim)) {
    db_.exec("SET hnsw.iterative_scan = strict_order");
    set_ef_search(params_.hnsw_ef_search);
  }

  index::IndexType type() const override { return params_.type; }
  int dim() const override { return dim_; }
  size_t size() const override {
    // Counting a large table is slow; the count changes only with the catalog's generation.
    std::lock_guard lock(mu_);
    const int64_t g = catalog_.generation();
    if (g != counted_at_) {
      count_ = static_cast<size_t>(catalog_.content_count());
      counted_at_ = g;
    }
    return count_;
  }
  bool exact_scores() const override { return true; }  // inner products of the stored vectors

  void add(const float*, const int64_t*, size_t) override {
    throw Error("the PostgreSQL vector index follows the contents table; write through the catalog");
  }
  bool remove(const int64_t*, size_t) override { return false; }

  std::vector<std::vector<index::Hit>> search(const float* q, size_t nq, size_t k) const override {
    std::vector<std::vector<index::Hit>> out(nq);
    if (k == 0) return out;
    prepare_for(k);
    Statement s(db_, fmt::format("SELECT id, -({0} <#> $1::halfvec) FROM contents ORDER BY {0} <#> $1::halfvec LIMIT $2",
                                 expr_));
    for (size_t i = 0; i < nq; ++i) {
      s.bind(1, std::span<const float>(q + i * static_cast<size_t>(dim_), static_cast<size_t>(dim_)))
          .bind(2, static_cast<int64_t>(k));
      while (s.step()) out[i].push_back({s.i64(0), static_cast<float>(s.f64(1))});
      s.reset();
    }
    return out;
  }

  std::vector<index::Hit> search_among(const float* q, size_t k, const std::vector<int64_t>& allowed) const override {
    std::vector<index::Hit> out;
    if (k == 0 || allowed.empty()) return out;
    prepare_for(k);
    Statement s(db_, fmt::format("SELECT id, -({0} <#> $1::halfvec) FROM contents WHERE id = ANY($3::bigint[]) "
                                 "ORDER BY {0} <#> $1::halfvec LIMIT $2",
                                 expr_));
    s.bind(1, std::span<const float>(q, static_cast<size_t>(dim_))).bind(2, static_cast<int64_t>(k)).bind(3, id_array(allowed));
    while (s.step()) out.push_back({s.i64(0), static_cast<float>(s.f64(1))});
    return out;
  }

  void save(const std::string&) const override {}  // the server keeps it

 private:
  // An HNSW scan yields at most ef_search rows before iterating: ask for at least k at once.
  void prepare_for(size_t k) const {
    const int want = std::max(params_.hnsw_ef_search, static_cast<int>(std::min<size_t>(k, 1000)));
    std::lock_guard lock(mu_);
    if (want != ef_search_) set_ef_search(want);
  }
  void set_ef_search(int ef) const {
    db_.exec(fmt::format("SET hnsw.ef_search = {}", ef).c_str());
    ef_search_ = ef;
  }

  const Catalog& catalog_;
  Database& db_;
  index::IndexParams params_;
  int dim_;
  std::string expr_;
  mutable std::mutex mu_;
  mutable int ef_search_ = -1;
  mutable int64_t counted_at_ = -1;
  mutable size_t count_ = 0;
};

}  // namespace

int pgvector_ef_construction(const index::IndexParams& params) {
  return params.hnsw_ef_construction > 0 ? params.hnsw_ef_construction : std::max(64, 2 * params.hnsw_m);
}

void ensure_pgvector_index(Catalog& catalog, const index::IndexParams& params, int dim) {
  if (params.type == index::IndexType::IVFPQ)
    throw_input("a PostgreSQL library searches with pgvector: use --index-type flat or hnsw, not ivfpq");
  // ef_construction is named only when asked for, so libraries built with the default keep
  // their index (a changed setting rebuilds it).
  const std::string asked_ef =
      params.hnsw_ef_construction > 0 ? fmt::format(" ef_construction={}", params.hnsw_ef_construction) : "";
  const std::string want =
      params.type == index::IndexType::HNSW ? fmt::format("hnsw m={} dim={}{}", params.hnsw_m, dim, asked_ef) : "";
  if (catalog.meta(kIndexSetting).value_or("") == want) return;
  Database& db = catalog.database();
  Transaction tx(db);  // the writers' lock: two indexers never build it twice
  if (catalog.meta(kIndexSetting).value_or("") != want) {
    drop_pgvector_index(catalog);
    if (!want.empty())
      db.exec(fmt::format("CREATE INDEX {} ON contents USING hnsw ({} halfvec_ip_ops) WITH (m = {}, ef_construction = {})",
                          kIndexName, embedding_expr(dim), params.hnsw_m, pgvector_ef_construction(params))
                  .c_str());
    catalog.set_meta(kIndexSetting, want);
  }
  tx.commit();
}

void drop_pgvector_index(Catalog& catalog) {
  catalog.database().exec(fmt::format("DROP INDEX IF EXISTS {}", kIndexName).c_str());
  catalog.set_meta(kIndexSetting, "");
}

std::unique_ptr<index::VectorIndex> make_pgvector_index(const Catalog& catalog, const index::IndexParams& params,
                                                        int dim) {
  return std::make_unique<PgVectorIndex>(catalog, params, dim);
}

}  // namespace clipdex::store
