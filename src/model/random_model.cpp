#include "model/random_model.h"

#include <cmath>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "model/checkpoint.h"
#include "model/towers.h"

namespace clipdex::model {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A small fast generator (splitmix64); each tensor gets its own stream, so tensors can be
// filled in parallel and the result depends only on the seed.
struct Rng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  float uniform() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f); }
  // Approximately standard normal (Irwin-Hall with four terms): plenty for benchmark weights.
  float normal() { return (uniform() + uniform() + uniform() + uniform() - 2.0f) * 1.7320508f; }
};

// Values with the scales a trained CLIP has, so activations stay in a realistic range.
void fill(const std::string& name, const std::vector<int64_t>& shape, Rng& rng, std::vector<float>& v) {
  const bool norm = name.find("ln_") != std::string::npos || name.find(".bn") != std::string::npos ||
                    name.find("downsample.1") != std::string::npos;
  const int64_t fan_in = shape.size() >= 2 ? Tensor::count(shape) / shape[0] : 1;
  const float weight_scale =
      shape.size() >= 2 && name.find("embedding") == std::string::npos ? 1.0f / std::sqrt(float(fan_in)) : 0.02f;
  for (auto& x : v) {
    if (name == "logit_scale") x = std::log(100.0f);
    else if (ends_with(name, "running_var")) x = 0.5f + std::abs(rng.normal()) * 0.5f;
    else if (ends_with(name, "running_mean")) x = 0.1f * rng.normal();
    else if (norm) x = ends_with(name, "weight") ? 1.0f + 0.1f * rng.normal() : 0.02f * rng.normal();
    else if (ends_with(name, "bias")) x = 0.01f * rng.normal();
    else x = weight_scale * rng.normal();
  }
}

TensorData encode(const std::vector<float>& v, const std::vector<int64_t>& shape, DType dtype) {
  TensorData t;
  t.dtype = dtype;
  t.shape = shape;
  t.bytes.resize(v.size() * dtype_size(dtype));
  for (size_t i = 0; i < v.size(); ++i) {
    if (dtype == DType::F32) {
      std::memcpy(&t.bytes[i * 4], &v[i], 4);
    } else {
      const uint16_t h = dtype == DType::F16 ? f32_to_f16(v[i]) : f32_to_bf16(v[i]);
      std::memcpy(&t.bytes[i * 2], &h, 2);
    }
  }
  return t;
}

}  // namespace

void write_random_model(const ModelConfig& cfg, const std::string& dir, uint64_t seed, DType dtype) {
  if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16)
    throw_input("random models are written as F32, F16 or BF16");
  Checkpoint rec = Checkpoint::recorder();
  auto be = kernels::make_cpu_backend();
  if (cfg.vision.kind == VisionKind::ViT) load_vit(rec, *be, cfg);
  else load_resnet(rec, *be, cfg);
  ClipTextTower::load(rec, *be, cfg);
  rec.take("logit_scale", {});

  const auto& wanted = rec.recorded();
  std::vector<TensorData> data(wanted.size());
  ThreadPool::global().parallel_for(wanted.size(), [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      const auto& [name, shape] = wanted[i];
      Rng rng{seed * 0x2545f4914f6cdd1dull + std::hash<std::string>{}(name)};
      std::vector<float> v(static_cast<size_t>(Tensor::count(shape)));
      fill(name, shape, rng, v);
      data[i] = encode(v, shape, dtype);
    }
  });
  std::map<std::string, TensorData> tensors;
  for (size_t i = 0; i < wanted.size(); ++i) tensors[wanted[i].first] = std::move(data[i]);
  std::filesystem::create_directories(dir);
  write_safetensors(dir + "/open_clip_model.safetensors", tensors, {{"format", "pt"}});
  write_file_atomic(dir + "/open_clip_config.json", to_open_clip_config(cfg).dump(1));
}

}  // namespace clipdex::model
