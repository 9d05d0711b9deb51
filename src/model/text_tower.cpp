// Text tower: token + positional embedding, causal pre-LN transformer, ln_final, the features
// at the end-of-text token, text projection. Each sequence runs only up to its end-of-text
// token: later positions cannot influence it under the causal mask.
#include <algorithm>

#include "core/error.h"
#include "model/towers.h"

namespace clipdex::model {

std::unique_ptr<TextTower> ClipTextTower::load(Checkpoint& ck, Backend& be, const ModelConfig& cfg) {
  const auto& t = cfg.text;
  auto p = std::make_unique<ClipTextTower>();
  auto& tt = *p;
  tt.width_ = t.width;
  tt.vocab_ = t.vocab_size;
  tt.context_ = t.context_length;
  const std::vector<int64_t> table_shape{t.vocab_size, t.width};
  tt.token_embedding_ = be.table_type() == kernels::ElementType::BF16
                            ? be.adopt_table_bf16(ck.take_bf16("token_embedding.weight", table_shape))
                            : be.adopt_table(ck.take("token_embedding.weight", table_shape));
  tt.positional_embedding_ = be.adopt(ck.take("positional_embedding", {t.context_length, t.width}));
  tt.ln_final_ = LayerNorm::load(ck, be, "ln_final", t.width, cfg.layer_norm_eps);
  tt.projection_ = load_projection(ck, be, "text_projection", t.width, cfg.embed_dim);
  tt.transformer_ = Transformer::load(ck, be, "transformer.resblocks", t.width, t.layers, t.heads, t.mlp_width,
                                      cfg.quick_gelu ? Activation::QuickGelu : Activation::Gelu, cfg.layer_norm_eps);
  return p;
}

Tensor ClipTextTower::encode(Backend& be, const int32_t* ids, int64_t n, int64_t context, bool full_context) const {
  if (context <= 0 || context > context_)
    throw_input("token sequences of length {} do not fit the model's context of {}", context, context_);
  SequenceLayout seqs;
  seqs.offsets.push_back(0);
  std::vector<int64_t> eot(static_cast<size_t>(n));
  for (int64_t s = 0; s < n; ++s) {
    const int32_t* row = ids + s * context;
    for (int64_t i = 0; i < context; ++i)
      if (row[i] < 0 || row[i] >= vocab_) throw_input("token id {} is outside the vocabulary of {}", row[i], vocab_);
    eot[s] = std::max_element(row, row + context) - row;  // first occurrence of the highest id
    seqs.offsets.push_back(seqs.offsets.back() + (full_context ? context : eot[s] + 1));
  }
  std::vector<int32_t> rows_ids, rows_positions;
  std::vector<int64_t> eot_rows;
  for (int64_t s = 0; s < n; ++s) {
    for (int64_t i = 0; i < seqs.length(s); ++i) {
      rows_ids.push_back(ids[s * context + i]);
      rows_positions.push_back(static_cast<int32_t>(i));
    }
    eot_rows.push_back(seqs.offsets[s] + eot[s]);
  }
  const Buffer x = be.alloc(seqs.tokens() * width_, Role::Stream);
  be.embed(token_embedding_.view, positional_embedding_.view, rows_ids, rows_positions, width_, x.view);
  const Buffer ends = transformer_.run_to_rows(be, x.view, seqs, /*causal=*/true, eot_rows);
  return project_pooled(be, ends.view, n, width_, ln_final_, projection_);
}

}  // namespace clipdex::model
