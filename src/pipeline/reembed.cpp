#include "pipeline/reembed.h"

#include <regex>

#include "core/error.h"
#include "core/mapped_file.h"
#include "pipeline/content_hash.h"
#include "image/decode.h"
#include "image/preprocess.h"
#include "pipeline/parallel_batches.h"
#include "pipeline/progress.h"

namespace clipdex::pipeline {
namespace {

struct Unstaged {
  int64_t id = -1;
  std::vector<float> pixels;  // empty when no file holds the content any more
};

// The content's pixels from the first of its files that still holds the same bytes as indexed
// (each file read once: the bytes checked are the bytes decoded); none when every file is gone,
// changed or undecodable (the content is then forgotten at the swap).
Unstaged load_content(const Library& lib, int64_t id, const std::string& hash, const image::DecodeOptions& decode,
                      const image::PreprocessConfig& cfg) {
  Unstaged out;
  out.id = id;
  for (const auto& f : lib.catalog().files_of(id)) {
    if (f.status != "indexed") continue;
    try {
      const std::string bytes = read_file(f.path);
      if (content_hash(bytes) != hash) continue;
      const auto im = image::decode_image({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, decode, f.path);
      out.pixels = image::preprocess(im, cfg);
      return out;
    } catch (const std::exception&) {
      // gone or unreadable: try the next file
    }
  }
  return out;
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
  const auto decode = embedder.decode_options(options.decode);
  const auto& cfg = embedder.model().preprocess_config();
  int64_t after = -1;
  for (;;) {
    if (options.cancel && options.cancel->load())
      throw Cancelled("re-embedding stopped; what was embedded is kept and the next run goes on from there");
    const auto page = catalog.unstaged_contents(after, batch * 8);
    if (page.empty()) break;
    after = page.back().first;
    parallel_batches<Unstaged>(
        page.size(), options.threads, batch, 0,
        [&](size_t i) { return load_content(lib, page[i].first, page[i].second, decode, cfg); },
        [&](std::vector<Unstaged>& loaded) {
          std::vector<float> pixels;
          std::vector<int64_t> rows;
          for (const auto& item : loaded) {
            if (item.pixels.empty()) continue;
            pixels.insert(pixels.end(), item.pixels.begin(), item.pixels.end());
            rows.push_back(item.id);
          }
          if (rows.empty()) return;
          const auto v = embedder.embed_pixels(pixels.data(), rows.size(), /*normalize=*/true);
          const size_t d = static_cast<size_t>(embedder.dim());
          std::vector<std::pair<int64_t, std::vector<float>>> staged;
          for (size_t i = 0; i < rows.size(); ++i)
            staged.emplace_back(rows[i], std::vector<float>(v.begin() + i * d, v.begin() + (i + 1) * d));
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
