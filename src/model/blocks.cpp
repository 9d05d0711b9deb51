#include "model/blocks.h"

#include "core/thread_pool.h"

namespace clipdex::model {

LayerNorm LayerNorm::load(Checkpoint& ck, const std::string& prefix, int64_t dim, float eps) {
  return {ck.take(prefix + ".weight", {dim}), ck.take(prefix + ".bias", {dim}), eps};
}

void LayerNorm::run(Backend& be, const float* x, int64_t rows, float* y) const {
  be.layer_norm(x, rows, gamma.numel(), gamma.ptr(), beta.ptr(), eps, y);
}

LinearWeights load_linear(Checkpoint& ck, Backend& be, const std::string& prefix, int64_t out, int64_t in,
                          bool with_bias, bool keep_precise) {
  LinearWeights w;
  w.keep_precise = keep_precise;
  w.weight = ck.take(prefix + ".weight", {out, in});
  if (with_bias) w.bias = ck.take(prefix + ".bias", {out});
  be.prepare(w);
  return w;
}

LinearWeights load_projection(Checkpoint& ck, Backend& be, const std::string& name, int64_t in, int64_t out) {
  const Tensor p = ck.take(name, {in, out});
  LinearWeights w;
  w.weight = Tensor({out, in});
  w.keep_precise = true;  // the embedding itself: reduced precision here shows in every score
  for (int64_t i = 0; i < in; ++i)
    for (int64_t o = 0; o < out; ++o) w.weight.data[o * in + i] = p.data[i * out + o];
  be.prepare(w);
  return w;
}

Transformer Transformer::load(Checkpoint& ck, Backend& be, const std::string& prefix, int64_t width, int64_t layers,
                              int64_t heads, int64_t mlp_width, Activation act, float eps) {
  Transformer t;
  t.width = width;
  t.heads = heads;
  t.act = act;
  for (int64_t i = 0; i < layers; ++i) {
    const std::string p = prefix + "." + std::to_string(i);
    ResidualAttentionBlock b;
    b.ln_1 = LayerNorm::load(ck, p + ".ln_1", width, eps);
    b.ln_2 = LayerNorm::load(ck, p + ".ln_2", width, eps);
    b.in_proj.weight = ck.take(p + ".attn.in_proj_weight", {3 * width, width});
    b.in_proj.bias = ck.take(p + ".attn.in_proj_bias", {3 * width});
    be.prepare(b.in_proj);
    b.out_proj = load_linear(ck, be, p + ".attn.out_proj", width, width);
    b.fc = load_linear(ck, be, p + ".mlp.c_fc", mlp_width, width);
    b.proj = load_linear(ck, be, p + ".mlp.c_proj", width, mlp_width);
    t.blocks.push_back(std::move(b));
  }
  return t;
}

void Transformer::run(Backend& be, Tensor& x, const SequenceLayout& seqs, bool causal) const {
  const int64_t n = seqs.tokens();
  Tensor h({n, width}), qkv({n, 3 * width}), attn({n, width}), mid;
  for (const auto& b : blocks) {
    // x = x + out_proj(attention(ln_1(x)))
    b.ln_1.run(be, x.ptr(), n, h.ptr());
    be.linear(h.ptr(), n, b.in_proj, qkv.ptr());
    be.attention(qkv.ptr(), seqs, width, heads, causal, attn.ptr());
    be.linear(attn.ptr(), n, b.out_proj, h.ptr());
    for (int64_t i = 0; i < n * width; ++i) x.data[i] += h.data[i];
    // x = x + c_proj(act(c_fc(ln_2(x))))
    b.ln_2.run(be, x.ptr(), n, h.ptr());
    if (mid.numel() != n * b.fc.out()) mid = Tensor({n, b.fc.out()});
    be.linear(h.ptr(), n, b.fc, mid.ptr(), act);
    be.linear(mid.ptr(), n, b.proj, h.ptr());
    for (int64_t i = 0; i < n * width; ++i) x.data[i] += h.data[i];
  }
}

int count_layers(const Checkpoint& ck, const std::string& prefix, const std::string& probe) {
  int n = 0;
  while (ck.has(prefix + "." + std::to_string(n) + "." + probe)) ++n;
  return n;
}

}  // namespace clipdex::model
