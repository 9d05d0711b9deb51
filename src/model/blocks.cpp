#include "model/blocks.h"

#include <algorithm>

#include "core/error.h"
#include "model/towers.h"

namespace clipdex::model {

LayerNorm LayerNorm::load(Checkpoint& ck, Backend& be, const std::string& prefix, int64_t dim, float eps) {
  return {be.adopt(ck.take(prefix + ".weight", {dim})), be.adopt(ck.take(prefix + ".bias", {dim})), eps};
}

void LayerNorm::run(Backend& be, View x, int64_t rows, View y) const {
  be.layer_norm(x, rows, gamma.count, gamma.view, beta.view, eps, y);
}

void LayerNorm::run_linear(Backend& be, View x, int64_t rows, View h, const LinearWeights& w, View y,
                           Activation act) const {
  be.layer_norm_linear(x, rows, gamma.count, gamma.view, beta.view, eps, h, w, y, act);
}

void LayerNorm::run_f32(HostBackend& be, const float* x, int64_t rows, float* y) const {
  be.layer_norm_f32(x, rows, gamma.count, gamma.view.f32(), beta.view.f32(), eps, y);
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

namespace {

// Output rows [begin, end) of an unpacked linear layer, with their biases.
LinearWeights rows_of(const LinearWeights& w, int64_t begin, int64_t end) {
  const int64_t in = w.in();
  LinearWeights part;
  part.weight = Tensor({end - begin, in}, {w.weight.data.begin() + begin * in, w.weight.data.begin() + end * in});
  if (!w.bias.empty()) part.bias = Tensor({end - begin}, {w.bias.data.begin() + begin, w.bias.data.begin() + end});
  part.keep_precise = w.keep_precise;
  return part;
}

}  // namespace

Transformer Transformer::load(Checkpoint& ck, Backend& be, const std::string& prefix, int64_t width, int64_t layers,
                              int64_t heads, int64_t mlp_width, Activation act, float eps, bool pooled_queries) {
  Transformer t;
  t.width = width;
  t.heads = heads;
  t.act = act;
  for (int64_t i = 0; i < layers; ++i) {
    const std::string p = prefix + "." + std::to_string(i);
    ResidualAttentionBlock b;
    b.ln_1 = LayerNorm::load(ck, be, p + ".ln_1", width, eps);
    b.ln_2 = LayerNorm::load(ck, be, p + ".ln_2", width, eps);
    b.in_proj.weight = ck.take(p + ".attn.in_proj_weight", {3 * width, width});
    b.in_proj.bias = ck.take(p + ".attn.in_proj_bias", {3 * width});
    if (pooled_queries && i + 1 == layers && be.attends_pooled_rows()) {
      b.q_proj = rows_of(b.in_proj, 0, width);
      b.kv_proj = rows_of(b.in_proj, width, 3 * width);
      b.in_proj = {};
      be.prepare(b.q_proj);
      be.prepare(b.kv_proj);
    } else {
      be.prepare(b.in_proj);
    }
    b.out_proj = load_linear(ck, be, p + ".attn.out_proj", width, width);
    b.fc = load_linear(ck, be, p + ".mlp.c_fc", mlp_width, width);
    b.proj = load_linear(ck, be, p + ".mlp.c_proj", width, mlp_width);
    t.blocks.push_back(std::move(b));
  }
  return t;
}

// Two buffers serve the block, each holding what two ops make in turn: the layer norm's rows
// (read by the next linear layer) or attention's output (read by out_proj), and q|k|v (read by
// attention) or the MLP's hidden rows (read by c_proj). Neither pair is ever live at once, so
// a token needs 5 widths of scratch (ViT-B/32: 1 + 4) where a buffer for each took 9.
struct Transformer::Scratch {
  Buffer normed_or_attn, qkv_or_hidden;
};

void Transformer::attend(Backend& be, const ResidualAttentionBlock& b, View x, const SequenceLayout& seqs, bool causal,
                         const Scratch& s) const {
  const int64_t n = seqs.tokens();
  b.ln_1.run_linear(be, x, n, s.normed_or_attn.view, b.in_proj, s.qkv_or_hidden.view);
  be.attention(s.qkv_or_hidden.view, seqs, width, heads, causal, s.normed_or_attn.view);
}

void Transformer::finish(Backend& be, const ResidualAttentionBlock& b, View attn, View x, int64_t rows,
                         const Scratch& s) const {
  // x = x + out_proj(attn); then x = x + c_proj(act(c_fc(ln_2(x))))
  be.linear(attn, rows, b.out_proj, x, Activation::None, /*accumulate=*/true);
  b.ln_2.run_linear(be, x, rows, s.normed_or_attn.view, b.fc, s.qkv_or_hidden.view, act);
  be.linear(s.qkv_or_hidden.view, rows, b.proj, x, Activation::None, /*accumulate=*/true);
}

void Transformer::attend_pooled(Backend& be, const ResidualAttentionBlock& b, View x, View picked,
                                const SequenceLayout& seqs, bool causal, const std::vector<int64_t>& rows, View attn,
                                const Scratch& s) const {
  const int64_t n = seqs.tokens(), r = static_cast<int64_t>(rows.size());
  b.ln_1.run_linear(be, x, n, s.normed_or_attn.view, b.kv_proj, s.qkv_or_hidden.view);
  const Buffer q = be.alloc(r * width, Role::GemmInput);
  b.ln_1.run_linear(be, picked, r, s.normed_or_attn.view, b.q_proj, q.view);
  be.attention_pooled(q.view, s.qkv_or_hidden.view, seqs, rows, width, heads, causal, attn);
}

Buffer Transformer::run_to_rows(Backend& be, View x, const SequenceLayout& seqs, bool causal,
                                const std::vector<int64_t>& rows) const {
  const int64_t n = seqs.tokens(), r = static_cast<int64_t>(rows.size());
  Buffer picked = be.alloc(r * width, Role::Stream);
  if (blocks.empty()) {
    be.gather_rows(x, rows, width, picked.view);
    return picked;
  }
  const int64_t shared_width = std::max(3 * width, blocks[0].fc.out());
  const Scratch s{be.alloc(n * width, Role::GemmInput), be.alloc(n * shared_width, Role::GemmInput)};
  for (size_t i = 0; i + 1 < blocks.size(); ++i) {
    attend(be, blocks[i], x, seqs, causal, s);
    finish(be, blocks[i], s.normed_or_attn.view, x, n, s);
  }
  // The last block: attention needs every row's keys and values, the rest only the pooled rows.
  be.gather_rows(x, rows, width, picked.view);
  const Buffer pooled_attn = be.alloc(r * width, Role::GemmInput);
  const ResidualAttentionBlock& last = blocks.back();
  if (last.splits_qkv()) {
    attend_pooled(be, last, x, picked.view, seqs, causal, rows, pooled_attn.view, s);
  } else {
    attend(be, last, x, seqs, causal, s);
    be.gather_rows(s.normed_or_attn.view, rows, width, pooled_attn.view);
  }
  finish(be, last, pooled_attn.view, picked.view, r, s);
  return picked;
}

Tensor project_pooled(Backend& be, View pooled, int64_t rows, int64_t width, const LayerNorm& ln,
                      const LinearWeights& proj) {
  const Buffer normed = be.alloc(rows * width, Role::Work);
  ln.run(be, pooled, rows, normed.view);
  const Buffer out = be.alloc(rows * proj.out(), Role::Stream);
  be.linear(normed.view, rows, proj, out.view);
  Tensor result({rows, proj.out()});
  be.download(out.view, result.numel(), result.ptr());
  return result;
}

Tensor ImageTower::encode_uploaded(Backend& be, View, int64_t) const {
  throw Error("this image tower runs on host memory only; " + be.name() + " cannot take its pixels");
}

HostBackend& host_backend(Backend& be) {
  auto* host = dynamic_cast<HostBackend*>(&be);
  if (!host) throw Error(be.name() + " cannot run a tower that works on host memory");
  return *host;
}

int count_layers(const Checkpoint& ck, const std::string& prefix, const std::string& probe) {
  int n = 0;
  while (ck.has(prefix + "." + std::to_string(n) + "." + probe)) ++n;
  return n;
}

}  // namespace clipdex::model
