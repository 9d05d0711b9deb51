// ViT image tower: patch embedding (a convolution with stride = kernel, run as one GEMM over
// flattened patches), class token, positional embedding, ln_pre, transformer, ln_post on the
// class token, projection.
#include "model/towers.h"
#include "model/vit_input.h"

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
    const int64_t w = cfg_.width, p = cfg_.patch_size, g = cfg_.grid();
    const int64_t tokens = cfg_.tokens(), patches = g * g, k = 3 * p * p;
    Tensor cols({n * patches, k});
    flatten_patches(pixels, n, cfg_, cols.ptr());
    Tensor emb({n * patches, w});
    be.linear(cols.ptr(), n * patches, patch_, emb.ptr());

    SequenceLayout seqs;
    for (int64_t img = 0; img <= n; ++img) seqs.offsets.push_back(img * tokens);
    Tensor x({n * tokens, w});
    assemble_tokens(emb.ptr(), class_embedding_.ptr(), positional_embedding_.ptr(), n, cfg_, x.ptr());
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
