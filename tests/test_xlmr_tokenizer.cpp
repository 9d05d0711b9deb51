// The XLM-R tokenizer of the multilingual towers against the reference ids (228 cases in 15+
// languages, special tokens, NFKC cases, unknown scripts), read from sentencepiece.bpe.model and
// from tokenizer.json, through the library and through `clipdex tokenize`.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "text/xlmr_tokenizer.h"
#include "test_util.h"

using namespace clipdex;
namespace fs = std::filesystem;

namespace {

struct Case {
  std::string text;
  std::vector<int32_t> ids;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  std::istringstream in(read_file(test::shared_path("fixtures/multilingual/tokenizer/cases.jsonl")));
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    out.push_back({j["text"].get<std::string>(), j["ids"].get<std::vector<int32_t>>()});
  }
  return out;
}

}  // namespace

TEST(XlmrTokenizer, EveryCaseFromBothFiles) {
  const auto all = cases();
  ASSERT_EQ(all.size(), 228u);
  const std::string dir = test::shared_path("fixtures/multilingual/tokenizer");
  for (const std::string& source : {dir + "/sentencepiece.bpe.model", dir + "/tokenizer.json"}) {
    const auto tok = text::XlmrTokenizer::load(source);
    EXPECT_EQ(tok.source(), source);
    EXPECT_EQ(tok.mask_id(), 4001);
    size_t same = 0;
    for (const auto& c : all) {
      const auto ids = tok.encode(c.text);
      EXPECT_EQ(ids, c.ids) << source << ": " << c.text;
      same += ids == c.ids;
    }
    std::cout << "[ parity ] " << source << ": " << same << "/" << all.size() << " identical\n";
  }
  // A folder prefers the SentencePiece model, as the reference's slow tokenizer does.
  EXPECT_EQ(text::XlmrTokenizer::load(dir).source(), dir + "/sentencepiece.bpe.model");
}

TEST(XlmrTokenizer, ModelInputIsCutAndPaddedLikeOpenClip) {
  const auto tok = text::XlmrTokenizer::load(test::shared_path("fixtures/multilingual/tokenizer"));
  EXPECT_EQ(tok.tokenize("", 6), (std::vector<int32_t>{0, 2, 1, 1, 1, 1}));
  const auto full = tok.encode("a photo of a red bicycle in the snow");
  const auto cut = tok.tokenize("a photo of a red bicycle in the snow", 5);
  ASSERT_GT(full.size(), 5u);
  EXPECT_EQ(cut, (std::vector<int32_t>{full[0], full[1], full[2], full[3], 2}));
  EXPECT_THROW(tok.encode(std::string("caf\xc3", 4)), InputError);
  EXPECT_THROW(tok.encode(std::string((1u << 20) + 1, 'a')), InputError);
}

TEST(XlmrTokenizer, BrokenFilesAreClearErrors) {
  const std::string dir = test::scratch_dir("xlmr-broken");
  std::ofstream(dir + "/tokenizer.json") << "{ not json";
  EXPECT_THROW(text::XlmrTokenizer::load(dir + "/tokenizer.json"), InputError);
  std::ofstream(dir + "/bpe.json") << R"({"model": {"type": "BPE", "vocab": {}}})";
  fs::rename(dir + "/bpe.json", dir + "/tokenizer.json");
  try {
    text::XlmrTokenizer::load(dir);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("not an XLM-R Unigram tokenizer"), std::string::npos) << e.what();
  }
  std::ofstream(dir + "/sentencepiece.bpe.model") << "garbage";
  EXPECT_THROW(text::XlmrTokenizer::load(dir), InputError);
  EXPECT_THROW(text::XlmrTokenizer::load(dir + "/missing"), InputError);
}

TEST(XlmrTokenizer, TokenizeCommandPrintsTheReferenceIds) {
  const auto all = cases();
  std::string input;
  for (const auto& c : all) input += nlohmann::json{{"text", c.text}}.dump() + "\n";
  const auto r = test::run_cli("tokenize --vocab " + test::shared_path("fixtures/multilingual/tokenizer"), input);
  ASSERT_EQ(r.exit_code, 0);
  std::istringstream out(r.out);
  size_t i = 0;
  for (std::string line; std::getline(out, line); ++i) {
    ASSERT_LT(i, all.size());
    EXPECT_EQ(nlohmann::json::parse(line)["ids"].get<std::vector<int32_t>>(), all[i].ids) << all[i].text;
  }
  EXPECT_EQ(i, all.size());
}
