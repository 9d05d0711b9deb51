#pragma once
// The compute interface the model code is written against. A backend owns how weights are
// stored (it may repack them at load) and how each op runs; the CPU backend is the portable
// one (BLAS for GEMMs), and other backends (bf16/int8 CPU kernels, CUDA) implement the same ops.
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/precision.h"
#include "kernels/tensor.h"

namespace clipdex::kernels {

enum class Activation { None, QuickGelu, Gelu, Relu };

// A linear layer y = x Wᵀ + b with W [out, in]. `packed` holds a backend's own layout.
struct LinearWeights {
  Tensor weight;  // [out, in]
  Tensor bias;    // [out] or empty
  std::shared_ptr<void> packed;
  // Set by the loader for layers that reduced precision hurts most (patch embedding, output
  // projections): an int8 backend runs them in fp32.
  bool keep_precise = false;
  int64_t out() const { return weight.dim(0); }
  int64_t in() const { return weight.dim(1); }
};

// Sequences packed back to back in one [tokens, width] matrix; attention stays within each.
struct SequenceLayout {
  std::vector<int64_t> offsets;  // start row of each sequence, plus the total at the end
  int64_t count() const { return static_cast<int64_t>(offsets.size()) - 1; }
  int64_t length(int64_t i) const { return offsets[i + 1] - offsets[i]; }
  int64_t tokens() const { return offsets.back(); }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual Precision precision() const = 0;
  // Which kernels run the linear layers, e.g. "int8: oneDNN gemm:jit, avx512_core (7-bit activations)".
  virtual std::string kernels() const = 0;

  // Called once per layer at load; may convert the weights into the backend's layout (and
  // then drop w.weight's data, keeping its shape).
  virtual void prepare(LinearWeights& w) = 0;

  // y[m, out] = x[m, in] · Wᵀ + b, then the activation.
  virtual void linear(const float* x, int64_t m, const LinearWeights& w, float* y,
                      Activation act = Activation::None) = 0;

  // Row-wise layer norm over `dim` columns (may run in place).
  virtual void layer_norm(const float* x, int64_t rows, int64_t dim, const float* gamma, const float* beta, float eps,
                          float* y) = 0;

  // Scaled dot-product attention per sequence and head. qkv is [tokens, 3*width] holding
  // q | k | v; out is [tokens, width]. With `causal`, position i attends to positions <= i.
  virtual void attention(const float* qkv, const SequenceLayout& seqs, int64_t width, int64_t heads, bool causal,
                         float* out) = 0;

  // Attention of one query row per sequence against all its rows (attention pooling):
  // q [n, width], kv [tokens, 2*width] holding k | v, out [n, width].
  virtual void attention_single_query(const float* q, const float* kv, const SequenceLayout& seqs, int64_t width,
                                      int64_t heads, float* out) = 0;
};

// The portable CPU backend: OpenBLAS sgemm, fp32 everywhere.
std::unique_ptr<Backend> make_cpu_backend();

// The oneDNN backend in the given precision (not Auto); throws InputError if this CPU cannot run
// it. `note` is appended to kernels() (why this precision was chosen).
std::unique_ptr<Backend> make_onednn_backend(Precision precision, const std::string& note = "");

// The backend for a run: Auto measures fp32 against bf16 GEMMs on this CPU once per process and
// takes the faster. bf16 where oneDNN has no bf16 kernel at all (AVX2-only CPUs) runs fp32, which
// gives the same model id, and says so in kernels(); int8 has no such fallback (its vectors differ).
std::unique_ptr<Backend> make_backend(Precision precision);

// What Auto resolves to on this CPU (measured once per process).
Precision resolve_auto_precision();

// What a run asked for Auto gets: $CLIPDEX_PRECISION when it names a precision, else the
// measured choice. (The tests set it to fp32 so their tolerances hold on every CPU.)
Precision default_precision();

// Applies an activation in place (shared by backends that run it as a separate pass).
void apply_activation(float* x, int64_t n, Activation act);

}  // namespace clipdex::kernels
