// clipdex::Model over pipeline::Embedder: the public face of loading and embedding.
#include <cstring>

#include "clipdex/clipdex.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "image/decode.h"
#include "image/preprocess.h"
#include "api/conversions.h"
#include "pipeline/embedder.h"
#include "pipeline/image_loader.h"

namespace clipdex {
namespace {

constexpr size_t kBatch = 32;

// Preprocessed pixels of n images, produced by `pixels_of(i)`, embedded kBatch at a time.
template <typename PixelsOf>
std::vector<float> embed_batches(const pipeline::Embedder& e, size_t n, bool normalize, PixelsOf pixels_of) {
  std::vector<float> out;
  out.reserve(n * static_cast<size_t>(e.dim()));
  std::vector<float> batch;
  for (size_t b = 0; b < n; b += kBatch) {
    const size_t m = std::min(kBatch, n - b);
    batch.clear();
    for (size_t i = b; i < b + m; ++i) {
      const auto px = pixels_of(i);
      batch.insert(batch.end(), px.begin(), px.end());
    }
    const auto v = e.embed_pixels(batch.data(), m, normalize);
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

}  // namespace

Model Model::open(const std::string& path, const ModelOptions& options) {
  const model::LoadOptions load = api::load_options(options);
  auto e = pipeline::Embedder::open(path, options.vocab, load, options.text_model);
  e->set_exact_decode(options.exact_decode);
  return Model(std::move(e), path, options);
}

int Model::dim() const { return impl_->dim(); }
int Model::image_size() const { return impl_->model().preprocess_config().size; }
std::string Model::id() const { return impl_->model_id(); }
std::string Model::precision() const { return impl_->model().info().precision; }
std::string Model::kernels() const { return impl_->model().info().kernels; }
std::string Model::device() const { return impl_->model().info().device; }
std::string Model::adapter() const { return impl_->model().info().adapter; }
std::string Model::adapter_summary() const { return impl_->model().info().adapter_summary; }
bool Model::has_image_tower() const { return impl_->model().has_image_tower(); }
void Model::check_text(const std::string& text) const { impl_->text_input().check(text); }

std::vector<float> Model::embed_texts(const std::vector<std::string>& texts, bool normalize) const {
  const ThreadPool::Limit limit(options_.threads);
  std::vector<float> out;
  for (size_t b = 0; b < texts.size(); b += kBatch) {
    const std::vector<std::string> part(texts.begin() + static_cast<std::ptrdiff_t>(b),
                                        texts.begin() + static_cast<std::ptrdiff_t>(std::min(texts.size(), b + kBatch)));
    const auto v = impl_->embed_texts(part, normalize);
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

std::vector<float> Model::embed_image_files(const std::vector<std::string>& paths, bool normalize) const {
  std::vector<std::string> errors;
  auto out = embed_image_files(paths, normalize, errors);
  for (const auto& e : errors)
    if (!e.empty()) throw InputError(e);
  return out;
}

std::vector<float> Model::embed_image_files(const std::vector<std::string>& paths, bool normalize,
                                            std::vector<std::string>& errors) const {
  const ThreadPool::Limit limit(options_.threads);
  if (!paths.empty() && !has_image_tower())
    throw InputError("this is a text-only model (M-CLIP): embed images with its image model");
  // Decoding runs on worker threads (pipeline::load_images); rows are put back in input order.
  const size_t dim = static_cast<size_t>(impl_->dim());
  std::vector<float> out(paths.size() * dim);
  errors.assign(paths.size(), "");
  pipeline::LoaderOptions lo;
  lo.batch_size = kBatch;
  lo.decode = impl_->decode_options();
  pipeline::load_images(paths, impl_->model().preprocess_config(), lo, [&](std::vector<pipeline::LoadedImage>& batch) {
    std::vector<float> pixels;
    std::vector<size_t> rows;
    for (const auto& item : batch) {
      if (!item.error.empty()) {
        errors[item.index] = item.error;
        continue;
      }
      pixels.insert(pixels.end(), item.pixels.begin(), item.pixels.end());
      rows.push_back(item.index);
    }
    if (rows.empty()) return;
    const auto v = impl_->embed_pixels(pixels.data(), rows.size(), normalize);
    for (size_t i = 0; i < rows.size(); ++i) std::memcpy(&out[rows[i] * dim], &v[i * dim], dim * sizeof(float));
  });
  return out;
}

std::vector<float> Model::embed_encoded_images(const std::vector<std::span<const uint8_t>>& files, bool normalize) const {
  const ThreadPool::Limit limit(options_.threads);
  const auto& cfg = impl_->model().preprocess_config();
  return embed_batches(*impl_, files.size(), normalize, [&](size_t i) {
    return image::preprocess(image::decode_image(files[i], impl_->decode_options(), "image " + std::to_string(i)), cfg);
  });
}

std::vector<float> Model::embed_rgb_images(const std::vector<RgbImage>& images, bool normalize) const {
  const ThreadPool::Limit limit(options_.threads);
  const auto& cfg = impl_->model().preprocess_config();
  return embed_batches(*impl_, images.size(), normalize, [&](size_t i) {
    const RgbImage& in = images[i];
    if (!in.pixels || in.width <= 0 || in.height <= 0)
      throw_input("RGB image {} has no pixels ({}x{})", i, in.width, in.height);
    const size_t row = static_cast<size_t>(in.width) * 3;
    const size_t stride = in.stride ? in.stride : row;
    if (stride < row) throw_input("RGB image {}: stride {} is shorter than a row ({} bytes)", i, stride, row);
    image::Image im;
    im.width = in.width;
    im.height = in.height;
    im.mode = image::PixelMode::RGB;
    im.pixels.resize(row * static_cast<size_t>(in.height));
    for (int y = 0; y < in.height; ++y) std::memcpy(&im.pixels[y * row], in.pixels + static_cast<size_t>(y) * stride, row);
    return image::preprocess(im, cfg);
  });
}

}  // namespace clipdex
