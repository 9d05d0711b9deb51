#include "train/towers.h"

#include <algorithm>

#include "core/error.h"
#include "kernels/cpu_ops.h"
#include "train/linalg.h"

namespace clipdex::train {
namespace {

std::vector<float> take(model::Checkpoint& ck, const std::string& name, const std::vector<int64_t>& shape) {
  return std::move(ck.take(name, shape).data);
}

LayerNormWeights layer_norm(model::Checkpoint& ck, const std::string& prefix, int64_t dim, float eps) {
  return {take(ck, prefix + ".weight", {dim}), take(ck, prefix + ".bias", {dim}), eps};
}

FrozenLinear linear(model::Checkpoint& ck, const std::string& prefix, int64_t out, int64_t in) {
  return {take(ck, prefix + ".weight", {out, in}), take(ck, prefix + ".bias", {out}), out, in, {}};
}

// Attaches the adapter's tensor for `module` (if any) to rows [row0, row0 + out) of `layer`.
void attach(FrozenLinear& layer, const std::string& module, int64_t row0, int64_t out, LoraSet& lora,
            std::map<std::string, bool>& used, bool& any) {
  LoraTensor* t = lora.find(module);
  if (!t) return;
  if (t->out != out || t->in != layer.in)
    throw_input("LoRA module {} is [{} x {}], the model's layer is [{} x {}]", module, t->out, t->in, out, layer.in);
  layer.lora.push_back({t, lora.scale(), row0});
  used[module] = true;
  any = true;
}

}  // namespace

void TrainableTransformer::module_shapes(const std::string& hf_prefix, int64_t width, int64_t layers, int64_t mlp_width,
                                         std::map<std::string, std::pair<int64_t, int64_t>>& out) {
  for (int64_t i = 0; i < layers; ++i) {
    const std::string p = hf_prefix + ".encoder.layers." + std::to_string(i) + ".";
    for (const char* m : {"q_proj", "k_proj", "v_proj", "out_proj"}) out[p + "self_attn." + m] = {width, width};
    out[p + "mlp.fc1"] = {mlp_width, width};
    out[p + "mlp.fc2"] = {width, mlp_width};
  }
}

TrainableTransformer TrainableTransformer::load(model::Checkpoint& ck, const std::string& prefix,
                                                const std::string& hf_prefix, int64_t width, int64_t layers,
                                                int64_t heads, int64_t mlp_width, bool quick_gelu, float eps,
                                                LoraSet& lora, std::map<std::string, bool>& used) {
  TrainableTransformer t;
  for (int64_t i = 0; i < layers; ++i) {
    const std::string p = prefix + "." + std::to_string(i);
    const std::string hf = hf_prefix + ".encoder.layers." + std::to_string(i) + ".";
    Block b;
    b.width = width;
    b.heads = heads;
    b.quick_gelu = quick_gelu;
    b.ln_1 = layer_norm(ck, p + ".ln_1", width, eps);
    b.ln_2 = layer_norm(ck, p + ".ln_2", width, eps);
    b.in_proj = {take(ck, p + ".attn.in_proj_weight", {3 * width, width}), take(ck, p + ".attn.in_proj_bias", {3 * width}),
                 3 * width, width, {}};
    b.out_proj = linear(ck, p + ".attn.out_proj", width, width);
    b.fc = linear(ck, p + ".mlp.c_fc", mlp_width, width);
    b.proj = linear(ck, p + ".mlp.c_proj", width, mlp_width);
    bool any = false;
    attach(b.in_proj, hf + "self_attn.q_proj", 0, width, lora, used, any);
    attach(b.in_proj, hf + "self_attn.k_proj", width, width, lora, used, any);
    attach(b.in_proj, hf + "self_attn.v_proj", 2 * width, width, lora, used, any);
    attach(b.out_proj, hf + "self_attn.out_proj", 0, width, lora, used, any);
    attach(b.fc, hf + "mlp.fc1", 0, mlp_width, lora, used, any);
    attach(b.proj, hf + "mlp.fc2", 0, width, lora, used, any);
    if (any && t.lowest_trained < 0) t.lowest_trained = i;
    t.blocks.push_back(std::move(b));
  }
  return t;
}

void TrainableTransformer::forward(std::vector<float>& x, const Sequences& seqs, bool causal,
                                   std::vector<Block::Cache>& caches) const {
  caches.resize(blocks.size());
  for (size_t i = 0; i < blocks.size(); ++i) {
    // Below the lowest trained block nothing needs a backward pass: those share one slot.
    const bool kept = lowest_trained >= 0 && static_cast<int64_t>(i) >= lowest_trained;
    blocks[i].forward(x, seqs, causal, caches[kept ? i : blocks.size() - 1]);
  }
}

void TrainableTransformer::backward(std::vector<float>& dx, const Sequences& seqs, const std::vector<Block::Cache>& caches,
                                    Block::Scratch& scratch) const {
  if (lowest_trained < 0) return;
  for (int64_t i = static_cast<int64_t>(blocks.size()) - 1; i >= lowest_trained; --i)
    blocks[static_cast<size_t>(i)].backward(dx, seqs, caches[static_cast<size_t>(i)], scratch);
}

VisionTrainer VisionTrainer::load(model::Checkpoint& ck, const model::ModelConfig& cfg, LoraSet& lora,
                                  std::map<std::string, bool>& used) {
  if (!cfg.has_image || cfg.vision.kind != model::VisionKind::ViT)
    throw InputError("fine-tuning needs a ViT image tower (ModifiedResNet and text-only models are not supported)");
  VisionTrainer v;
  v.cfg_ = cfg.vision;
  v.embed_dim_ = cfg.embed_dim;
  const int64_t w = v.cfg_.width, p = v.cfg_.patch_size;
  v.patch_weight_ = take(ck, "visual.conv1.weight", {w, 3, p, p});
  v.class_embedding_ = take(ck, "visual.class_embedding", {w});
  v.positional_embedding_ = take(ck, "visual.positional_embedding", {v.cfg_.tokens(), w});
  v.ln_pre_ = layer_norm(ck, "visual.ln_pre", w, cfg.layer_norm_eps);
  v.ln_post_ = layer_norm(ck, "visual.ln_post", w, cfg.layer_norm_eps);
  v.proj_ = take(ck, "visual.proj", {w, cfg.embed_dim});
  v.transformer_ = TrainableTransformer::load(ck, "visual.transformer.resblocks", "vision_model", w, v.cfg_.layers,
                                              v.cfg_.heads(), v.cfg_.mlp_width, cfg.quick_gelu, cfg.layer_norm_eps, lora, used);
  return v;
}

std::vector<float> VisionTrainer::forward(const float* pixels, int64_t n, Cache& c) const {
  const int64_t w = cfg_.width, p = cfg_.patch_size, g = cfg_.grid();
  const int64_t tokens = cfg_.tokens(), patches = g * g, k = 3 * p * p;
  std::vector<float> cols(static_cast<size_t>(n * patches * k));
  kernels::flatten_patches(pixels, {n, cfg_.image_size, p}, cols.data());
  std::vector<float> emb(static_cast<size_t>(n * patches * w));
  gemm(false, true, n * patches, w, k, 1.0f, cols.data(), k, patch_weight_.data(), k, 0.0f, emb.data(), w);
  c.seqs = Sequences{};
  for (int64_t img = 0; img < n; ++img) c.seqs.offsets.push_back((img + 1) * tokens);
  std::vector<float> x(static_cast<size_t>(n * tokens * w));
  kernels::assemble_vit_tokens(emb.data(), class_embedding_.data(), positional_embedding_.data(), n, tokens, w, x.data());
  LayerNormWeights::Cache unused;  // nothing below ln_pre trains
  ln_pre_.forward(x.data(), n * tokens, x.data(), unused);
  transformer_.forward(x, c.seqs, /*causal=*/false, c.blocks);
  std::vector<float> cls(static_cast<size_t>(n * w));
  for (int64_t img = 0; img < n; ++img)
    std::copy_n(x.data() + img * tokens * w, w, cls.data() + img * w);
  c.pooled.resize(static_cast<size_t>(n * w));
  ln_post_.forward(cls.data(), n, c.pooled.data(), c.ln_post);
  std::vector<float> out(static_cast<size_t>(n * embed_dim_));
  gemm(false, false, n, embed_dim_, w, 1.0f, c.pooled.data(), w, proj_.data(), embed_dim_, 0.0f, out.data(), embed_dim_);
  return out;
}

void VisionTrainer::backward(const float* d_features, int64_t n, Cache& c) const {
  const int64_t w = cfg_.width, tokens = cfg_.tokens();
  std::vector<float> d_pooled(static_cast<size_t>(n * w)), d_cls(static_cast<size_t>(n * w));
  gemm(false, true, n, w, embed_dim_, 1.0f, d_features, embed_dim_, proj_.data(), embed_dim_, 0.0f, d_pooled.data(), w);
  ln_post_.backward(d_pooled.data(), n, c.ln_post, d_cls.data());
  std::vector<float> dx(static_cast<size_t>(n * tokens * w), 0.0f);
  for (int64_t img = 0; img < n; ++img) std::copy_n(d_cls.data() + img * w, w, dx.data() + img * tokens * w);
  transformer_.backward(dx, c.seqs, c.blocks, c.scratch);
}

TextTrainer TextTrainer::load(model::Checkpoint& ck, const model::ModelConfig& cfg, LoraSet& lora,
                              std::map<std::string, bool>& used) {
  if (cfg.text_kind != model::TextKind::Clip) throw InputError("fine-tuning needs a CLIP text tower (not XLM-R)");
  TextTrainer t;
  t.cfg_ = cfg.text;
  t.embed_dim_ = cfg.embed_dim;
  const int64_t w = t.cfg_.width;
  t.token_embedding_ = take(ck, "token_embedding.weight", {t.cfg_.vocab_size, w});
  t.positional_embedding_ = take(ck, "positional_embedding", {t.cfg_.context_length, w});
  t.ln_final_ = layer_norm(ck, "ln_final", w, cfg.layer_norm_eps);
  t.proj_ = take(ck, "text_projection", {w, cfg.embed_dim});
  t.transformer_ = TrainableTransformer::load(ck, "transformer.resblocks", "text_model", w, t.cfg_.layers, t.cfg_.heads,
                                              t.cfg_.mlp_width, cfg.quick_gelu, cfg.layer_norm_eps, lora, used);
  return t;
}

std::vector<float> TextTrainer::forward(const int32_t* ids, int64_t n, int64_t context, Cache& c) const {
  const int64_t w = cfg_.width;
  if (context <= 0 || context > cfg_.context_length)
    throw_input("token sequences of length {} do not fit the model's context of {}", context, cfg_.context_length);
  // Each sequence runs up to its end-of-text token (the highest id): under the causal mask later
  // positions never reach it.
  c.seqs = Sequences{};
  c.eot.assign(static_cast<size_t>(n), 0);
  for (int64_t s = 0; s < n; ++s) {
    const int32_t* row = ids + s * context;
    for (int64_t i = 0; i < context; ++i)
      if (row[i] < 0 || row[i] >= cfg_.vocab_size) throw_input("token id {} is outside the vocabulary", row[i]);
    c.eot[s] = std::max_element(row, row + context) - row;
    c.seqs.offsets.push_back(c.seqs.offsets.back() + c.eot[s] + 1);
  }
  std::vector<float> x(static_cast<size_t>(c.seqs.rows() * w));
  for (int64_t s = 0; s < n; ++s)
    for (int64_t i = 0; i < c.seqs.length(s); ++i) {
      const float* tok = token_embedding_.data() + static_cast<int64_t>(ids[s * context + i]) * w;
      const float* pos = positional_embedding_.data() + i * w;
      float* dst = x.data() + (c.seqs.offsets[s] + i) * w;
      for (int64_t j = 0; j < w; ++j) dst[j] = tok[j] + pos[j];
    }
  transformer_.forward(x, c.seqs, /*causal=*/true, c.blocks);
  std::vector<float> last(static_cast<size_t>(n * w));
  for (int64_t s = 0; s < n; ++s) std::copy_n(x.data() + (c.seqs.offsets[s] + c.eot[s]) * w, w, last.data() + s * w);
  c.pooled.resize(static_cast<size_t>(n * w));
  ln_final_.forward(last.data(), n, c.pooled.data(), c.ln_final);
  std::vector<float> out(static_cast<size_t>(n * embed_dim_));
  gemm(false, false, n, embed_dim_, w, 1.0f, c.pooled.data(), w, proj_.data(), embed_dim_, 0.0f, out.data(), embed_dim_);
  return out;
}

void TextTrainer::backward(const float* d_features, int64_t n, Cache& c) const {
  const int64_t w = cfg_.width;
  std::vector<float> d_pooled(static_cast<size_t>(n * w)), d_last(static_cast<size_t>(n * w));
  gemm(false, true, n, w, embed_dim_, 1.0f, d_features, embed_dim_, proj_.data(), embed_dim_, 0.0f, d_pooled.data(), w);
  ln_final_.backward(d_pooled.data(), n, c.ln_final, d_last.data());
  std::vector<float> dx(static_cast<size_t>(c.seqs.rows() * w), 0.0f);
  for (int64_t s = 0; s < n; ++s) std::copy_n(d_last.data() + s * w, w, dx.data() + (c.seqs.offsets[s] + c.eot[s]) * w);
  transformer_.backward(dx, c.seqs, c.blocks, c.scratch);
}

}  // namespace clipdex::train
