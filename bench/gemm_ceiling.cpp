// What this CPU's matrix products allow a ViT image tower, before any other op: each thread runs
// the tower's GEMM chain (patch embedding, then per layer q|k|v, out_proj, c_fc, c_proj, each in
// the column blocks clipdex packs) through oneDNN alone, on its own passes of --images images,
// the threads at once over one shared copy of the weights (far larger than the caches, as in a
// real pass). Prints one JSON object: per precision the GEMMs' rate and the images/s that rate
// caps a tower at — an engine that runs every GEMM of the standard forward, and clipdex, whose
// last block finishes only the class rows. Sets the other ops' share of a measured images/s.
//   build/bench/gemm_ceiling [--threads 2] [--seconds 3] [--precisions fp32,bf16,int8]
//                            [--width 768] [--mlp 3072] [--layers 12] [--tokens 50]
//                            [--patch-values 3072] [--images 4]     (defaults: ViT-B/32)
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <dnnl.hpp>
#include <nlohmann/json.hpp>

#include "kernels/cpu_features.h"

using namespace clipdex;
using dt = dnnl::memory::data_type;
using Clock = std::chrono::steady_clock;

namespace {

struct Shape {
  int64_t k, n;
};

struct Tower {
  int64_t width = 768, mlp = 3072, layers = 12, tokens = 50, patch_values = 3072;
  // The products of one image: the standard forward's, and clipdex's (the last block's q, out_proj
  // and MLP for the class row alone).
  double ops_full() const {
    const double patches = static_cast<double>(tokens - 1);
    const double per_token = static_cast<double>(width * 3 * width + width * width + 2 * width * mlp);
    return 2.0 * (patches * patch_values * width + static_cast<double>(layers * tokens) * per_token);
  }
  double ops_clipdex() const {
    const double skipped = static_cast<double>(tokens - 1) *
                           static_cast<double>(width * width + width * width + 2 * width * mlp);
    return ops_full() - 2.0 * skipped;
  }
};

struct Precision {
  std::string name;
  dt src, wei, dst;
};

// One column block's matmul and its weights in the layout oneDNN picked.
struct Block {
  dnnl::matmul matmul;
  dnnl::memory::desc src, dst, scratch;
  dnnl::memory weights;
  int64_t rows, k, n;
  std::string impl;  // oneDNN's name for the implementation it picked
};

Block make_block(const dnnl::engine& eng, dnnl::stream& s, const Precision& p, int64_t rows, int64_t k, int64_t n,
                 std::mt19937& rng) {
  using tag = dnnl::memory::format_tag;
  const dnnl::memory::desc src({rows, k}, p.src, tag::ab), dst({rows, n}, p.dst, tag::ab);
  const dnnl::memory::desc any({k, n}, p.wei, tag::any), plain({k, n}, p.wei, tag::ab);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, any, dst), attr, eng);
  dnnl::memory raw(plain, eng), packed(pd.weights_desc(), eng);
  auto* bytes = static_cast<uint8_t*>(raw.get_data_handle());
  // Small random values of any type: bytes 0..3 make finite fp32 / bf16 and small int8.
  for (size_t i = 0; i < plain.get_size(); ++i) bytes[i] = static_cast<uint8_t>(rng() & 3);
  dnnl::reorder(raw, packed).execute(s, raw, packed);
  s.wait();
  return {dnnl::matmul(pd), src, dst, pd.scratchpad_desc(), packed, rows, k, n, pd.impl_info_str()};
}

// The chain of one pass of `images` images: the patch embedding, then each layer's four linear
// layers, each split into `threads` column blocks as clipdex packs them.
std::vector<Block> make_chain(const dnnl::engine& eng, const Precision& p, const Tower& t, int64_t images,
                              int64_t threads) {
  dnnl::stream s(eng);
  std::mt19937 rng(1);
  std::vector<Block> chain;
  const auto add = [&](int64_t rows, Shape sh) {
    const int64_t count = std::clamp<int64_t>(sh.n / 64, 1, threads), width = (sh.n + count - 1) / count;
    for (int64_t n0 = 0; n0 < sh.n; n0 += width)
      chain.push_back(make_block(eng, s, p, rows, sh.k, std::min(width, sh.n - n0), rng));
  };
  const int64_t rows = images * t.tokens;
  add(images * (t.tokens - 1), {t.patch_values, t.width});
  for (int64_t l = 0; l < t.layers; ++l) {
    add(rows, {t.width, 3 * t.width});
    add(rows, {t.width, t.width});
    add(rows, {t.width, t.mlp});
    add(rows, {t.mlp, t.width});
  }
  return chain;
}

double chain_ops(const std::vector<Block>& chain) {
  double ops = 0;
  for (const auto& b : chain) ops += 2.0 * static_cast<double>(b.rows * b.k * b.n);
  return ops;
}

// Every thread runs passes over the chain for `seconds`; returns the products' rate in GOP/s.
double run_threads(const dnnl::engine& eng, const std::vector<Block>& chain, int64_t threads, double seconds) {
  std::atomic<int64_t> passes{0};
  std::vector<std::thread> workers;
  for (int64_t i = 0; i < threads; ++i)
    workers.emplace_back([&] {
      omp_set_num_threads(1);  // one core per thread, as the pool runs oneDNN
      dnnl::stream s(eng);
      size_t biggest_src = 0, biggest_dst = 0, biggest_scratch = 1;
      for (const auto& b : chain) {
        biggest_src = std::max(biggest_src, b.src.get_size());
        biggest_dst = std::max(biggest_dst, b.dst.get_size());
        biggest_scratch = std::max(biggest_scratch, b.scratch.get_size());
      }
      std::vector<uint8_t> src(biggest_src, 1), dst(biggest_dst), scratch(biggest_scratch);
      const auto pass = [&] {
        for (const auto& b : chain) {
          b.matmul.execute(s, {{DNNL_ARG_SRC, dnnl::memory(b.src, eng, src.data())},
                               {DNNL_ARG_WEIGHTS, b.weights},
                               {DNNL_ARG_DST, dnnl::memory(b.dst, eng, dst.data())},
                               {DNNL_ARG_SCRATCHPAD, dnnl::memory(b.scratch, eng, scratch.data())}});
        }
        s.wait();
      };
      pass();  // warm: first-touch of the buffers
      const auto start = Clock::now();
      int64_t mine = 0;
      while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
        pass();
        ++mine;
      }
      passes += mine;
    });
  const auto start = Clock::now();
  for (auto& w : workers) w.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  return chain_ops(chain) * static_cast<double>(passes.load()) / elapsed / 1e9;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Tower tower;
  int64_t threads = std::max(1u, std::thread::hardware_concurrency()), images = 4;
  double seconds = 3;
  std::string precisions = "fp32,bf16,int8";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--threads") threads = std::stoll(value);
    else if (flag == "--seconds") seconds = std::stod(value);
    else if (flag == "--precisions") precisions = value;
    else if (flag == "--width") tower.width = std::stoll(value);
    else if (flag == "--mlp") tower.mlp = std::stoll(value);
    else if (flag == "--layers") tower.layers = std::stoll(value);
    else if (flag == "--tokens") tower.tokens = std::stoll(value);
    else if (flag == "--patch-values") tower.patch_values = std::stoll(value);
    else if (flag == "--images") images = std::stoll(value);
    else {
      std::fprintf(stderr, "unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  const dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  const auto& cpu = kernels::cpu_features();
  nlohmann::json report{{"cpu", cpu.model}, {"onednn_isa", cpu.onednn_isa}, {"threads", threads},
                        {"images_per_pass", images}, {"ops_per_image_full", tower.ops_full()},
                        {"ops_per_image_clipdex", tower.ops_clipdex()}};
  const std::vector<Precision> known = {{"fp32", dt::f32, dt::f32, dt::f32},
                                        {"bf16", dt::bf16, dt::bf16, dt::f32},
                                        {"int8", dt::u8, dt::s8, dt::s32}};
  for (const auto& name : split(precisions)) {
    const auto p = std::find_if(known.begin(), known.end(), [&](const Precision& k) { return k.name == name; });
    if (p == known.end()) {
      std::fprintf(stderr, "unknown precision %s\n", name.c_str());
      return 2;
    }
    try {
      const auto chain = make_chain(eng, *p, tower, images, threads);
      const double gops = run_threads(eng, chain, threads, seconds);
      report["precisions"][name] = {{"gop_per_second", gops},
                                    {"impl", chain.back().impl},
                                    {"images_per_second_full", gops * 1e9 / tower.ops_full()},
                                    {"images_per_second_clipdex", gops * 1e9 / tower.ops_clipdex()}};
    } catch (const dnnl::error& e) {
      report["precisions"][name] = {{"error", e.what()}};  // this CPU has no such matmul
    }
  }
  std::printf("%s\n", report.dump().c_str());
  return 0;
}
