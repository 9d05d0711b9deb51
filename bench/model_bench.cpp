// Model speed as bench/compare_peers measures every engine: load time, image throughput at
// several batch sizes, one-caption text latency, peak RSS; optionally embeddings of given
// inputs for agreement checks. Prints one JSON object.
//   build/bench/model_bench --model DIR --vocab VOCAB [--batches 1,8,32] [--seconds 3]
//                           [--inputs in.safetensors --outputs out.safetensors] [--load-only 1]
//                           [--precision auto|fp32|bf16|int8] [--portable 1] [--text-queries 200]
//                           [--text-batch 256]  (captions per second embedding that many at once)
//                           (threads: one per core)
#include <sys/resource.h>

#include <algorithm>
#include <numeric>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "pipeline/embedder.h"

using namespace clipdex;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, vocab, inputs, outputs, batches = "1,8,32", caption = "a photo of a cat";
  double seconds = 3;
  bool load_only = false;
  std::string precision = "auto";
  bool portable = false;  // the OpenBLAS fp32 fallback, as a baseline
  int text_queries = 200;  // at most this many timed text queries (more to profile them)
  int text_batch = 0;      // captions embedded at once for bulk text throughput (0: not measured)
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--model") model = argv[i + 1];
    else if (a == "--vocab") vocab = argv[i + 1];
    else if (a == "--batches") batches = argv[i + 1];
    else if (a == "--seconds") seconds = std::atof(argv[i + 1]);
    else if (a == "--inputs") inputs = argv[i + 1];
    else if (a == "--outputs") outputs = argv[i + 1];
    else if (a == "--caption") caption = argv[i + 1];
    else if (a == "--load-only") load_only = std::string(argv[i + 1]) == "1";
    else if (a == "--precision") precision = argv[i + 1];
    else if (a == "--portable") portable = std::string(argv[i + 1]) == "1";
    else if (a == "--text-queries") text_queries = std::stoi(argv[i + 1]);
    else if (a == "--text-batch") text_batch = std::stoi(argv[i + 1]);
  }
  model::LoadOptions options;
  const auto p = kernels::parse_precision(precision);
  if (!p) {
    std::fprintf(stderr, "--precision: auto, fp32, bf16 or int8\n");
    return 2;
  }
  options.precision = *p;
  options.portable_kernels = portable;
  nlohmann::ordered_json out;
  auto t0 = Clock::now();
  const auto emb = pipeline::Embedder::open(model, vocab, options);
  out["load_seconds"] = since(t0);
  const auto& m = emb->model();
  const int64_t S = m.preprocess_config().size;
  out["engine"] = "clipdex:" + m.info().precision + (portable ? "-portable" : "");
  out["kernels"] = m.info().kernels;
  out["model"] = m.model_id();
  out["container"] = m.info().container;
  if (load_only) {
    out["peak_rss_mb"] = peak_rss_mb();
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }

  {  // One input array for the largest batch, each batch its first images (as run_peer.py gives
     // every peer): an array per batch size left the smaller ones' pages behind in the heap.
    std::vector<int64_t> sizes;
    std::istringstream bs(batches);
    for (std::string b; std::getline(bs, b, ',');) sizes.push_back(std::stoll(b));
    std::mt19937 rng(1);
    std::normal_distribution<float> g;
    std::vector<float> px(static_cast<size_t>(*std::max_element(sizes.begin(), sizes.end()) * 3 * S * S));
    for (auto& x : px) x = g(rng);
    for (const int64_t n : sizes) {
      m.encode_images(px.data(), n);  // warm-up
      int iters = 0;
      t0 = Clock::now();
      while (iters < 2 || since(t0) < seconds) {
        m.encode_images(px.data(), n);
        ++iters;
      }
      out["images_per_second"][std::to_string(n)] = static_cast<double>(n) * iters / since(t0);
    }
  }
  std::vector<double> lat;
  emb->embed_texts({caption}, true);
  for (int i = 0; i < text_queries && (i < 20 || std::accumulate(lat.begin(), lat.end(), 0.0) < seconds * 1000.0);
       ++i) {
    t0 = Clock::now();
    emb->embed_texts({caption}, true);  // tokenize + encode, as a query does
    lat.push_back(since(t0) * 1000.0);
  }
  std::sort(lat.begin(), lat.end());
  out["text_latency_ms"] = {{"p50", lat[lat.size() / 2]}, {"p99", lat[std::min(lat.size() - 1, lat.size() * 99 / 100)]}};
  if (text_batch > 0) {  // captions of 5 to 20 words, as a prompt ensemble or a caption set has
    std::vector<std::string> captions;
    const char* words[] = {"a", "photo", "of", "the", "small", "red", "dog", "on", "grass", "near", "river"};
    for (int i = 0; i < text_batch; ++i) {
      std::string c = "a photo of";
      for (int w = 0; w < 2 + i % 16; ++w) c += std::string(" ") + words[(i * 7 + w * 3) % 11];
      captions.push_back(c);
    }
    emb->embed_texts(captions, true);
    int iters = 0;
    t0 = Clock::now();
    while (iters < 2 || since(t0) < seconds) {
      emb->embed_texts(captions, true);
      ++iters;
    }
    out["texts_per_second"] = static_cast<double>(text_batch) * iters / since(t0);
  }
  if (!inputs.empty()) {
    const auto st = SafeTensors::open(inputs);
    const auto& p = st.get("pixels");
    const auto px = p.to_f32();
    const auto ids = st.get("text_ids").to_i32();
    const auto img = m.encode_images(px.data(), p.shape[0]);
    const auto txt = m.encode_texts(ids.data(), st.get("text_ids").shape[0], st.get("text_ids").shape[1]);
    write_safetensors(outputs, {{"image_embeds", make_f32_tensor({p.shape[0], m.embed_dim()}, img)},
                                {"text_embeds", make_f32_tensor({st.get("text_ids").shape[0], m.embed_dim()}, txt)}});
  }
  out["peak_rss_mb"] = peak_rss_mb();
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
