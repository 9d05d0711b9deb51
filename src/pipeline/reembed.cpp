#include "pipeline/reembed.h"

#include <regex>

#include "core/error.h"
#include "core/mapped_file.h"
#include "pipeline/content_hash.h"
#include "pipeline/image_loader.h"
#include "pipeline/progress.h"

namespace clipdex::pipeline {
namespace {

// A file that still holds the content (same bytes as indexed), or "".
std::string file_holding(const Library& lib, int64_t id, const std::string& hash) {
  for (const auto& f : lib.catalog().files_of(id)) {
    if (f.status != "indexed") continue;
    try {
      if (content_hash(read_file(f.path)) == hash) return f.path;
    } catch (const Error&) {
      // gone or unreadable: try the next file
    }
  }
  return "";
}

}  // namespace

bool differs_only_in_adapter(const std::string& a, const std::string& b) {
  static const std::regex lora("\\+lora:[0-9a-f]+");
  return std::regex_replace(a, lora, "") == std::regex_replace(b, lora, "");
}

ReembedReport reembed_library(Library& lib, const Embedder& embedder, const IndexOptions& options) {
  const Library::WriterScope writer(lib, options.writer_name, options.wait_for_writer);
  auto& catalog = lib.catalog();
  const std::string model_id = embedder.model_id();
  catalog.begin_staging(model_id);
  ReembedReport report;
  const int64_t total = catalog.content_count();
  int64_t done = catalog.staged_count();
  Progress progress("re-embedding", total, options.progress);
  progress.advance(done);
  const size_t batch = std::max<size_t>(1, options.batch_size);
  LoaderOptions lo;
  lo.threads = options.threads;
  lo.batch_size = batch;
  lo.decode = embedder.decode_options(options.decode);
  int64_t after = -1;
  for (;;) {
    if (options.cancel && options.cancel->load())
      throw Cancelled("re-embedding stopped; what was embedded is kept and the next run goes on from there");
    const auto page = catalog.unstaged_contents(after, batch * 8);
    if (page.empty()) break;
    after = page.back().first;
    std::vector<std::string> paths;
    std::vector<int64_t> ids;
    for (const auto& [id, hash] : page) {
      const std::string path = file_holding(lib, id, hash);
      if (path.empty()) continue;  // forgotten at the swap
      paths.push_back(path);
      ids.push_back(id);
    }
    load_images(paths, embedder.model().preprocess_config(), lo, [&](std::vector<LoadedImage>& loaded) {
      std::vector<float> pixels;
      std::vector<int64_t> rows;
      for (const auto& item : loaded) {
        if (!item.error.empty()) continue;  // no longer decodable: forgotten at the swap
        pixels.insert(pixels.end(), item.pixels.begin(), item.pixels.end());
        rows.push_back(ids[item.index]);
      }
      if (rows.empty()) return;
      const auto v = embedder.embed_pixels(pixels.data(), rows.size(), /*normalize=*/true);
      const size_t d = static_cast<size_t>(embedder.dim());
      std::vector<std::pair<int64_t, std::vector<float>>> staged;
      for (size_t i = 0; i < rows.size(); ++i) staged.emplace_back(rows[i], std::vector<float>(v.begin() + i * d, v.begin() + (i + 1) * d));
      catalog.stage_embeddings(staged);
      report.images += static_cast<int64_t>(rows.size());
    });
    done += static_cast<int64_t>(page.size());
    progress.advance(static_cast<int64_t>(page.size()));
    if (options.on_progress) options.on_progress(done, total);
  }
  progress.finish();
  // Captions: few and cheap next to images, embedded at the swap.
  const auto texts = catalog.all_texts();
  std::vector<std::pair<int64_t, std::vector<float>>> text_vectors;
  const size_t d = static_cast<size_t>(embedder.dim());
  for (size_t b = 0; b < texts.size(); b += 64) {
    std::vector<std::string> part;
    for (size_t i = b; i < std::min(texts.size(), b + 64); ++i) part.push_back(texts[i].second);
    const auto v = embedder.embed_texts(part, /*normalize=*/true);
    for (size_t i = 0; i < part.size(); ++i)
      text_vectors.emplace_back(texts[b + i].first, std::vector<float>(v.begin() + i * d, v.begin() + (i + 1) * d));
  }
  report.texts = static_cast<int64_t>(texts.size());
  report.forgotten = catalog.commit_staged(model_id, text_vectors);
  lib.rebuild_vectors();
  return report;
}

}  // namespace clipdex::pipeline
