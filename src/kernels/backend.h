#pragma once
// The compute interface the model code is written against. A backend owns how weights are
// stored (it may repack them at load), where activations live and how each op runs: the
// portable CPU backend (BLAS for GEMMs), the oneDNN fp32/bf16/int8 CPU backends, and the CUDA
// backend (kernels/cuda/, device memory) implement the same ops.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernels/precision.h"
#include "kernels/tensor.h"

namespace clipdex::kernels {

enum class Activation { None, QuickGelu, Gelu, Relu };

// A linear layer y = x Wᵀ + b with W [out, in]. `packed` holds a backend's own layout.
struct LinearWeights {
  Tensor weight;  // [out, in]
  Tensor bias;    // [out] or empty
  std::shared_ptr<void> packed;
  // Set by the loader for layers that reduced precision hurts most (output projections, the
  // ResNet stem's first convolution): an int8 backend runs them in fp32.
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

// Element types of backend-owned activations.
enum class ElementType : uint8_t { F32, F16, BF16 };
size_t type_bytes(ElementType t);

// A typed pointer into memory a backend owns: host memory for the CPU backends, device memory
// for CUDA. The model code only passes views between backend ops; it never reads them.
struct View {
  void* data = nullptr;
  ElementType type = ElementType::F32;
  View at(int64_t elements) const {
    return {static_cast<char*>(data) + elements * static_cast<int64_t>(type_bytes(type)), type};
  }
  float* f32() const;      // the data of an F32 view (throws for another type)
  uint16_t* bf16() const;  // the data of a BF16 view (throws for another type)
  float* f32_or_null() const { return type == ElementType::F32 ? static_cast<float*>(data) : nullptr; }
};

// Backend memory, freed with the last copy (a CPU backend's upload borrows the caller's array).
struct Buffer {
  View view;
  int64_t count = 0;
  std::shared_ptr<void> memory;
};

// What a buffer is for decides its element type: the residual stream, tower inputs and outputs
// and constants stay fp32; work buffers (layer-norm outputs, GEMM outputs feeding the next op)
// are in the backend's activation type (fp16 / bf16 on a GPU, fp32 on the CPU). GemmInput is a
// work buffer that only matrix products read: linear layers, and attention, whose two products
// per head read q, k and v (a layer norm's, attention's or a linear layer's output). A CPU
// backend keeps it in its GEMMs' input type where that is bf16 (bf16 and int8), so it is written
// once, rounded where it is made, and never converted again.
enum class Role { Stream, Work, GemmInput };

// ViT's patch embedding input: [n, 3, size, size] pixels cut into (size / patch)^2 patches.
struct PatchGeometry {
  int64_t images = 0, size = 0, patch = 0;
  int64_t grid() const { return size / patch; }
  int64_t patches() const { return images * grid() * grid(); }
  int64_t patch_values() const { return 3 * patch * patch; }
};

// The ops the ViT and CLIP text towers run, on backend-owned memory. Every backend implements
// them; a CPU backend's views are host pointers.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual Precision precision() const = 0;
  // Which kernels run the linear layers, e.g. "int8: oneDNN gemm:jit, avx512_core (7-bit activations)".
  virtual std::string kernels() const = 0;
  // Where the ops run: "cpu" or "cuda:0 (NVIDIA H200)".
  virtual std::string device() const { return "cpu"; }
  // Largest batch worth running at once (bounds scratch memory).
  virtual int64_t max_batch() const { return 32; }
  // Images per image-tower pass (a larger request runs as several): a ViT-B/32 pass holds
  // 1-1.5 MB of activations per image.
  virtual int64_t image_batch() const { return max_batch(); }
  // Images per pass when each pool thread runs passes of its own over a share of the batch
  // (model/passes.h), its ops on that thread alone; 0 where a pass's ops must use every thread.
  virtual int64_t thread_image_batch() const { return 0; }
  // The same for text batches (sequences per pass of a thread's own).
  virtual int64_t thread_text_batch() const { return 0; }
  // False when ops must not run from several threads at once (a GPU stream): callers serialise.
  virtual bool concurrent() const { return true; }

  // Called once per layer at load; may convert the weights into the backend's layout (and
  // then drop w.weight's data, keeping its shape).
  virtual void prepare(LinearWeights& w) = 0;

  // Memory. adopt() takes a constant (embeddings, layer-norm parameters) for the life of the model.
  virtual Buffer alloc(int64_t count, Role role) = 0;
  virtual Buffer adopt(Tensor&& t) = 0;
  // A lookup table only embed() reads (the text tower's token embedding: a sixth of ViT-B/32's
  // weights). A backend may keep it in a reduced type, table_type(); the loader then reads it
  // straight into that type (no fp32 copy of it at load) and hands it to adopt_table_bf16. Its
  // rows enter the fp32 residual stream with that type's rounding.
  virtual ElementType table_type() const { return ElementType::F32; }
  virtual Buffer adopt_table(Tensor&& t) { return adopt(std::move(t)); }
  virtual Buffer adopt_table_bf16(std::vector<uint16_t>&& rows);  // only where table_type() is BF16
  // An input from host memory: Role::Stream keeps fp32, Role::Work converts to the work type
  // on the way (half the bytes to move for a GPU). Ops only read it; a CPU backend uses `host`
  // in place, so it must outlive the buffer.
  virtual Buffer upload(const float* host, int64_t count, Role role = Role::Stream) = 0;
  virtual void download(View src, int64_t count, float* host) = 0;  // src is F32

  // y[m, out] = x[m, in] · Wᵀ + b, then the activation; with `accumulate`, y += x · Wᵀ + b
  // (the residual add; no activation then).
  virtual void linear(View x, int64_t m, const LinearWeights& w, View y, Activation act = Activation::None,
                      bool accumulate = false) = 0;
  // Row-wise layer norm over `dim` columns; gamma and beta are F32.
  virtual void layer_norm(View x, int64_t rows, int64_t dim, View gamma, View beta, float eps, View y) = 0;
  // y = linear(layer_norm(x)) with h [rows, dim] to hold the normalised rows (a GemmInput
  // buffer): the layer norms whose output only a linear layer reads. A backend may fuse the two
  // (the int8 one quantises each normalised row as it makes it; h is then left untouched).
  virtual void layer_norm_linear(View x, int64_t rows, int64_t dim, View gamma, View beta, float eps, View h,
                                 const LinearWeights& w, View y, Activation act = Activation::None) {
    layer_norm(x, rows, dim, gamma, beta, eps, h);
    linear(h, rows, w, y, act);
  }
  // Scaled dot-product attention per sequence and head. qkv is [tokens, 3*width] holding
  // q | k | v; out is [tokens, width]. With `causal`, position i attends to positions <= i.
  virtual void attention(View qkv, const SequenceLayout& seqs, int64_t width, int64_t heads, bool causal, View out) = 0;
  // Whether attention_pooled runs here: a transformer's last block then makes queries for its
  // pooled rows only (the rest of that block reads no other row).
  virtual bool attends_pooled_rows() const { return false; }
  // Attention of one query per sequence, from row rows[s] of sequence s: q [sequences, width]
  // holds those rows' queries, kv [tokens, 2*width] k | v for every row; out [sequences, width].
  // With `causal` the query sees its sequence's rows up to its own.
  virtual void attention_pooled(View q, View kv, const SequenceLayout& seqs, const std::vector<int64_t>& rows,
                                int64_t width, int64_t heads, bool causal, View out);

  // The towers' glue, each one pass:
  // cols[patches, 3*p*p] = the pixels' patches (pixels: an upload, either role), in the order the
  // patch convolution's weights flatten.
  virtual void patch_rows(View pixels, const PatchGeometry& g, View cols) = 0;
  // x[img*tokens + t] = (t == 0 ? cls : patches[img*(tokens-1) + t-1]) + pos[t].
  virtual void vit_tokens(View patches, View cls, View pos, int64_t images, int64_t tokens, int64_t width, View x) = 0;
  // x[r] = table[ids[r]] + pos[positions[r]] for each packed row r (table from adopt_table).
  virtual void embed(View table, View pos, const std::vector<int32_t>& ids, const std::vector<int32_t>& positions,
                     int64_t width, View x) = 0;
  // out[i] = x[rows[i]] (rows of `width` values).
  virtual void gather_rows(View x, const std::vector<int64_t>& rows, int64_t width, View out) = 0;
};

// The CPU backends: the ops above on host memory, plus the host-pointer forms the CPU-only
// towers (ModifiedResNet, XLM-R) call directly.
class HostBackend : public Backend {
 public:
  virtual void linear_f32(const float* x, int64_t m, const LinearWeights& w, float* y,
                          Activation act = Activation::None) = 0;
  virtual void layer_norm_f32(const float* x, int64_t rows, int64_t dim, const float* gamma, const float* beta,
                              float eps, float* y) = 0;
  virtual void attention_f32(const float* qkv, const SequenceLayout& seqs, int64_t width, int64_t heads, bool causal,
                             float* out) = 0;
  // Attention of one query row per sequence against all its rows (attention pooling):
  // q [n, width], kv [tokens, 2*width] holding k | v, out [n, width].
  virtual void attention_single_query(const float* q, const float* kv, const SequenceLayout& seqs, int64_t width,
                                      int64_t heads, float* out) = 0;
};

// Where a run computes: `--device cpu|cuda[:N]`.
struct DeviceSpec {
  bool cuda = false;
  int index = 0;
};
std::optional<DeviceSpec> parse_device(const std::string& s);
// The same, InputError ("--device must be cpu, cuda or cuda:N") for anything else.
DeviceSpec device_spec(const std::string& s);

// The CUDA backend on GPU `index` (fp32, fp16 or bf16; Auto is fp16). Throws InputError when
// this build has no CUDA or the GPU cannot be used.
std::unique_ptr<Backend> make_cuda_backend(int index, Precision precision);
// Whether this build has the CUDA backend.
bool cuda_built();

// The portable CPU backend: OpenBLAS sgemm, fp32 everywhere.
std::unique_ptr<HostBackend> make_cpu_backend();

// The oneDNN backend in the given precision (not Auto); throws InputError if this CPU cannot run
// it. `note` is appended to kernels() (why this precision was chosen).
std::unique_ptr<HostBackend> make_onednn_backend(Precision precision, const std::string& note = "");

// The backend for a run: Auto measures fp32 against bf16 GEMMs on this CPU once per process and
// takes the faster. bf16 where oneDNN has no bf16 kernel at all (AVX2-only CPUs) runs fp32, which
// gives the same model id, and says so in kernels(); int8 has no such fallback (its vectors differ).
std::unique_ptr<HostBackend> make_backend(Precision precision);

// What Auto resolves to on this CPU (measured once per process).
Precision resolve_auto_precision();

// What a run asked for Auto gets: $CLIPDEX_PRECISION when it names a precision, else the
// measured choice. (The tests set it to fp32 so their tolerances hold on every CPU.)
Precision default_precision();

// Applies an activation in place (shared by backends that run it as a separate pass).
void apply_activation(float* x, int64_t n, Activation act);
// y = bf16(act(p + bias)) (bias may be null): a GEMM's fp32 product row finished in one pass.
void bias_activate_row_bf16(const float* p, const float* bias, int64_t n, Activation act, uint16_t* y);

}  // namespace clipdex::kernels
