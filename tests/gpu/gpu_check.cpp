// The GPU check scripts/gpu-check.sh runs on a machine with an NVIDIA GPU: the CUDA backend
// against the fixtures' float64 goldens and against the CPU backend on fresh random inputs, GPU
// flat search against exact CPU search, then the speed of a full-size random ViT-B/32 and its
// text tower. Prints a table and writes JSON (and the benchmark model's inputs and outputs for
// the PyTorch comparison). Exit status 1 when any check fails.
//   gpu_check --fixtures SHARED/fixtures --out DIR [--seconds 2] [--batches 1,32,256,1024]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "kernels/gpu_flat_search.h"
#include "model/clip_model.h"
#include "model/checkpoint.h"
#include "model/random_model.h"
#include "model/towers.h"

using namespace clipdex;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Agreement {
  double worst_rel = 0, min_cos = 1;
};

// Per row: ‖a − b‖ / ‖b‖ and cos(a, b); the worst over rows.
Agreement compare(const std::vector<float>& a, const std::vector<float>& b, int64_t d) {
  Agreement r;
  for (size_t row = 0; row * d < b.size(); ++row) {
    double diff = 0, nb = 0, na = 0, dot = 0;
    for (int64_t j = 0; j < d; ++j) {
      const double x = a[row * d + j], y = b[row * d + j];
      diff += (x - y) * (x - y);
      nb += y * y;
      na += x * x;
      dot += x * y;
    }
    const bool finite = std::isfinite(diff) && std::isfinite(na);
    r.worst_rel = std::max(r.worst_rel, finite ? std::sqrt(diff / nb) : INFINITY);
    r.min_cos = std::min(r.min_cos, finite ? dot / std::sqrt(na * nb) : -1.0);
  }
  return r;
}

struct Report {
  nlohmann::json checks = nlohmann::json::array();
  int failures = 0;
  void add(const std::string& what, const std::string& precision, const Agreement& a) {
    const bool ok = precision == "fp32" ? a.worst_rel <= 1e-4 : a.min_cos >= 0.999;
    failures += !ok;
    checks.push_back({{"check", what}, {"precision", precision}, {"worst_rel", a.worst_rel}, {"min_cos", a.min_cos},
                      {"ok", ok}});
    std::printf("%-4s %-58s %-5s rel %.2e  cos %.7f\n", ok ? "ok" : "FAIL", what.c_str(), precision.c_str(),
                a.worst_rel, a.min_cos);
  }
  void add_flag(const std::string& what, bool ok, const std::string& detail) {
    failures += !ok;
    checks.push_back({{"check", what}, {"ok", ok}, {"detail", detail}});
    std::printf("%-4s %-58s %s\n", ok ? "ok" : "FAIL", what.c_str(), detail.c_str());
  }
};

std::unique_ptr<model::Model> load(const std::string& path, const std::string& device, const std::string& precision) {
  model::LoadOptions o;
  o.device = device;
  o.precision = *kernels::parse_precision(precision);
  if (device == "cpu") o.portable_kernels = true;  // the fp32 reference path
  return model::Model::load(path, o);
}

const char* kPrecisions[] = {"fp32", "fp16", "bf16"};

// The fixtures' goldens (float64 reference outputs).
void check_goldens(const std::string& fixtures, Report& report) {
  for (const std::string name : {"vit-tiny", "vit-tiny/hf", "vit-b32-1layer-f16", "rn-tiny"}) {
    const std::string folder = name.substr(0, name.find('/'));
    if (!fs::exists(fixtures + "/models/" + name)) {  // the device run carries only some (its upload is bounded)
      std::printf("skip %s (not carried)\n", name.c_str());
      continue;
    }
    const auto golden = SafeTensors::open(fixtures + "/models/" + folder + "/golden.safetensors");
    const auto pixels = golden.get("random_pixels").to_f32();
    const auto ids = golden.get("text_ids").to_i32();
    const int64_t n_img = golden.get("random_pixels").shape[0], n_txt = golden.get("text_ids").shape[0];
    for (const char* p : kPrecisions) {
      const auto m = load(fixtures + "/models/" + name, "cuda", p);
      const int64_t d = m->embed_dim();
      report.add(name + " image vs golden", p, compare(m->encode_images(pixels.data(), n_img),
                                                       golden.get("random_pixels_embeds").to_f32(), d));
      report.add(name + " text vs golden", p,
                 compare(m->encode_texts(ids.data(), n_txt, 77), golden.get("text_embeds").to_f32(), d));
    }
  }
}

std::vector<float> random_pixels(int64_t n, int64_t size, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n * 3 * size * size));
  for (auto& x : v) x = dist(rng);
  return v;
}

// Token rows as the tokenizer writes them: start, ids, end (the highest id), zero padding.
std::vector<int32_t> random_ids(int64_t n, int64_t context, int vocab, std::mt19937& rng) {
  std::vector<int32_t> ids(static_cast<size_t>(n * context), 0);
  for (int64_t s = 0; s < n; ++s) {
    const int64_t len = 2 + static_cast<int64_t>(rng() % static_cast<unsigned>(context - 2));
    ids[s * context] = vocab - 2;
    for (int64_t i = 1; i + 1 < len; ++i) ids[s * context + i] = static_cast<int32_t>(1 + rng() % (vocab - 3));
    ids[s * context + len - 1] = vocab - 1;
  }
  return ids;
}

// Fresh random inputs, odd batch sizes: the CUDA backend against the CPU fp32 backend.
void check_random(const std::string& path, const std::string& tag, Report& report, std::mt19937& rng) {
  struct Case {
    int64_t batch;
    std::vector<float> pixels, want_img;
    std::vector<int32_t> ids;
    std::vector<float> want_txt;
  };
  std::vector<Case> cases;
  int64_t ctx = 0;
  {
    const auto cpu = load(path, "cpu", "fp32");
    const int64_t S = cpu->preprocess_config().size;
    ctx = cpu->context_length();
    const int vocab = cpu->config().text.vocab_size;
    for (int64_t batch : {1, 5, 33}) {
      Case c{batch, random_pixels(batch, S, rng), {}, random_ids(batch, ctx, vocab, rng), {}};
      c.want_img = cpu->encode_images(c.pixels.data(), batch);
      c.want_txt = cpu->encode_texts(c.ids.data(), batch, ctx);
      cases.push_back(std::move(c));
    }
  }
  for (const char* p : kPrecisions) {
    const auto gpu = load(path, "cuda", p);
    const int64_t d = gpu->embed_dim();
    for (const auto& c : cases) {
      report.add(fmt::format("{} image b{} vs CPU backend", tag, c.batch), p,
                 compare(gpu->encode_images(c.pixels.data(), c.batch), c.want_img, d));
      report.add(fmt::format("{} text b{} vs CPU backend", tag, c.batch), p,
                 compare(gpu->encode_texts(c.ids.data(), c.batch, ctx), c.want_txt, d));
    }
  }
}

// GPU flat search against exact CPU scoring (fp32 dot products, ordered by score then id).
void check_flat_search(Report& report, std::mt19937& rng, nlohmann::json& bench) {
  const int64_t n = 100000, d = 512;
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n * d));
  for (int64_t i = 0; i < n; ++i) {
    double norm = 0;
    for (int64_t j = 0; j < d; ++j) norm += double(x[i * d + j] = dist(rng)) * x[i * d + j];
    for (int64_t j = 0; j < d; ++j) x[i * d + j] = static_cast<float>(x[i * d + j] / std::sqrt(norm));
  }
  auto gpu = kernels::make_gpu_flat_search(0, d);
  gpu->add(x.data(), n / 2);
  gpu->add(x.data() + n / 2 * d, n - n / 2);  // grows the device array
  for (int64_t nq : {1, 7, 100}) {
    std::vector<float> q(static_cast<size_t>(nq * d));
    for (auto& v : q) v = dist(rng);
    std::vector<std::vector<float>> exact(static_cast<size_t>(nq), std::vector<float>(static_cast<size_t>(n)));
    for (int64_t qi = 0; qi < nq; ++qi)
      for (int64_t i = 0; i < n; ++i) {
        float acc = 0;
        for (int64_t j = 0; j < d; ++j) acc += q[qi * d + j] * x[i * d + j];
        exact[qi][i] = acc;
      }
    for (int64_t k : {1, 10, 100}) {
      std::vector<float> scores(static_cast<size_t>(nq * k));
      std::vector<int64_t> ids(static_cast<size_t>(nq * k));
      gpu->search(q.data(), nq, k, scores.data(), ids.data());
      int64_t mismatched = 0;
      double worst = 0;
      for (int64_t qi = 0; qi < nq; ++qi) {
        const auto& s = exact[qi];
        std::vector<int64_t> order(static_cast<size_t>(n));
        std::iota(order.begin(), order.end(), 0);
        std::partial_sort(order.begin(), order.begin() + k, order.end(),
                          [&](int64_t a, int64_t b) { return s[a] != s[b] ? s[a] > s[b] : a < b; });
        for (int64_t j = 0; j < k; ++j) {
          const int64_t got = ids[qi * k + j];
          worst = std::max(worst, double(std::abs(scores[qi * k + j] - s[order[j]])));
          // A different id is acceptable only where the two scores tie within rounding.
          if (got != order[j] && (got < 0 || got >= n || std::abs(s[got] - s[order[j]]) > 1e-5f)) ++mismatched;
        }
      }
      report.add_flag(fmt::format("flat search {}x{} nq {} k {} vs exact CPU", n, d, nq, k),
                      mismatched == 0 && worst <= 1e-4, fmt::format("{} mismatched, score diff {:.1e}", mismatched, worst));
    }
  }
  // Fewer vectors than k: the rest of the row is id -1.
  {
    auto small = kernels::make_gpu_flat_search(0, d);
    small->add(x.data(), 3);
    std::vector<float> scores(5);
    std::vector<int64_t> ids(5);
    small->search(x.data(), 1, 5, scores.data(), ids.data());
    report.add_flag("flat search with fewer vectors than k", ids[0] == 0 && ids[3] == -1 && ids[4] == -1,
                    fmt::format("ids {} {} {} {} {}", ids[0], ids[1], ids[2], ids[3], ids[4]));
  }
  // Speed: 1M vectors, one query and 1,000 queries, k = 10.
  gpu = kernels::make_gpu_flat_search(0, d);
  for (int part = 0; part < 10; ++part) {
    for (auto& v : x) v = dist(rng) * 0.044f;
    gpu->add(x.data(), n);
  }
  for (int64_t nq : {1, 1000}) {
    std::vector<float> q(static_cast<size_t>(nq * d));
    for (auto& v : q) v = dist(rng);
    std::vector<float> scores(static_cast<size_t>(nq * 10));
    std::vector<int64_t> ids(static_cast<size_t>(nq * 10));
    gpu->search(q.data(), nq, 10, scores.data(), ids.data());
    std::vector<double> ms;
    for (int rep = 0; rep < 20; ++rep) {
      const auto t0 = Clock::now();
      gpu->search(q.data(), nq, 10, scores.data(), ids.data());
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    bench["flat_search"].push_back(
        {{"vectors", gpu->size()}, {"dim", d}, {"queries", nq}, {"k", 10}, {"p50_ms", ms[ms.size() / 2]}});
  }
}

double images_per_second(model::Model& m, const std::vector<float>& pixels, int64_t batch, double seconds) {
  m.encode_images(pixels.data(), batch);  // warm-up: plans, pools
  int64_t iters = 0;
  const auto t0 = Clock::now();
  while (iters < 3 || std::chrono::duration<double>(Clock::now() - t0).count() < seconds) {
    m.encode_images(pixels.data(), batch);
    ++iters;
  }
  return static_cast<double>(batch * iters) / std::chrono::duration<double>(Clock::now() - t0).count();
}

// The image tower alone, pixels already on the GPU (uploaded once), as PyTorch's numbers are
// taken; and what one upload of the batch's fp32 pixels costs.
nlohmann::json model_only(const std::string& dir, kernels::Precision p, const std::vector<float>& pixels,
                          const std::vector<int64_t>& batches, double seconds) {
  auto ck = model::Checkpoint::open(dir + "/open_clip_model.safetensors");
  const auto cfg = model::builtin_config("ViT-B-32");
  const auto be = kernels::make_cuda_backend(0, p);
  const auto tower = model::load_vit(ck, *be, cfg);
  nlohmann::json row;
  const auto sync = [&] {
    float one = 0;
    const auto probe = be->alloc(1, kernels::Role::Stream);
    be->download(probe.view, 1, &one);
  };
  for (int64_t b : batches) {
    const int64_t count = b * 3 * 224 * 224;
    sync();
    auto t0 = Clock::now();
    const auto px = be->upload(pixels.data(), count, kernels::Role::Work);
    sync();
    row["upload_ms"][std::to_string(b)] = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    tower->encode_uploaded(*be, px.view, b);
    int64_t iters = 0;
    t0 = Clock::now();
    while (iters < 3 || std::chrono::duration<double>(Clock::now() - t0).count() < seconds) {
      tower->encode_uploaded(*be, px.view, b);
      ++iters;
    }
    row["images_per_s"][std::to_string(b)] =
        static_cast<double>(b * iters) / std::chrono::duration<double>(Clock::now() - t0).count();
  }
  return row;
}

double text_p50_ms(model::Model& m, const std::vector<int32_t>& ids, int64_t ctx) {
  m.encode_texts(ids.data(), 1, ctx);
  std::vector<double> ms;
  for (int rep = 0; rep < 200; ++rep) {
    const auto t0 = Clock::now();
    m.encode_texts(ids.data(), 1, ctx);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string fixtures, out = ".", batches_arg = "1,32,256,1024";
  double seconds = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--fixtures") fixtures = argv[i + 1];
    else if (a == "--out") out = argv[i + 1];
    else if (a == "--seconds") seconds = std::atof(argv[i + 1]);
    else if (a == "--batches") batches_arg = argv[i + 1];
  }
  if (fixtures.empty()) {
    std::fprintf(stderr, "usage: gpu_check --fixtures SHARED/fixtures --out DIR [--seconds S] [--batches 1,32]\n");
    return 2;
  }
  Report report;
  nlohmann::json bench;
  std::mt19937 rng(std::random_device{}());  // fresh inputs every run
  try {
    check_goldens(fixtures, report);
    if (fs::exists(fixtures + "/models/vit-b32-1layer-f16"))
      check_random(fixtures + "/models/vit-b32-1layer-f16", "vit-b32-1layer", report, rng);

    // Head widths other than 64 (the attention kernels specialise on it), and exact-erf GELU.
    {
      auto cfg = model::builtin_config("ViT-B-32");
      cfg.quick_gelu = false;
      cfg.embed_dim = 128;
      cfg.vision.width = 256, cfg.vision.head_width = 128, cfg.vision.layers = 2, cfg.vision.mlp_width = 1024;
      cfg.text.width = 160, cfg.text.heads = 2, cfg.text.layers = 2, cfg.text.mlp_width = 640;
      model::write_random_model(cfg, out + "/heads-128-80", 7, DType::F32);
      check_random(out + "/heads-128-80", "heads 128 (image) / 80 (text), GELU", report, rng);
      cfg.vision.width = 128, cfg.vision.head_width = 32, cfg.vision.mlp_width = 512;
      cfg.text.width = 96, cfg.text.heads = 3, cfg.text.mlp_width = 384;
      model::write_random_model(cfg, out + "/heads-32", 8, DType::F32);
      check_random(out + "/heads-32", "heads 32, GELU", report, rng);
    }
    // The full-size benchmark model: ViT-B/32's shapes, random fp16 weights as OpenAI publishes.
    const std::string vitb32 = out + "/vit-b-32-random";
    model::write_random_model(model::builtin_config("ViT-B-32"), vitb32, 42, DType::F16);
    check_random(vitb32, "ViT-B/32 random", report, rng);
    check_flat_search(report, rng, bench);

    std::vector<int64_t> batches;
    for (size_t p = 0; p < batches_arg.size();) {
      const size_t c = batches_arg.find(',', p);
      batches.push_back(std::stoll(batches_arg.substr(p, c - p)));
      p = c == std::string::npos ? batches_arg.size() : c + 1;
    }
    const int64_t most = *std::max_element(batches.begin(), batches.end());
    const auto pixels = random_pixels(most, 224, rng);
    std::vector<int32_t> caption(77, 0);  // "a photo of a cat": start, 5 ids, end
    const int32_t words[] = {49406, 320, 1125, 539, 320, 2368, 49407};
    std::copy(std::begin(words), std::end(words), caption.begin());
    for (const char* p : kPrecisions) {
      const auto m = load(vitb32, "cuda", p);
      if (bench["device"].is_null()) bench["device"] = m->info().device;
      nlohmann::json row = {{"precision", p}, {"kernels", m->info().kernels}};
      for (int64_t b : batches) row["images_per_s"][std::to_string(b)] = images_per_second(*m, pixels, b, seconds);
      row["text_b1_p50_ms"] = text_p50_ms(*m, caption, 77);
      bench["clipdex"].push_back(row);
      if (std::string(p) != "fp32") {
        auto alone = model_only(vitb32, *kernels::parse_precision(p), pixels, batches, seconds);
        alone["precision"] = std::string(p) + ", model only";
        std::printf("clipdex %-5s model only %s  upload %s\n", p, alone["images_per_s"].dump().c_str(),
                    alone["upload_ms"].dump().c_str());
        bench["clipdex_model_only"].push_back(alone);
      }
      std::printf("clipdex %-5s %s  text b1 p50 %.2f ms\n", p, row["images_per_s"].dump().c_str(),
                  row["text_b1_p50_ms"].get<double>());
    }
    // Where the GPU time of a 1024-image fp16 batch goes (printed when the backend goes).
    setenv("CLIPDEX_CUDA_PROFILE", "1", 1);
    model_only(vitb32, kernels::Precision::Fp16, pixels, {most}, 0.0);
    unsetenv("CLIPDEX_CUDA_PROFILE");
    // Inputs and fp16 outputs for the PyTorch agreement check (bench/peers/gpu_torch.py).
    {
      const auto m = load(vitb32, "cuda", "fp16");
      const int64_t n = 8;
      const std::vector<float> px(pixels.begin(), pixels.begin() + n * 3 * 224 * 224);
      const auto ids = random_ids(n, 77, 49408, rng);
      const auto img = m->encode_images(px.data(), n), txt = m->encode_texts(ids.data(), n, 77);
      std::ofstream f(out + "/agreement.json");
      f << nlohmann::json{{"pixels_file", "agreement_pixels.f32"}, {"n", n}, {"ids", ids}, {"image", img}, {"text", txt}};
      std::ofstream(out + "/agreement_pixels.f32", std::ios::binary)
          .write(reinterpret_cast<const char*>(px.data()), static_cast<std::streamsize>(px.size() * 4));
    }
  } catch (const std::exception& e) {
    report.add_flag("gpu_check ran to the end", false, e.what());
  }
  std::ofstream(out + "/clipdex_gpu.json") << nlohmann::json{{"checks", report.checks}, {"bench", bench},
                                                             {"failures", report.failures}}
                                                  .dump(1);
  std::printf("%d check(s) failed\n", report.failures);
  return report.failures == 0 ? 0 : 1;
}
