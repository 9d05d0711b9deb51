// XLM-RoBERTa text tower (transformers' XLMRobertaModel as M-CLIP and open_clip use it):
//   x = LayerNorm(word[id] + position[p] + token_type[0]), p = pad + (running count of non-pad
//   tokens) so the first token has position pad + 1 = 2;
//   per layer (post-LN): x = LN(x + Attn(x)); x = LN(x + W2 gelu(W1 x + b1) + b2), exact GELU;
//   mean of the last hidden state over the non-pad tokens, then the projection head.
// Pad tokens are masked out as attention keys and left out of the mean, so they cannot change
// any other token: they are simply not run (each sequence is packed without them).
#include <algorithm>

#include "core/error.h"
#include "core/half.h"
#include "model/towers.h"

namespace clipdex::model {
namespace {

struct EncoderLayer {
  LinearWeights qkv, attn_out, inter, out;
  LayerNorm ln_attn, ln_out;
};

class XlmrTextTower : public TextTower {
 public:
  XlmrTextTower(Checkpoint& ck, HostBackend& be, const ModelConfig& cfg) : x_(cfg.xlmr), embed_dim_(cfg.embed_dim) {
    const std::string& p = x_.prefix;
    const int64_t h = x_.hidden;
    // Where the backend keeps tables in bf16 (bf16 and int8), so does the word table (250k x 768:
    // most of XLM-R base's weights), as the CLIP text tower's token table; it is read in pieces,
    // so no fp32 copy of it exists even while loading.
    if (be.table_type() == kernels::ElementType::BF16)
      word_bf16_ = ck.take_bf16(p + "embeddings.word_embeddings.weight", {x_.vocab, h});
    else
      word_ = ck.take(p + "embeddings.word_embeddings.weight", {x_.vocab, h});
    position_ = ck.take(p + "embeddings.position_embeddings.weight", {x_.max_positions, h});
    token_type_ = ck.take(p + "embeddings.token_type_embeddings.weight", {x_.type_vocab, h});
    ln_embed_ = LayerNorm::load(ck, be, p + "embeddings.LayerNorm", h, x_.eps);
    for (int i = 0; i < x_.layers; ++i) {
      const std::string l = p + "encoder.layer." + std::to_string(i) + ".";
      EncoderLayer e;
      // query | key | value as one [3h, h] projection, the layout the attention kernel takes.
      e.qkv.weight = Tensor({3 * h, h});
      e.qkv.bias = Tensor({3 * h});
      int64_t part = 0;
      for (const char* name : {"query", "key", "value"}) {
        const Tensor w = ck.take(l + "attention.self." + name + ".weight", {h, h});
        const Tensor b = ck.take(l + "attention.self." + name + ".bias", {h});
        std::copy(w.data.begin(), w.data.end(), e.qkv.weight.data.begin() + part * h * h);
        std::copy(b.data.begin(), b.data.end(), e.qkv.bias.data.begin() + part * h);
        ++part;
      }
      be.prepare(e.qkv);
      e.attn_out = load_linear(ck, be, l + "attention.output.dense", h, h);
      e.ln_attn = LayerNorm::load(ck, be, l + "attention.output.LayerNorm", h, x_.eps);
      e.inter = load_linear(ck, be, l + "intermediate.dense", x_.intermediate, h);
      e.out = load_linear(ck, be, l + "output.dense", h, x_.intermediate);
      e.ln_out = LayerNorm::load(ck, be, l + "output.LayerNorm", h, x_.eps);
      layers_.push_back(std::move(e));
    }
    const std::string& hp = x_.head_prefix;
    switch (x_.head) {
      case TextHead::LinearWithBias: head_ = load_linear(ck, be, hp, embed_dim_, h, true, true); break;
      case TextHead::Linear: head_ = load_linear(ck, be, hp, embed_dim_, h, /*with_bias=*/false, true); break;
      case TextHead::Mlp: {
        const auto mid = ck.shape(hp + ".0.weight");
        if (mid.size() != 2) throw_input("{}: {}.0.weight is not a matrix", ck.path(), hp);
        head_ = load_linear(ck, be, hp + ".0", mid[0], h, /*with_bias=*/false, /*keep_precise=*/true);
        head2_ = load_linear(ck, be, hp + ".2", embed_dim_, mid[0], /*with_bias=*/false, /*keep_precise=*/true);
        break;
      }
    }
  }

  Tensor encode(Backend& backend, const int32_t* ids, int64_t n, int64_t context, bool) const override {
    HostBackend& be = host_backend(backend);
    const int64_t h = x_.hidden;
    SequenceLayout seqs;
    seqs.offsets.push_back(0);
    std::vector<int32_t> tokens, positions;
    for (int64_t s = 0; s < n; ++s) {
      int32_t count = 0;
      for (int64_t i = 0; i < context; ++i) {
        const int32_t id = ids[s * context + i];
        if (id < 0 || id >= x_.vocab) throw_input("token id {} is outside the vocabulary of {}", id, x_.vocab);
        if (id == x_.pad_id) continue;
        const int32_t pos = x_.pad_id + ++count;
        if (pos >= x_.max_positions)
          throw_input("text of {}+ tokens is longer than the model's {} positions", count, x_.max_positions - x_.pad_id - 1);
        tokens.push_back(id);
        positions.push_back(pos);
      }
      if (count == 0) throw_input("a token sequence holds only padding");
      seqs.offsets.push_back(seqs.offsets.back() + count);
    }
    const int64_t t = seqs.tokens();
    Tensor x({t, h}), y({t, h}), qkv({t, 3 * h}), attn({t, h}), mid({t, static_cast<int64_t>(x_.intermediate)});
    for (int64_t i = 0; i < t; ++i) {
      const int64_t row = static_cast<int64_t>(tokens[i]) * h;
      const float* p = position_.ptr() + static_cast<int64_t>(positions[i]) * h;
      const float* ty = token_type_.ptr();  // token type 0
      float* dst = y.ptr() + i * h;
      if (word_bf16_.empty())
        for (int64_t j = 0; j < h; ++j) dst[j] = word_.ptr()[row + j] + p[j] + ty[j];
      else
        for (int64_t j = 0; j < h; ++j) dst[j] = bf16_to_f32(word_bf16_[row + j]) + p[j] + ty[j];
    }
    ln_embed_.run_f32(be, y.ptr(), t, x.ptr());
    for (const auto& e : layers_) {
      be.linear_f32(x.ptr(), t, e.qkv, qkv.ptr());
      be.attention_f32(qkv.ptr(), seqs, h, x_.heads, /*causal=*/false, attn.ptr());
      be.linear_f32(attn.ptr(), t, e.attn_out, y.ptr());
      for (int64_t i = 0; i < t * h; ++i) y.data[i] += x.data[i];
      e.ln_attn.run_f32(be, y.ptr(), t, x.ptr());
      be.linear_f32(x.ptr(), t, e.inter, mid.ptr(), Activation::Gelu);
      be.linear_f32(mid.ptr(), t, e.out, y.ptr());
      for (int64_t i = 0; i < t * h; ++i) y.data[i] += x.data[i];
      e.ln_out.run_f32(be, y.ptr(), t, x.ptr());
    }
    Tensor pooled({n, h});
    for (int64_t s = 0; s < n; ++s) {
      float* dst = pooled.ptr() + s * h;
      for (int64_t i = seqs.offsets[s]; i < seqs.offsets[s + 1]; ++i)
        for (int64_t j = 0; j < h; ++j) dst[j] += x.data[i * h + j];
      const float inv = 1.0f / static_cast<float>(seqs.length(s));
      for (int64_t j = 0; j < h; ++j) dst[j] *= inv;
    }
    Tensor out({n, embed_dim_});
    if (x_.head == TextHead::Mlp) {
      Tensor hidden({n, head_.out()});
      be.linear_f32(pooled.ptr(), n, head_, hidden.ptr(), Activation::Gelu);
      be.linear_f32(hidden.ptr(), n, head2_, out.ptr());
    } else {
      be.linear_f32(pooled.ptr(), n, head_, out.ptr());
    }
    return out;
  }

 private:
  XlmrConfig x_;
  int64_t embed_dim_;
  Tensor word_, position_, token_type_;
  std::vector<uint16_t> word_bf16_;  // the word table instead of word_'s data in bf16 / int8
  LayerNorm ln_embed_;
  std::vector<EncoderLayer> layers_;
  LinearWeights head_, head2_;
};

}  // namespace

std::unique_ptr<TextTower> load_xlmr_text(Checkpoint& ck, HostBackend& be, const ModelConfig& cfg) {
  return std::make_unique<XlmrTextTower>(ck, be, cfg);
}

}  // namespace clipdex::model
