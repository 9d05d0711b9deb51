#include "eval/evaluate.h"

#include <cblas.h>

#include <chrono>

#include "core/error.h"

namespace clipdex::eval {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// a [n, d] x b [m, d]^T -> [n, m]
std::vector<float> similarities(const std::vector<float>& a, size_t n, const std::vector<float>& b, size_t m, size_t d) {
  std::vector<float> out(n * m);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), static_cast<int>(m), static_cast<int>(d), 1.0f,
              a.data(), static_cast<int>(d), b.data(), static_cast<int>(d), 0.0f, out.data(), static_cast<int>(m));
  return out;
}

std::vector<float> embed_texts_batched(const pipeline::Embedder& emb, const std::vector<std::string>& texts) {
  std::vector<float> out;
  for (size_t i = 0; i < texts.size(); i += 64) {
    const std::vector<std::string> batch(texts.begin() + i, texts.begin() + std::min(texts.size(), i + 64));
    const auto v = emb.embed_texts(batch, /*normalize=*/true);
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

}  // namespace

std::vector<float> embed_image_files(const pipeline::Embedder& embedder, const std::vector<std::string>& paths,
                                     size_t threads) {
  const size_t d = static_cast<size_t>(embedder.dim());
  std::vector<float> out(paths.size() * d);
  pipeline::LoaderOptions opt;
  opt.threads = threads;
  opt.decode = embedder.decode_options();
  pipeline::load_images(paths, embedder.model().preprocess_config(), opt, [&](std::vector<pipeline::LoadedImage>& batch) {
    std::vector<float> pixels;
    for (const auto& im : batch) {
      if (!im.error.empty()) throw InputError(im.error);
      pixels.insert(pixels.end(), im.pixels.begin(), im.pixels.end());
    }
    const auto v = embedder.embed_pixels(pixels.data(), batch.size(), /*normalize=*/true);
    for (size_t i = 0; i < batch.size(); ++i) std::copy_n(v.begin() + i * d, d, out.begin() + batch[i].index * d);
  });
  return out;
}

RetrievalReport evaluate_retrieval(const pipeline::Embedder& embedder, const CaptionSet& data, const std::vector<int>& ks,
                                   size_t threads) {
  RetrievalReport r;
  const size_t d = static_cast<size_t>(embedder.dim());
  auto t0 = Clock::now();
  const auto images = embed_image_files(embedder, data.images, threads);
  r.images_per_second = data.images.size() / seconds_since(t0);
  t0 = Clock::now();
  const auto texts = embed_texts_batched(embedder, data.captions);
  r.texts_per_second = data.captions.size() / seconds_since(t0);
  const auto sim = similarities(texts, data.captions.size(), images, data.images.size(), d);
  r.metrics = retrieval_metrics(sim, data.captions.size(), data.images.size(), data.caption_image, ks);
  return r;
}

ZeroShotReport evaluate_zeroshot(const pipeline::Embedder& embedder, const ClassFolders& data, search::PromptSet prompts,
                                 const std::string& cache_dir, const std::vector<int>& ks, size_t threads) {
  // Classes come from the folder names, in folder order; the prompt set supplies templates.
  prompts.classes.clear();
  for (const auto& c : data.classes) prompts.classes.push_back({c});
  search::ZeroShotClassifier clf(embedder, std::move(prompts), cache_dir);
  ZeroShotReport r;
  r.images = data.images.size();
  r.classes = data.classes.size();
  const auto t0 = Clock::now();
  const auto images = embed_image_files(embedder, data.images, threads);
  r.images_per_second = r.images / seconds_since(t0);
  const auto scores = similarities(images, r.images, clf.class_embeddings(), r.classes, static_cast<size_t>(embedder.dim()));
  r.accuracy = topk_accuracy(scores, r.images, r.classes, data.labels, ks);
  return r;
}

}  // namespace clipdex::eval
