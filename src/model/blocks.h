#pragma once
// Shared building blocks, each loaded from canonical tensor names and run on a Backend:
// layer norm, linear, the pre-LN residual attention block and the transformer stack.
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "model/checkpoint.h"

namespace clipdex::model {

using kernels::Activation;
using kernels::Backend;
using kernels::Buffer;
using kernels::HostBackend;
using kernels::Role;
using kernels::View;
using kernels::LinearWeights;
using kernels::SequenceLayout;
using kernels::Tensor;

struct LayerNorm {
  Buffer gamma, beta;  // held by the backend that runs it
  float eps = 1e-5f;
  static LayerNorm load(Checkpoint& ck, Backend& be, const std::string& prefix, int64_t dim, float eps);
  void run(Backend& be, View x, int64_t rows, View y) const;
  // y = w(this(x)) (then act), h holding the normalised rows where the backend needs them.
  void run_linear(Backend& be, View x, int64_t rows, View h, const LinearWeights& w, View y,
                  Activation act = Activation::None) const;
  void run_f32(HostBackend& be, const float* x, int64_t rows, float* y) const;  // the CPU-only towers
};

// prefix "a.b" loads "a.b.weight" [out, in] and, if with_bias, "a.b.bias" [out].
// keep_precise: an output head or input layer that reduced-precision backends run in fp32.
LinearWeights load_linear(Checkpoint& ck, Backend& be, const std::string& prefix, int64_t out, int64_t in,
                          bool with_bias = true, bool keep_precise = false);

// A bias-free projection stored canonically as [in, out] (text_projection, visual.proj),
// loaded as a linear layer [out, in].
LinearWeights load_projection(Checkpoint& ck, Backend& be, const std::string& name, int64_t in, int64_t out);

struct ResidualAttentionBlock {
  LayerNorm ln_1, ln_2;
  // q | k | v; or, in a last block whose backend attends from the pooled rows alone
  // (attends_pooled_rows), its rows split into q_proj and kv_proj (in_proj then empty).
  LinearWeights in_proj, q_proj, kv_proj;
  LinearWeights out_proj, fc, proj;
  bool splits_qkv() const { return !q_proj.weight.shape.empty(); }
};

struct Transformer {
  int64_t width = 0, heads = 0;
  Activation act = Activation::QuickGelu;
  std::vector<ResidualAttentionBlock> blocks;

  // With pooled_queries, where the backend attends from pooled rows (attends_pooled_rows), the
  // last block makes queries for the pooled rows only (ViT-B/32: 0.7% of an image's products and
  // 1/12 of its attention). The text tower does not: its passes meet many row counts, each a
  // matmul oneDNN compiles and keeps (~70 KB), and a query's last block is a few rows.
  static Transformer load(Checkpoint& ck, Backend& be, const std::string& prefix, int64_t width, int64_t layers,
                          int64_t heads, int64_t mlp_width, Activation act, float eps, bool pooled_queries = false);
  // x: [tokens, width] (Role::Stream) for the packed sequences. Runs every block and returns the
  // rows a pooled head reads, packed as [rows.size(), width] (Role::Stream). The last block
  // finishes only those rows: after its attention no other row is read (one ViT-B/32 image:
  // 6% of the tower's products). x's other rows are left part-way through the last block.
  Buffer run_to_rows(Backend& be, View x, const SequenceLayout& seqs, bool causal,
                     const std::vector<int64_t>& rows) const;

 private:
  struct Scratch;
  // A block in two halves: attention over every row of x into the scratch, then the residual
  // adds and the MLP for `rows` rows (all of x, or the pooled rows gathered after the last block).
  void attend(Backend& be, const ResidualAttentionBlock& b, View x, const SequenceLayout& seqs, bool causal,
              const Scratch& s) const;
  void finish(Backend& be, const ResidualAttentionBlock& b, View attn, View x, int64_t rows, const Scratch& s) const;
  // The last block's attention for the pooled rows alone, into attn [rows, width]: k and v for
  // every row, q for those rows (picked: x's pooled rows, gathered).
  void attend_pooled(Backend& be, const ResidualAttentionBlock& b, View x, View picked, const SequenceLayout& seqs,
                     bool causal, const std::vector<int64_t>& rows, View attn, const Scratch& s) const;
};

// A tower's head: the pooled rows (a Role::Stream [rows, width]) -> layer norm -> projection,
// downloaded as [rows, proj.out()] (the ViT's class tokens, the text tower's end-of-text tokens).
Tensor project_pooled(Backend& be, View pooled, int64_t rows, int64_t width, const LayerNorm& ln,
                      const LinearWeights& proj);

// The host backend a CPU-only tower (ModifiedResNet, XLM-R) runs on; throws for a device backend.
HostBackend& host_backend(Backend& be);

// Number of blocks "<prefix>.<i>.<probe>" present in the checkpoint.
int count_layers(const Checkpoint& ck, const std::string& prefix, const std::string& probe);

}  // namespace clipdex::model
