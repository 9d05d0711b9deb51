// The backend ops on host memory, shared by every CPU backend: buffers are plain vectors, the
// glue ops are loops over rows, and the GEMM / layer norm / attention ops forward to the
// host-pointer forms each backend implements.
#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/half.h"
#include "kernels/bf16_rows.h"
#include "kernels/cpu_ops.h"

namespace clipdex::kernels {

size_t type_bytes(ElementType t) { return t == ElementType::F32 ? 4 : 2; }

Buffer Backend::adopt_table_bf16(std::vector<uint16_t>&&) {
  throw Error(name() + " keeps lookup tables in fp32 (adopt_table)");
}

void Backend::attention_pooled(View, View, const SequenceLayout&, const std::vector<int64_t>&, int64_t, int64_t, bool,
                               View) {
  throw Error(name() + " has no pooled-row attention (attends_pooled_rows)");
}

float* View::f32() const {
  if (type != ElementType::F32) throw Error("a host backend was given a view that is not fp32");
  return static_cast<float*>(data);
}

uint16_t* View::bf16() const {
  if (type != ElementType::BF16) throw Error("a host backend was given a view that is not bf16");
  return static_cast<uint16_t*>(data);
}

namespace {

Buffer host_buffer(std::shared_ptr<std::vector<float>> v) {
  Buffer b;
  b.view = {v->data(), ElementType::F32};
  b.count = static_cast<int64_t>(v->size());
  b.memory = std::move(v);
  return b;
}

}  // namespace

// Not zero-filled: every op writes its output in full before anything reads it, and clearing a
// fresh set of buffers on every pass cost a memset over all of them (1.5% of an int8 ViT-B/32
// pass at batch 32). Freed buffers go back to malloc, which hands them out again.
Buffer CpuOpsBackend::alloc(int64_t count, Role role) {
  if (role == Role::GemmInput && gemm_input_type() == ElementType::BF16) {
    auto memory = std::make_shared_for_overwrite<uint16_t[]>(static_cast<size_t>(count));
    return {{memory.get(), ElementType::BF16}, count, std::move(memory)};
  }
  auto memory = std::make_shared_for_overwrite<float[]>(static_cast<size_t>(count));
  return {{memory.get(), ElementType::F32}, count, std::move(memory)};
}

Buffer CpuOpsBackend::adopt(Tensor&& t) { return host_buffer(std::make_shared<std::vector<float>>(std::move(t.data))); }

// The caller's array is host memory already: used in place, no copy (ops only read an upload).
Buffer CpuOpsBackend::upload(const float* host, int64_t count, Role) {
  Buffer b;
  b.view = {const_cast<float*>(host), ElementType::F32};
  b.count = count;
  return b;
}

void CpuOpsBackend::download(View src, int64_t count, float* host) { std::copy_n(src.f32(), count, host); }

// The portable path: fp32 GEMMs, bf16 inputs widened and bf16 outputs rounded around them.
void CpuOpsBackend::linear(View x, int64_t m, const LinearWeights& w, View y, Activation act, bool accumulate) {
  if (accumulate && act != Activation::None) throw Error("linear: an accumulating layer takes no activation");
  std::vector<float> wide;
  const float* in = x.f32_or_null();
  if (!in) {
    wide.resize(static_cast<size_t>(m * w.in()));
    widen_from_bf16(x.bf16(), wide.size(), wide.data());
    in = wide.data();
  }
  if (!accumulate && y.type == ElementType::F32) return linear_f32(in, m, w, y.f32(), act);
  std::vector<float> staged(static_cast<size_t>(m * w.out()));
  linear_f32(in, m, w, staged.data(), act);
  if (!accumulate) return narrow_to_bf16(staged.data(), staged.size(), y.bf16());
  float* out = y.f32();
  for (size_t i = 0; i < staged.size(); ++i) out[i] += staged[i];
}

void CpuOpsBackend::layer_norm(View x, int64_t rows, int64_t dim, View gamma, View beta, float eps, View y) {
  layer_norm_rows(x.f32(), rows, dim, gamma.f32(), beta.f32(), eps, y.f32_or_null(),
                  y.type == ElementType::BF16 ? y.bf16() : nullptr);
}

void CpuOpsBackend::attention(View qkv, const SequenceLayout& seqs, int64_t width, int64_t heads, bool causal,
                              View out) {
  self_attention(qkv, seqs, width, heads, causal, out);
}

namespace {

// Calls copy(src, dst offset) for each run of `patch` pixels, in flatten_patches' order.
template <typename CopyRun>
void for_each_patch_run(const float* px, const PatchGeometry& g, CopyRun copy) {
  const int64_t p = g.patch, grid = g.grid(), S = g.size, k = g.patch_values();
  for (int64_t img = 0; img < g.images; ++img)
    for (int64_t gy = 0; gy < grid; ++gy)
      for (int64_t gx = 0; gx < grid; ++gx) {
        const int64_t row = ((img * grid + gy) * grid + gx) * k;
        for (int64_t c = 0; c < 3; ++c)
          for (int64_t ky = 0; ky < p; ++ky)
            copy(px + ((img * 3 + c) * S + gy * p + ky) * S + gx * p, row + (c * p + ky) * p);
      }
}

}  // namespace

void flatten_patches(const float* px, const PatchGeometry& g, float* out) {
  for_each_patch_run(px, g, [&](const float* src, int64_t at) { std::copy_n(src, g.patch, out + at); });
}

void assemble_vit_tokens(const float* patches, const float* cls, const float* pos, int64_t images, int64_t tokens,
                         int64_t width, float* x) {
  for (int64_t img = 0; img < images; ++img)
    for (int64_t t = 0; t < tokens; ++t) {
      const float* src = t == 0 ? cls : patches + (img * (tokens - 1) + t - 1) * width;
      const float* p = pos + t * width;
      float* dst = x + (img * tokens + t) * width;
      for (int64_t j = 0; j < width; ++j) dst[j] = src[j] + p[j];
    }
}

// bf16 columns (a GemmInput buffer in the reduced modes) are rounded as they are copied: half
// the memory of a pass's largest buffer, and the bf16 GEMM would round them anyway.
void CpuOpsBackend::patch_rows(View pixels, const PatchGeometry& g, View cols) {
  if (cols.type == ElementType::F32) return flatten_patches(pixels.f32(), g, cols.f32());
  uint16_t* out = cols.bf16();
  for_each_patch_run(pixels.f32(), g, [&](const float* src, int64_t at) {
    narrow_to_bf16(src, static_cast<size_t>(g.patch), out + at);
  });
}

void CpuOpsBackend::vit_tokens(View patches, View cls, View pos, int64_t images, int64_t tokens, int64_t width,
                               View x) {
  assemble_vit_tokens(patches.f32(), cls.f32(), pos.f32(), images, tokens, width, x.f32());
}

void CpuOpsBackend::embed(View table, View pos, const std::vector<int32_t>& ids, const std::vector<int32_t>& positions,
                          int64_t width, View x) {
  if (table.type != ElementType::F32 && table.type != ElementType::BF16)
    throw Error("a host backend was given an embedding table that is neither fp32 nor bf16");
  for (size_t r = 0; r < ids.size(); ++r) {
    const int64_t row = static_cast<int64_t>(ids[r]) * width;
    const float* p = pos.f32() + static_cast<int64_t>(positions[r]) * width;
    float* dst = x.f32() + static_cast<int64_t>(r) * width;
    if (table.type == ElementType::BF16) {
      const uint16_t* tok = static_cast<const uint16_t*>(table.data) + row;
      for (int64_t j = 0; j < width; ++j) dst[j] = bf16_to_f32(tok[j]) + p[j];
    } else {
      const float* tok = table.f32() + row;
      for (int64_t j = 0; j < width; ++j) dst[j] = tok[j] + p[j];
    }
  }
}

void CpuOpsBackend::gather_rows(View x, const std::vector<int64_t>& rows, int64_t width, View out) {
  if (x.type != out.type) throw Error("gather_rows: the rows keep their element type");
  const auto copy = [&](const auto* from, auto* to) {
    for (size_t i = 0; i < rows.size(); ++i)
      std::copy_n(from + rows[i] * width, width, to + static_cast<int64_t>(i) * width);
  };
  if (x.type == ElementType::BF16) return copy(x.bf16(), out.bf16());
  copy(x.f32(), out.f32());
}

}  // namespace clipdex::kernels
