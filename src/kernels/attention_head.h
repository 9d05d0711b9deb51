#pragma once
// One attention head over one sequence on the CPU, single-threaded (callers spread heads over the
// pool). Written out rather than as two BLAS calls: a ViT head is a 50 x 64 x 50 product, where
// OpenBLAS spent more time packing its operands than multiplying (7.7% of an int8 ViT-B/32 pass
// at batch 32 for 2% of its FLOPs).
#include <cstdint>
#include <vector>

namespace clipdex::kernels {

struct HeadInput {
  const float* q = nullptr;  // query i's d values at q + i * ldq
  int64_t ldq = 0;
  const float* k = nullptr;  // key / value j's d values at k + j * ldkv, v + j * ldkv
  const float* v = nullptr;
  int64_t ldkv = 0;
  int64_t queries = 0, keys = 0, d = 0;
  float scale = 1.0f;
  bool causal = false;  // query i sees keys 0..i (queries and keys are the same positions)
};

// out[i * ldo + c] = Σ_j softmax_j(scale · q_i · k_j) · v_j[c] for every query i and c < d.
// `scratch` is reused between calls. The kernel is built per x86-64 level with that level's
// vector width (16 floats for AVX-512, 8 for AVX2, 4 for the SSE2 baseline); isa_level 0 runs
// the widest this CPU has, 4, 3 or 1 that level's build (the tests check each one the CPU has;
// InputError where it has not).
void attend_head(const HeadInput& in, float* out, int64_t ldo, std::vector<float>& scratch, int isa_level = 0);

// The same head from bf16 q, k and v (rows as in HeadInput, strides in bf16 values).
struct HeadInputBf16 {
  const uint16_t* q = nullptr;
  int64_t ldq = 0;
  const uint16_t* k = nullptr;
  const uint16_t* v = nullptr;
  int64_t ldkv = 0;
  int64_t queries = 0, keys = 0, d = 0;
  float scale = 1.0f;
  bool causal = false;
};

// attend_head on bf16 inputs with the CPU's bf16 dot products (AVX512_BF16): sums in fp32, the
// softmax in fp32, its probabilities rounded to bf16 for the second product. Returns false, having
// done nothing, where this CPU has no bf16 dot product or the head's size is not a multiple of
// 16 (the caller then widens the inputs for attend_head).
bool attend_head_bf16(const HeadInputBf16& in, float* out, int64_t ldo, std::vector<float>& scratch);

}  // namespace clipdex::kernels
