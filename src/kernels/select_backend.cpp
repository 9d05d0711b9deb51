// Which backend a run gets. Auto is decided by measurement on the CPU at hand: bf16 GEMMs are
// 7x fp32 on AMX but ran slower than fp32 on AVX512_BF16 without AMX (oneDNN 2.6.3), so the
// two are timed on a layer of ViT-B's shape and the faster kept. Without native bf16 the
// emulated path is never faster (measured 3.4x slower on Skylake-SP), so it is not timed.
// int8 is never chosen implicitly: it changes the embeddings enough that a library records it
// (see docs/PRECISION.md).
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <random>

#include "kernels/backend.h"
#include "core/error.h"
#include "kernels/cpu_features.h"
#include "kernels/gpu_flat_search.h"

namespace clipdex::kernels {
namespace {

double seconds_per_linear(HostBackend& be) {
  constexpr int64_t kRows = 256, kWidth = 768;
  LinearWeights w;
  w.weight = Tensor({kWidth, kWidth});
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  for (auto& v : w.weight.data) v = dist(rng);
  be.prepare(w);
  std::vector<float> x(kRows * kWidth, 0.5f), y(kRows * kWidth);
  be.linear_f32(x.data(), kRows, w, y.data());  // warm-up: JIT, caches
  double best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    be.linear_f32(x.data(), kRows, w, y.data());
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

Precision measure_auto() {
  if (!cpu_features().avx512_bf16) return Precision::Fp32;
  try {
    const auto fp32 = make_onednn_backend(Precision::Fp32);
    const auto bf16 = make_onednn_backend(Precision::Bf16);
    // bf16 costs a little agreement (cos >= 0.999): take it only for a clear gain.
    return seconds_per_linear(*bf16) < 0.8 * seconds_per_linear(*fp32) ? Precision::Bf16 : Precision::Fp32;
  } catch (const std::exception&) {
    return Precision::Fp32;
  }
}

}  // namespace

Precision resolve_auto_precision() {
  static std::once_flag once;
  static Precision chosen = Precision::Fp32;
  std::call_once(once, [] { chosen = measure_auto(); });
  return chosen;
}

Precision default_precision() {
  if (const char* env = std::getenv("CLIPDEX_PRECISION"); env && *env) {
    const auto p = parse_precision(env);
    if (!p) throw InputError(std::string("CLIPDEX_PRECISION must be auto, fp32, bf16, int8 or fp16, not '") + env + "'");
    if (*p != Precision::Auto) return *p;
  }
  return resolve_auto_precision();
}

std::optional<DeviceSpec> parse_device(const std::string& s) {
  if (s.empty() || s == "cpu") return DeviceSpec{};
  if (s == "cuda") return DeviceSpec{true, 0};
  if (s.rfind("cuda:", 0) != 0 || s.size() == 5 || s.size() > 8) return std::nullopt;
  int index = 0;
  for (char c : s.substr(5)) {
    if (c < '0' || c > '9') return std::nullopt;
    index = index * 10 + (c - '0');
  }
  return DeviceSpec{true, index};
}

DeviceSpec device_spec(const std::string& s) {
  const auto d = parse_device(s);
  if (!d) throw InputError("--device must be cpu, cuda or cuda:N, not '" + s + "'");
  return *d;
}

#ifndef CLIPDEX_HAVE_CUDA
constexpr const char* kNoCuda = "this clipdex was built without CUDA: rebuild with cmake -DCLIPDEX_CUDA=ON to use --device cuda";
bool cuda_built() { return false; }
std::unique_ptr<Backend> make_cuda_backend(int, Precision) { throw InputError(kNoCuda); }
std::unique_ptr<GpuFlatSearch> make_gpu_flat_search(int, int64_t) { throw InputError(kNoCuda); }
#endif

std::unique_ptr<HostBackend> make_backend(Precision precision) {
  if (precision == Precision::Auto) precision = default_precision();
  if (precision == Precision::Fp16)
    throw InputError("fp16 runs on GPUs only (--device cuda); on a CPU use bf16 or fp32");
  try {
    return make_onednn_backend(precision);
  } catch (const std::exception&) {
    if (precision == Precision::Int8) throw;
  }
  if (precision == Precision::Bf16) {
    try {
      return make_onednn_backend(Precision::Fp32, "bf16 asked for: this CPU has no bf16 kernel, fp32 runs instead");
    } catch (const std::exception&) {
    }
  }
  return make_cpu_backend();  // no oneDNN kernels at all: the portable path
}

}  // namespace clipdex::kernels
