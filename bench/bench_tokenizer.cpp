// Tokenizer throughput on short captions (texts/s), with and without the BPE word cache warm.
#include <benchmark/benchmark.h>

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "text/bpe_vocab.h"
#include "text/tokenizer.h"

namespace {

std::vector<std::string> captions() {
  std::ifstream in(std::string(CLIPDEX_SHARED_DIR) + "/fixtures/tokenizer/cases.jsonl");
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line)["text"].get<std::string>());
  return out;
}

const clipdex::text::BpeVocab& vocab() {
  static const auto v = clipdex::text::BpeVocab::load(std::string(CLIPDEX_SHARED_DIR) + "/clip/bpe_simple_vocab_16e6.txt.gz");
  return v;
}

// Warm cache: the steady state of a server answering queries.
void BM_TokenizeCaptionsWarm(benchmark::State& state) {
  const auto texts = captions();
  clipdex::text::Tokenizer tok(vocab());
  for (const auto& t : texts) tok.tokenize(t);
  for (auto _ : state)
    for (const auto& t : texts) benchmark::DoNotOptimize(tok.tokenize(t));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(texts.size()));
}
BENCHMARK(BM_TokenizeCaptionsWarm)->Unit(benchmark::kMicrosecond);

// Cold cache: every word goes through BPE merging.
void BM_TokenizeCaptionsCold(benchmark::State& state) {
  const auto texts = captions();
  for (auto _ : state) {
    state.PauseTiming();
    clipdex::text::Tokenizer tok(vocab());
    state.ResumeTiming();
    for (const auto& t : texts) benchmark::DoNotOptimize(tok.tokenize(t));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(texts.size()));
}
BENCHMARK(BM_TokenizeCaptionsCold)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
