// Linear layers through oneDNN matmul in fp32, bf16 or int8; every other op from CpuOpsBackend.
//
// Weights are converted and reordered once at load into the layout oneDNN's kernel for this CPU
// wants (brgemm's blocked layouts where the CPU has AVX-512), split into column blocks so that
// even a one-row text query keeps every pool thread busy. Each pool task runs one (row block,
// column block) product with oneDNN single-threaded, then its epilogue (bias, int8 rescale,
// activation) while the block is hot: the pool owns all parallelism, as with OpenBLAS, and no
// OpenMP team spins beside it.
//
// A matmul is created for each row count it meets (and kept): oneDNN's fixed-shape kernels ran
// 3x faster than its any-row-count one for a 7-token text query (bf16 and int8, Zen 5) and as
// fast for tall batches; creating one costs ~0.3 ms, once per shape and row count. Those
// kernels (brgemm) write only dense outputs, so each task's product lands in its own block and
// the epilogue moves it into y — adding it there for the residual stream's add.
//
// int8: weights symmetric per output channel (s8), activations asymmetric per row (u8 with a
// zero point), computed fresh for every call. Without VNNI the CPU multiplies u8 x s8 pairs
// into saturating 16-bit sums (vpmaddubsw), which silently clipped results here; activations
// are then kept to 7 bits (0..127) so no pair can saturate.
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/isa_clones.h"
#include "core/thread_pool.h"
#include "kernels/bf16_rows.h"
#include "kernels/cpu_features.h"
#include "kernels/cpu_ops.h"
#include "kernels/quantize.h"

namespace clipdex::kernels {
namespace {

using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// Each pool thread runs oneDNN single-threaded on its own stream and scratch memory.
struct ThreadState {
  dnnl::stream stream{cpu_engine()};
  std::vector<uint8_t> scratchpad;
  std::vector<int32_t> accumulators;  // int8 products
  std::vector<float> product;         // fp32 / bf16 products
  ThreadState() { omp_set_num_threads(1); }
};

// A calling thread's inputs converted for the GEMM, reused from call to call: fresh vectors of
// megabytes each call were fresh pages for the kernel to zero (5% of a text query's time).
struct ConvertedInput {
  std::vector<uint16_t> bf16;
  std::vector<float> f32;  // a bf16 input to an fp32 layer
  std::vector<uint8_t> u8;
  std::vector<float> row_scale;
  std::vector<int32_t> row_zero;
};

ConvertedInput& converted_input() {
  thread_local ConvertedInput in;
  return in;
}

// Makes v hold at least n elements. Scratch only grows: resizing a vector up again within its
// capacity zero-fills the new part, and these alternate between sizes on every layer (1% of a
// forward pass in memset). When it grows, the old contents are dropped and the old block freed
// before the new one is made: growing in place held both for a moment and allocated up to twice
// n (vector's growth), 0.8-1.5 MiB of an int8 process's peak RSS.
template <typename T>
T* at_least(std::vector<T>& v, size_t n) {
  if (v.size() < n) {
    std::vector<T>().swap(v);
    v.reserve(n);
    v.resize(n);
  }
  return v.data();
}

// Sizes in's quantised rows for m rows of k values: u8 codes, a scale and a zero point per row.
void hold_quantized_rows(ConvertedInput& in, int64_t m, int64_t k) {
  at_least(in.u8, static_cast<size_t>(m * k));
  at_least(in.row_scale, static_cast<size_t>(m));
  at_least(in.row_zero, static_cast<size_t>(m));
}

ThreadState& thread_state() {
  thread_local ThreadState state;
  return state;
}

// y[0, n) = p + bias, or y += p + bias with `accumulate` (bias may be null): a product row into
// place. Compiled per ISA level (inline in the pool task these loops were baseline SSE2: 6% of a
// bf16 forward pass).
CLIPDEX_ISA_CLONES void store_row(const float* p, const float* bias, int64_t n, bool accumulate, float* y) {
  if (accumulate && bias)
    for (int64_t j = 0; j < n; ++j) y[j] += p[j] + bias[j];
  else if (accumulate)
    for (int64_t j = 0; j < n; ++j) y[j] += p[j];
  else if (bias)
    for (int64_t j = 0; j < n; ++j) y[j] = p[j] + bias[j];
  else
    std::copy_n(p, n, y);
}

// out[0, n) = in rounded to bf16, on the pool.
void to_bf16(const float* in, size_t n, uint16_t* out) {
  ThreadPool::global().parallel_for(
      n, [&](size_t b, size_t e) { narrow_to_bf16(in + b, e - b, out + b); }, kElementGrain);
}

// out[0, n) = in widened to fp32, on the pool.
void from_bf16(const uint16_t* in, size_t n, float* out) {
  ThreadPool::global().parallel_for(
      n, [&](size_t b, size_t e) { widen_from_bf16(in + b, e - b, out + b); }, kElementGrain);
}

dt gemm_src_type(Precision p) { return p == Precision::Int8 ? dt::u8 : p == Precision::Bf16 ? dt::bf16 : dt::f32; }
dt gemm_wei_type(Precision p) { return p == Precision::Int8 ? dt::s8 : p == Precision::Bf16 ? dt::bf16 : dt::f32; }
dt gemm_dst_type(Precision p) { return p == Precision::Int8 ? dt::s32 : dt::f32; }
// Bytes per element of the GEMM's inputs (activations and weights alike).
size_t element_bytes(Precision p) { return p == Precision::Int8 ? 1 : p == Precision::Bf16 ? 2 : 4; }

constexpr float kWeightLevels = 127.0f;  // s8 weights use -127..127 (symmetric)

// Rows the weights' layout is chosen for; matmuls for other row counts take the same layout.
constexpr int64_t kLayoutRows = 128;

// Inputs up to this many rows are split across threads by columns only (run_linear). Measured
// on 2 threads (Zen 5, ViT-B/32): one image (50 rows) ran 17% faster in int8 and 16% in bf16 than
// with its rows split, two and four images (100, 200 rows) 0-10% faster, eight (400) 2-7% slower.
constexpr int64_t kWholeRows = 256;

struct ColumnBlock {
  int64_t n0 = 0, width = 0;
  dnnl::memory weights;  // in oneDNN's layout for this CPU
  std::string impl;      // oneDNN's name for the implementation it picked
};

// One matmul of a given shape and row count, with its scratchpad size.
struct BlockMatmul {
  dnnl::matmul matmul;
  dnnl::memory::desc scratch_desc;
};

// A linear layer as the oneDNN backend keeps it.
struct PackedLinear {
  Precision precision = Precision::Fp32;
  int64_t k = 0, n = 0;
  std::vector<ColumnBlock> blocks;
  std::vector<float> weight_scale;  // int8: per output channel
  std::vector<int32_t> column_sum;  // int8: Σ_k of the quantised weights, for the zero points
  // The weights in the GEMM's type, row-major [n, k]. Kept only when oneDNN multiplies them in
  // that layout as they are (gemm:jit does); blocked layouts (brgemm, AMX) get their own copy.
  std::vector<float> plain_f32;
  std::vector<uint16_t> plain_bf16;
  std::vector<int8_t> plain_s8;
};

// The matmul x[rows, k] · W[k, width] -> a dense [rows, width] block, W in `weights` layout.
// Throws dnnl::error if it cannot run.
BlockMatmul make_matmul(Precision p, int64_t k, int64_t width, int64_t rows, const dnnl::memory::desc& weights) {
  const dnnl::memory::desc src({rows, k}, gemm_src_type(p), dims{k, 1});
  const dnnl::memory::desc dst({rows, width}, gemm_dst_type(p), dims{width, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, weights, dst), attr, cpu_engine());
  return {dnnl::matmul(pd), pd.scratchpad_desc()};
}

// Sets `borrowed` when the block reads weights_plain in place (so it must outlive the block).
// Runs on a pool thread: its reorder is single-threaded there (an OpenMP team started from the
// loading thread left a worker spinning beside the pool: a quarter of the load time).
ColumnBlock make_block(Precision p, int64_t k, int64_t n0, int64_t width, const void* weights_plain,
                       int64_t weights_ld, bool& borrowed, dnnl::stream& s) {
  auto& eng = cpu_engine();
  ColumnBlock b;
  b.n0 = n0;
  b.width = width;
  const dnnl::memory::desc src({kLayoutRows, k}, gemm_src_type(p), dims{k, 1});
  const dnnl::memory::desc wei_any({k, width}, gemm_wei_type(p), dnnl::memory::format_tag::any);
  const dnnl::memory::desc dst({kLayoutRows, width}, gemm_dst_type(p), dims{width, 1});
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, wei_any, dst), eng);
  b.impl = pd.impl_info_str();
  // The plain weights are W[n, k] row-major: as the k x width matrix oneDNN multiplies by,
  // element (kk, j) sits at j * ld + kk.
  const dnnl::memory::desc plain({k, width}, gemm_wei_type(p), dims{1, weights_ld});
  dnnl::memory plain_mem(plain, eng, const_cast<void*>(weights_plain));
  if (pd.weights_desc() == plain) {
    b.weights = plain_mem;
    borrowed = true;
    return b;
  }
  b.weights = dnnl::memory(pd.weights_desc(), eng);
  dnnl::reorder(plain_mem, b.weights).execute(s, plain_mem, b.weights);
  s.wait();
  return b;
}

class OnednnBackend final : public CpuOpsBackend {
 public:
  OnednnBackend(Precision precision, std::string note) : precision_(precision), note_(std::move(note)) {
    const auto& cpu = cpu_features();
    int8_levels_ = cpu.vnni ? 255 : 127;
    // Probe once so an unsupported mode fails here, not in the middle of a model.
    LinearWeights probe;
    probe.weight = Tensor({16, 16});
    prepare(probe);
    if (!probe.packed)
      throw_input("oneDNN cannot run {} matrix products on this CPU ({}); use --precision fp32",
                  to_string(precision), cpu.model);
  }

  std::string name() const override { return "onednn-" + to_string(precision_); }
  Precision precision() const override { return precision_; }
  std::string kernels() const override {
    const auto& cpu = cpu_features();
    std::string s = fmt::format("{}: oneDNN matmul ({}), ISA {}", to_string(precision_), impl_, cpu.onednn_isa);
    if (precision_ == Precision::Int8)
      s += fmt::format(", {}-bit activations; projections fp32", int8_levels_ == 255 ? 8 : 7);
    if (!note_.empty()) s += " (" + note_ + ")";
    return s;
  }

  // bf16 and int8 passes hold half the images fp32 does (two per pool thread, at least 4):
  // on 2 cores (Zen 5, ViT-B/32, batch 32, medians of alternating runs) passes of 4 ran as fast
  // as passes of 8 (int8 +5% in one round of 8, -0.5% in a later round of 6; bf16 +1%) with
  // 3-6 MiB (int8) and 7-10 MiB (bf16) less peak RSS; fp32 ran 2.5% slower in passes of 4, so it
  // keeps 8.
  int64_t image_batch() const override {
    if (precision_ == Precision::Fp32) return CpuOpsBackend::image_batch();
    return std::clamp<int64_t>(2 * static_cast<int64_t>(ThreadPool::global().active()), 4, max_batch());
  }

  // In bf16 and int8, activations that only GEMMs read stay bf16 between ops (layer norm,
  // attention and linear layers round their outputs once; bf16 GEMMs read them as they are).
  ElementType gemm_input_type() const override {
    return precision_ == Precision::Fp32 ? ElementType::F32 : ElementType::BF16;
  }
  // The token table likewise: half its fp32 size (51 of ViT-B/32's MB).
  ElementType table_type() const override { return gemm_input_type(); }
  Buffer adopt_table_bf16(std::vector<uint16_t>&& rows) override {
    auto table = std::make_shared<std::vector<uint16_t>>(std::move(rows));
    return {{table->data(), ElementType::BF16}, static_cast<int64_t>(table->size()), std::move(table)};
  }

  void prepare(LinearWeights& w) override {
    const Precision p = (precision_ == Precision::Int8 && w.keep_precise) ? Precision::Fp32 : precision_;
    auto packed = std::make_shared<PackedLinear>();
    packed->precision = p;
    packed->k = w.in();
    packed->n = w.out();
    const int64_t k = w.in(), n = w.out();
    const void* plain = nullptr;
    if (p == Precision::Bf16) {
      auto& bf16 = packed->plain_bf16;
      bf16.resize(static_cast<size_t>(n * k));
      to_bf16(w.weight.ptr(), bf16.size(), bf16.data());
      plain = bf16.data();
    } else if (p == Precision::Int8) {
      quantize_weights(w, *packed, packed->plain_s8, kWeightLevels);
      plain = packed->plain_s8.data();
    } else {
      packed->plain_f32 = std::move(w.weight.data);  // handed back below if packing fails
      plain = packed->plain_f32.data();
    }
    // Column blocks: enough for every pool thread to take one when the input is a single row.
    const int64_t threads = static_cast<int64_t>(ThreadPool::global().active());
    const int64_t count = std::clamp<int64_t>(n / 64, 1, threads);
    const int64_t width = (n + count - 1) / count;
    const int64_t block_count = (n + width - 1) / width;
    packed->blocks.resize(static_cast<size_t>(block_count));
    std::vector<char> borrowed_by(static_cast<size_t>(block_count), 0);
    try {
      ThreadPool::global().parallel_for(static_cast<size_t>(block_count), [&](size_t b, size_t e) {
        auto& ts = thread_state();
        for (size_t i = b; i < e; ++i) {
          const int64_t n0 = static_cast<int64_t>(i) * width, bw = std::min(width, n - n0);
          const auto* base = static_cast<const uint8_t*>(plain) + n0 * k * static_cast<int64_t>(element_bytes(p));
          bool borrowed = false;
          packed->blocks[i] = make_block(p, k, n0, bw, base, k, borrowed, ts.stream);
          borrowed_by[i] = borrowed;
        }
      });
    } catch (const dnnl::error&) {
      if (p == Precision::Fp32) w.weight.data = std::move(packed->plain_f32);
      return;  // not packed: this layer runs on the OpenBLAS fallback
    }
    if (std::none_of(borrowed_by.begin(), borrowed_by.end(), [](char b) { return b != 0; })) {
      std::vector<float>().swap(packed->plain_f32);
      std::vector<uint16_t>().swap(packed->plain_bf16);
      std::vector<int8_t>().swap(packed->plain_s8);
    }
    if (impl_.empty() && p == precision_) impl_ = packed->blocks[0].impl;
    w.packed = packed;
    std::vector<float>().swap(w.weight.data);  // the packed copy replaces it; the shape stays for in() / out()
  }

  void linear_f32(const float* x, int64_t m, const LinearWeights& w, float* y, Activation act) override {
    if (!w.packed) return blas_linear(x, m, w, y, act);
    run_linear({const_cast<float*>(x), ElementType::F32}, m, w, {y, ElementType::F32}, act, /*accumulate=*/false);
  }

  void linear(View x, int64_t m, const LinearWeights& w, View y, Activation act, bool accumulate) override {
    if (!w.packed) return CpuOpsBackend::linear(x, m, w, y, act, accumulate);
    if (accumulate && act != Activation::None) throw Error("linear: an accumulating layer takes no activation");
    if (accumulate && y.type != ElementType::F32) throw Error("linear: the residual stream is fp32");
    run_linear(x, m, w, y, act, accumulate);
  }

  // int8: each row normalised and quantised in one pass (layer_norm_quantize_rows), h unused.
  void layer_norm_linear(View x, int64_t rows, int64_t dim, View gamma, View beta, float eps, View h,
                         const LinearWeights& w, View y, Activation act) override {
    const auto* P = static_cast<const PackedLinear*>(w.packed.get());
    if (!P || P->precision != Precision::Int8 || rows == 0)
      return CpuOpsBackend::layer_norm_linear(x, rows, dim, gamma, beta, eps, h, w, y, act);
    if (dim != P->k) throw Error("layer_norm_linear: the layer norm's width is not the linear layer's input");
    ConvertedInput& in = converted_input();
    hold_quantized_rows(in, rows, dim);
    layer_norm_quantize_rows(x.f32(), rows, dim, gamma.f32(), beta.f32(), eps, static_cast<float>(int8_levels_),
                             in.u8.data(), in.row_scale.data(), in.row_zero.data());
    multiply(in.u8.data(), rows, *P, w, in, y, act, /*accumulate=*/false);
  }

 private:
  // s8 weights, symmetric per output channel.
  static void quantize_weights(const LinearWeights& w, PackedLinear& P, std::vector<int8_t>& out, float levels) {
    const int64_t k = w.in(), n = w.out();
    out.resize(static_cast<size_t>(n * k));
    P.weight_scale.resize(static_cast<size_t>(n));
    P.column_sum.resize(static_cast<size_t>(n));
    ThreadPool::global().parallel_for(static_cast<size_t>(n), [&](size_t b, size_t e) {
      for (size_t o = b; o < e; ++o)
        quantize_row_s8(w.weight.ptr() + o * k, k, levels, out.data() + o * k, P.weight_scale[o], P.column_sum[o]);
    });
  }

  // u8 activations, asymmetric per row: x ≈ (q - zero) * scale, with 0 exactly representable.
  // x may be fp32 or bf16.
  void quantize_rows(View x, int64_t m, int64_t k, ConvertedInput& in) const {
    hold_quantized_rows(in, m, k);
    uint8_t* q = in.u8.data();
    float* scale = in.row_scale.data();
    int32_t* zero = in.row_zero.data();
    const float levels = static_cast<float>(int8_levels_);
    ThreadPool::global().parallel_for(
        static_cast<size_t>(m),
        [&](size_t b, size_t e) {
          const auto rows = static_cast<int64_t>(e - b);
          if (const float* xf = x.f32_or_null())
            return quantize_rows_u8(xf + b * k, rows, k, levels, q + b * k, scale + b, zero + b);
          quantize_rows_u8(x.bf16() + b * k, rows, k, levels, q + b * k, scale + b, zero + b);
        },
        row_grain(k));
  }

  // y = x · Wᵀ + b and the activation, or y += x · Wᵀ + b with `accumulate` (y fp32 then).
  // x and y may be fp32 or bf16.
  void run_linear(View x, int64_t m, const LinearWeights& w, View y, Activation act, bool accumulate) {
    if (m == 0) return;
    const auto& P = *static_cast<const PackedLinear*>(w.packed.get());
    // The input in the GEMM's type, once for all column blocks (a bf16 input to a bf16 GEMM as
    // it is); then the products.
    ConvertedInput& in = converted_input();  // the caller's; pool tasks below read it
    const auto count = static_cast<size_t>(m * P.k);
    const void* src = x.data;
    if (P.precision == Precision::Bf16 && x.type == ElementType::F32) {
      to_bf16(x.f32(), count, at_least(in.bf16, count));
      src = in.bf16.data();
    } else if (P.precision == Precision::Int8) {
      quantize_rows(x, m, P.k, in);
      src = in.u8.data();
    } else if (P.precision == Precision::Fp32 && x.type == ElementType::BF16) {
      from_bf16(x.bf16(), count, at_least(in.f32, count));
      src = in.f32.data();
    }
    multiply(src, m, P, w, in, y, act, accumulate);
  }

  // run_linear's second step, from src already in the GEMM's type (int8: with in's row scales
  // and zero points).
  void multiply(const void* src, int64_t m, const PackedLinear& P, const LinearWeights& w, const ConvertedInput& in,
                View y, Activation act, bool accumulate) {
    // The products, one (row block, column block) per job. Up to kWholeRows rows, when
    // there is a column block for every thread, the rows stay whole and the threads split the
    // columns: each then reads only its share of the weights, which dominate a short input's
    // cost. Taller inputs take one row block per thread: measured faster here than 32-128-row
    // blocks for every precision (fewer calls, and the kernels block for cache themselves).
    const int64_t threads = static_cast<int64_t>(ThreadPool::global().active());
    const int64_t col_blocks = static_cast<int64_t>(P.blocks.size());
    const bool whole_rows = m <= kWholeRows && col_blocks >= threads;
    const int64_t rows_per_job = whole_rows ? m : std::max<int64_t>(16, (m + threads - 1) / threads);
    const int64_t row_blocks = (m + rows_per_job - 1) / rows_per_job;
    ThreadPool::global().parallel_for(static_cast<size_t>(row_blocks * col_blocks), [&](size_t jb, size_t je) {
      auto& ts = thread_state();
      for (size_t job = jb; job < je; ++job) {
        const int64_t r0 = static_cast<int64_t>(job) / col_blocks * rows_per_job;
        const int64_t rows = std::min(rows_per_job, m - r0);
        const ColumnBlock& blk = P.blocks[static_cast<size_t>(job % col_blocks)];
        run_block(ts, P, blk, static_cast<const uint8_t*>(src) + r0 * P.k * element_bytes(P.precision), rows);
        epilogue(P, w, blk, r0, rows, in, ts, y, act, accumulate);
      }
    });
  }

  // The matmul for this block shape and row count: made on first use, then kept (layers of one
  // shape share it; the weights are an argument at execution). A process that meets very many
  // row counts (text batches of every length) starts the set afresh past kMaxMatmuls; callers
  // hold their matmul by shared_ptr, so one in use outlives that.
  std::shared_ptr<const BlockMatmul> block_matmul(const PackedLinear& P, const ColumnBlock& blk, int64_t rows) {
    const MatmulKey key{static_cast<int>(P.precision), P.k, blk.width, rows};
    {
      std::shared_lock lock(matmuls_mu_);
      if (auto it = matmuls_.find(key); it != matmuls_.end()) return it->second;
    }
    auto made = std::make_shared<const BlockMatmul>(
        make_matmul(P.precision, P.k, blk.width, rows, blk.weights.get_desc()));
    std::unique_lock lock(matmuls_mu_);
    if (matmuls_.size() >= kMaxMatmuls) matmuls_.clear();
    return matmuls_.try_emplace(key, std::move(made)).first->second;
  }

  // The block's product, dense, into the thread's accumulators (int8) or product buffer.
  void run_block(ThreadState& ts, const PackedLinear& P, const ColumnBlock& blk, const void* src, int64_t rows) {
    auto& eng = cpu_engine();
    const dnnl::memory src_mem(dnnl::memory::desc({rows, P.k}, gemm_src_type(P.precision), dims{P.k, 1}), eng,
                               const_cast<void*>(src));
    const auto size = static_cast<size_t>(rows * blk.width);
    void* dst_ptr = nullptr;
    if (P.precision == Precision::Int8) {
      dst_ptr = at_least(ts.accumulators, size);
    } else {
      dst_ptr = at_least(ts.product, size);
    }
    const auto mm_held = block_matmul(P, blk, rows);
    const BlockMatmul& mm = *mm_held;
    const dnnl::memory dst_mem(dnnl::memory::desc({rows, blk.width}, gemm_dst_type(P.precision), dims{blk.width, 1}),
                               eng, dst_ptr);
    at_least(ts.scratchpad, std::max<size_t>(1, mm.scratch_desc.get_size()));
    const dnnl::memory scratch(mm.scratch_desc, eng, ts.scratchpad.data());
    mm.matmul.execute(ts.stream, {{DNNL_ARG_SRC, src_mem},
                                  {DNNL_ARG_WEIGHTS, blk.weights},
                                  {DNNL_ARG_DST, dst_mem},
                                  {DNNL_ARG_SCRATCHPAD, scratch}});
  }

  // The block's product into y: the int8 rescale, the bias and the activation (then rounded
  // for a bf16 y, in the same pass), or with `accumulate` added to what y holds (the residual
  // add; no activation then).
  static void epilogue(const PackedLinear& P, const LinearWeights& w, const ColumnBlock& blk, int64_t r0, int64_t rows,
                       const ConvertedInput& in, ThreadState& ts, View y, Activation act, bool accumulate) {
    const float* bias = w.bias.empty() ? nullptr : w.bias.ptr() + blk.n0;
    const int64_t n = blk.width;
    float* const y_f32 = y.f32_or_null();
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t at = (r0 + r) * P.n + blk.n0;
      const auto row = static_cast<size_t>(r0 + r);
      if (P.precision == Precision::Int8 && !y_f32) {
        dequantize_row_bf16(ts.accumulators.data() + r * n, n, in.row_zero[row], in.row_scale[row],
                            P.column_sum.data() + blk.n0, P.weight_scale.data() + blk.n0, bias, act, y.bf16() + at);
      } else if (P.precision == Precision::Int8) {
        dequantize_row(ts.accumulators.data() + r * n, n, in.row_zero[row], in.row_scale[row],
                       P.column_sum.data() + blk.n0, P.weight_scale.data() + blk.n0, bias, y_f32 + at, accumulate);
        if (!accumulate) apply_activation(y_f32 + at, n, act);
      } else if (!y_f32) {
        bias_activate_row_bf16(ts.product.data() + r * n, bias, n, act, y.bf16() + at);
      } else {
        store_row(ts.product.data() + r * n, bias, n, accumulate, y_f32 + at);
        if (!accumulate) apply_activation(y_f32 + at, n, act);
      }
    }
  }

  // precision, k, width, rows
  using MatmulKey = std::tuple<int, int64_t, int64_t, int64_t>;

  Precision precision_;
  std::string note_;
  int int8_levels_ = 255;
  std::string impl_;  // oneDNN's implementation name for this precision's matmuls
  static constexpr size_t kMaxMatmuls = 512;
  std::shared_mutex matmuls_mu_;
  std::map<MatmulKey, std::shared_ptr<const BlockMatmul>> matmuls_;
};

}  // namespace

std::unique_ptr<HostBackend> make_onednn_backend(Precision precision, const std::string& note) {
  if (precision == Precision::Auto) throw Error("make_onednn_backend needs a resolved precision");
  return std::make_unique<OnednnBackend>(precision, note);
}

}  // namespace clipdex::kernels
