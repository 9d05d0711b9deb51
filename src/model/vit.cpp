// ViT image tower: patch embedding (a convolution with stride = kernel, run as one GEMM over
// flattened patches), class token, positional embedding, ln_pre, transformer, ln_post on the
// class token, projection.
#include "model/towers.h"

namespace clipdex::model {
namespace {

class VisionTransformer final : public ImageTower {
 public:
  VisionTransformer(Checkpoint& ck, Backend& be, const ModelConfig& cfg) : cfg_(cfg.vision), embed_dim_(cfg.embed_dim) {
    const int64_t w = cfg_.width, p = cfg_.patch_size;
    patch_.weight = ck.take("visual.conv1.weight", {w, 3, p, p});
    patch_.weight.shape = {w, 3 * p * p};  // [out, c*kh*kw] matches the flattened patch order
    patch_.keep_precise = true;
    be.prepare(patch_);
    class_embedding_ = ck.take("visual.class_embedding", {w});
    positional_embedding_ = ck.take("visual.positional_embedding", {cfg_.tokens(), w});
    ln_pre_ = LayerNorm::load(ck, "visual.ln_pre", w, cfg.layer_norm_eps);
    ln_post_ = LayerNorm::load(ck, "visual.ln_post", w, cfg.layer_norm_eps);
    proj_ = load_projection(ck, be, "visual.proj", w, cfg.embed_dim);
    transformer_ = Transformer::load(ck, be, "visual.transformer.resblocks", w, cfg_.layers, cfg_.heads(),
                                     cfg_.mlp_width, cfg.quick_gelu ? Activation::QuickGelu : Activation::Gelu,
                                     cfg.layer_norm_eps);
  }

  Tensor encode(Backend& be, const float* pixels, int64_t n) const override {
    const int64_t w = cfg_.width, p = cfg_.patch_size, g = cfg_.grid(), S = cfg_.image_size;
    const int64_t tokens = cfg_.tokens(), patches = g * g, k = 3 * p * p;
    // Flatten patches: row (img, gy, gx), columns (c, ky, kx) as in the conv weight.
    Tensor cols({n * patches, k});
    for (int64_t img = 0; img < n; ++img)
      for (int64_t gy = 0; gy < g; ++gy)
        for (int64_t gx = 0; gx < g; ++gx) {
          float* dst = cols.ptr() + ((img * g + gy) * g + gx) * k;
          for (int64_t c = 0; c < 3; ++c)
            for (int64_t ky = 0; ky < p; ++ky) {
              const float* src = pixels + ((img * 3 + c) * S + gy * p + ky) * S + gx * p;
              std::copy(src, src + p, dst + (c * p + ky) * p);
            }
        }
    Tensor emb({n * patches, w});
    be.linear(cols.ptr(), n * patches, patch_, emb.ptr());

    SequenceLayout seqs;
    for (int64_t img = 0; img <= n; ++img) seqs.offsets.push_back(img * tokens);
    Tensor x({n * tokens, w});
    for (int64_t img = 0; img < n; ++img)
      for (int64_t t = 0; t < tokens; ++t) {
        const float* src = t == 0 ? class_embedding_.ptr() : emb.ptr() + (img * patches + t - 1) * w;
        const float* pos = positional_embedding_.ptr() + t * w;
        float* dst = x.ptr() + (img * tokens + t) * w;
        for (int64_t j = 0; j < w; ++j) dst[j] = src[j] + pos[j];
      }
    ln_pre_.run(be, x.ptr(), n * tokens, x.ptr());
    transformer_.run(be, x, seqs, /*causal=*/false);
    Tensor pooled({n, w});
    for (int64_t img = 0; img < n; ++img) ln_post_.run(be, x.ptr() + img * tokens * w, 1, pooled.ptr() + img * w);
    Tensor out({n, embed_dim_});
    be.linear(pooled.ptr(), n, proj_, out.ptr());
    return out;
  }

 private:
  VisionConfig cfg_;
  int64_t embed_dim_;
  LinearWeights patch_;
  LinearWeights proj_;
  Tensor class_embedding_, positional_embedding_;
  LayerNorm ln_pre_, ln_post_;
  Transformer transformer_;
};

}  // namespace

std::unique_ptr<ImageTower> load_vit(Checkpoint& ck, Backend& be, const ModelConfig& cfg) {
  return std::make_unique<VisionTransformer>(ck, be, cfg);
}

}  // namespace clipdex::model
