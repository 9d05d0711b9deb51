#pragma once
// On PostgreSQL the catalog's contents table is the vector index: pgvector searches it in the
// server, so every process (indexers, any number of `serve` replicas) sees each commit at once
// and none keeps a copy. This adapts it to index::VectorIndex for the searcher.
#include <memory>

#include "index/vector_index.h"
#include "store/catalog.h"

namespace clipdex::store {

// Makes the server-side index agree with `params` for `dim`-dimensional vectors: an HNSW index
// (inner-product ops over halfvec, m from params) for IndexType::HNSW, none for Flat (exact
// scans). IVF-PQ is refused (pgvector has no PQ). Writers call it; it is cheap when nothing
// changes.
void ensure_pgvector_index(Catalog& catalog, const index::IndexParams& params, int dim);
// The ef_construction that index is built with (max(64, 2m) unless set; pgvector needs >= 2m).
int pgvector_ef_construction(const index::IndexParams& params);

// Drops the server-side index (inside the caller's transaction): it is built for one dimension,
// and a re-embedding may change it. ensure_pgvector_index makes it again.
void drop_pgvector_index(Catalog& catalog);

// Search over `catalog`'s contents; hnsw.ef_search from params, iterative index scans on so a
// filtered search still finds k (pgvector >= 0.8). add() and remove() are refused: the catalog
// writes the table.
std::unique_ptr<index::VectorIndex> make_pgvector_index(const Catalog& catalog, const index::IndexParams& params,
                                                        int dim);

}  // namespace clipdex::store
