// ViT image tower: patch embedding (a convolution with stride = kernel, run as one GEMM over
// flattened patches), class token, positional embedding, ln_pre, transformer, ln_post on the
// class token, projection.
#include "model/towers.h"

namespace clipdex::model {
namespace {

class VisionTransformer final : public ImageTower {
 public:
  VisionTransformer(Checkpoint& ck, Backend& be, const ModelConfig& cfg) : cfg_(cfg.vision) {
    const int64_t w = cfg_.width, p = cfg_.patch_size;
    patch_.weight = ck.take("visual.conv1.weight", {w, 3, p, p});
    patch_.weight.shape = {w, 3 * p * p};  // [out, c*kh*kw] matches the flattened patch order
    // Not keep_precise: int8 patch embedding measured 5% faster at batch 32 (Zen 5) for a min
    // cosine to PyTorch fp32 of 0.99971 instead of 0.99975 on the full-size random ViT-B/32.
    be.prepare(patch_);
    class_embedding_ = be.adopt(ck.take("visual.class_embedding", {w}));
    positional_embedding_ = be.adopt(ck.take("visual.positional_embedding", {cfg_.tokens(), w}));
    ln_pre_ = LayerNorm::load(ck, be, "visual.ln_pre", w, cfg.layer_norm_eps);
    ln_post_ = LayerNorm::load(ck, be, "visual.ln_post", w, cfg.layer_norm_eps);
    proj_ = load_projection(ck, be, "visual.proj", w, cfg.embed_dim);
    transformer_ = Transformer::load(ck, be, "visual.transformer.resblocks", w, cfg_.layers, cfg_.heads(),
                                     cfg_.mlp_width, cfg.quick_gelu ? Activation::QuickGelu : Activation::Gelu,
                                     cfg.layer_norm_eps, /*pooled_queries=*/true);
  }

  Tensor encode(Backend& be, const float* pixels, int64_t n) const override {
    const int64_t S = cfg_.image_size;
    const Buffer px = be.upload(pixels, n * 3 * S * S, Role::Work);
    return encode_uploaded(be, px.view, n);
  }

  Tensor encode_uploaded(Backend& be, View pixels, int64_t n) const override {
    const int64_t w = cfg_.width, tokens = cfg_.tokens(), S = cfg_.image_size;
    const kernels::PatchGeometry g{n, S, cfg_.patch_size};
    // Each buffer of the patch embedding is freed as soon as it is read, so that no more than
    // two are held at once: fewer bytes per image than the transformer's own buffers take.
    Buffer emb = be.alloc(g.patches() * w, Role::Work);
    {
      const Buffer cols = be.alloc(g.patches() * g.patch_values(), Role::GemmInput);
      be.patch_rows(pixels, g, cols.view);
      be.linear(cols.view, g.patches(), patch_, emb.view);
    }
    const Buffer x = be.alloc(n * tokens * w, Role::Stream);
    be.vit_tokens(emb.view, class_embedding_.view, positional_embedding_.view, n, tokens, w, x.view);
    emb = {};

    SequenceLayout seqs;
    std::vector<int64_t> class_rows;
    for (int64_t img = 0; img <= n; ++img) seqs.offsets.push_back(img * tokens);
    for (int64_t img = 0; img < n; ++img) class_rows.push_back(img * tokens);
    ln_pre_.run(be, x.view, n * tokens, x.view);
    const Buffer classes = transformer_.run_to_rows(be, x.view, seqs, /*causal=*/false, class_rows);
    return project_pooled(be, classes.view, n, w, ln_post_, proj_);
  }

 private:
  VisionConfig cfg_;
  LinearWeights patch_;
  LinearWeights proj_;
  Buffer class_embedding_, positional_embedding_;
  LayerNorm ln_pre_, ln_post_;
  Transformer transformer_;
};

}  // namespace

std::unique_ptr<ImageTower> load_vit(Checkpoint& ck, Backend& be, const ModelConfig& cfg) {
  return std::make_unique<VisionTransformer>(ck, be, cfg);
}

}  // namespace clipdex::model
