// Tokenizer parity with the reference on every fixture case, from both vocabulary forms,
// plus the model-input layout, error handling and robustness on random input.
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "text/text_cleaner.h"
#include "text/tokenizer.h"
#include "text/utf8.h"
#include "test_util.h"

using namespace clipdex;
using clipdex::text::Tokenizer;

namespace {

struct Case {
  std::string text;
  std::vector<int32_t> ids;
};

std::vector<Case> load_cases() {
  std::ifstream in(test::shared_path("fixtures/tokenizer/cases.jsonl"));
  std::vector<Case> cases;
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    cases.push_back({j["text"].get<std::string>(), j["ids"].get<std::vector<int32_t>>()});
  }
  return cases;
}

const Tokenizer& gz_tokenizer() {
  static const Tokenizer t = Tokenizer::load(test::shared_path("clip/bpe_simple_vocab_16e6.txt.gz"));
  return t;
}

const Tokenizer& hf_tokenizer() {
  static const Tokenizer t = Tokenizer::load(test::shared_path("clip/hf-tokenizer"));
  return t;
}

void expect_all_cases_match(const Tokenizer& tok, const char* which) {
  const auto cases = load_cases();
  ASSERT_GT(cases.size(), 100u);
  size_t matched = 0;
  for (const auto& c : cases) {
    const auto ids = tok.encode(c.text);
    if (ids == c.ids) ++matched;
    else ADD_FAILURE() << which << ": mismatch for " << nlohmann::json(c.text).dump();
  }
  std::cout << "[ tokenizer ] " << which << ": " << matched << " / " << cases.size() << " fixture cases match\n";
  EXPECT_EQ(matched, cases.size());
}

}  // namespace

TEST(Tokenizer, AllFixtureCasesMatchFromGzipMerges) { expect_all_cases_match(gz_tokenizer(), "gzip merges"); }

TEST(Tokenizer, AllFixtureCasesMatchFromHuggingFaceFiles) { expect_all_cases_match(hf_tokenizer(), "HF vocab+merges"); }

TEST(Tokenizer, BothVocabularyFormsAgree) {
  EXPECT_EQ(gz_tokenizer().vocab_size(), 49408u);
  EXPECT_EQ(hf_tokenizer().vocab_size(), 49408u);
  EXPECT_EQ(gz_tokenizer().sot_id(), 49406);
  EXPECT_EQ(gz_tokenizer().eot_id(), 49407);
  EXPECT_EQ(hf_tokenizer().sot_id(), 49406);
  EXPECT_EQ(hf_tokenizer().eot_id(), 49407);
}

TEST(Tokenizer, ModelInputLayout) {
  const auto& tok = gz_tokenizer();
  const auto ids = tok.encode("a photo of a cat");
  const auto input = tok.tokenize("a photo of a cat");
  ASSERT_EQ(input.size(), 77u);
  EXPECT_EQ(input[0], 49406);
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(input[i + 1], ids[i]);
  EXPECT_EQ(input[ids.size() + 1], 49407);
  for (size_t i = ids.size() + 2; i < 77; ++i) EXPECT_EQ(input[i], 0);
  const auto empty = tok.tokenize("");
  EXPECT_EQ(empty[0], 49406);
  EXPECT_EQ(empty[1], 49407);
  EXPECT_EQ(empty[2], 0);
}

TEST(Tokenizer, LongTextIsCutAndEndsWithEndToken) {
  const auto& tok = gz_tokenizer();
  std::string text;
  for (int i = 0; i < 200; ++i) text += "word ";
  const auto full = tok.encode(text);
  const auto input = tok.tokenize(text);
  ASSERT_EQ(input.size(), 77u);
  EXPECT_EQ(input[0], 49406);
  EXPECT_EQ(input[76], 49407);
  for (size_t i = 1; i < 76; ++i) EXPECT_EQ(input[i], full[i - 1]);
  EXPECT_THROW(tok.tokenize(text, 77, /*truncate=*/false), InputError);
  // Exactly 75 ids fit without cutting.
  std::string a75;
  for (int i = 0; i < 75; ++i) a75 += "a ";
  const auto fits = tok.tokenize(a75, 77, /*truncate=*/false);
  EXPECT_EQ(fits[75], 320);
  EXPECT_EQ(fits[76], 49407);
  EXPECT_THROW(tok.tokenize(a75 + "a", 77, /*truncate=*/false), InputError);
}

TEST(Tokenizer, InvalidUtf8IsAClearError) {
  const auto& tok = gz_tokenizer();
  for (std::string bad : {std::string("abc\xff"), std::string("\xc3"), std::string("\xed\xa0\x80"),
                          std::string("\xc0\xaf"), std::string("\xf4\x90\x80\x80")}) {
    try {
      tok.encode(bad);
      ADD_FAILURE() << "accepted invalid UTF-8";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("invalid UTF-8"), std::string::npos);
    }
  }
  EXPECT_THROW(tok.encode(std::string(Tokenizer::kMaxTextBytes + 1, 'a')), InputError);
}

TEST(Tokenizer, HtmlEntitiesAndCleaning) {
  const auto clean = [](const char* s) { return text::u32_to_utf8(text::clean_text(s)); };
  EXPECT_EQ(clean("&amp;amp;amp;amp; x"), "& x");          // ftfy repeats until stable, then 2x unescape
  EXPECT_EQ(clean("P&EACUTE;REZ"), "pérez");               // ftfy's all-caps entities
  EXPECT_EQ(clean("&ampx &#65;&#x42; &#0;"), "&x ab \xef\xbf\xbd");  // legacy prefix, numeric refs
  EXPECT_EQ(clean("<b>&lt;</b>"), "<b><</b>");             // '<' turns ftfy's unescape off, not html's
  EXPECT_EQ(clean("ΣΑΣ"), "σας");                          // Final_Sigma
  EXPECT_EQ(clean("\x1b[31mred\x1b[0m"), "red");          // terminal escapes
  EXPECT_EQ(clean("a\xc2\x85" "b"), "a…b");               // C1 controls read as Windows-1252
}

// A vocabulary written here: the 512 byte symbols, "ab", "abc</w>" and the specials, with
// merges listed so that rank, not file position of the tokens, decides.
TEST(Tokenizer, HandWrittenHfVocabularyMergesByRankAndRejectsSharedIds) {
  const std::string dir = test::scratch_dir("hand-written-hf-vocab");
  nlohmann::json vocab = nlohmann::json::object();
  int32_t id = 0;
  for (char32_t c : text::byte_to_unicode()) {
    const std::string s = text::u32_to_utf8(std::u32string(1, c));
    vocab[s] = id++;
    vocab[s + "</w>"] = id++;
  }
  const int32_t ab = id, abc = id + 1, bc = id + 2;
  vocab["ab"] = ab;
  vocab["abc</w>"] = abc;
  vocab["bc</w>"] = bc;
  vocab["<|startoftext|>"] = id + 3;
  vocab["<|endoftext|>"] = id + 4;
  const auto write = [&](const nlohmann::json& v, const std::string& merges) {
    std::ofstream(dir + "/vocab.json") << v.dump();
    std::ofstream(dir + "/merges.txt") << "#version: 0.2\n" << merges;
  };
  // "a b" outranks "b c</w>": abc -> ab c</w> -> abc</w>. With the ranks swapped: a bc</w>, which
  // has no merge, so two ids.
  write(vocab, "a b\nb c</w>\nab c</w>\n");
  EXPECT_EQ(Tokenizer::load(dir).encode("abc"), (std::vector<int32_t>{abc}));
  write(vocab, "b c</w>\na b\nab c</w>\n");
  EXPECT_EQ(Tokenizer::load(dir).encode("abc"), (std::vector<int32_t>{vocab["a"].get<int32_t>(), bc}));
  // A merge making a token vocab.json lacks, and two tokens with one id, are errors.
  write(vocab, "a c\n");
  EXPECT_THROW(Tokenizer::load(dir), InputError);
  nlohmann::json shared = vocab;
  shared["bc</w>"] = ab;
  write(shared, "a b\n");
  try {
    Tokenizer::load(dir);
    ADD_FAILURE() << "accepted two tokens with one id";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("share the id"), std::string::npos) << e.what();
  }
}

TEST(Tokenizer, DecodeInvertsEncode) {
  const auto& tok = gz_tokenizer();
  EXPECT_EQ(tok.decode(tok.tokenize("a photo of a cat!")), "a photo of a cat !");
}

TEST(Tokenizer, NeverCrashesOnRandomInput) {
  const auto& tok = gz_tokenizer();
  std::mt19937 rng(1234);
  int ok = 0, rejected = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string s;
    const int len = static_cast<int>(rng() % 64);
    if (iter % 2 == 0) {
      for (int i = 0; i < len; ++i) s.push_back(static_cast<char>(rng() & 0xff));
    } else {
      for (int i = 0; i < len; ++i) {
        char32_t c = rng() % 0x30000;
        if (c >= 0xd800 && c <= 0xdfff) c = U'x';
        text::append_utf8(s, c);
      }
    }
    try {
      const auto input = tok.tokenize(s);
      ASSERT_EQ(input.size(), 77u);
      ++ok;
    } catch (const InputError&) {
      ++rejected;
    }
  }
  EXPECT_GT(ok, 1500);  // every valid-UTF-8 input tokenizes
  EXPECT_GT(rejected, 0);
}

TEST(TokenizeCli, WritesIdsPerLine) {
  const std::string vocab = test::shared_path("clip/bpe_simple_vocab_16e6.txt.gz");
  auto r = test::run_cli("tokenize --vocab " + vocab, "{\"text\": \"a photo of a cat\"}\n{\"text\": \"Hello World!\"}\n");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "{\"ids\":[320,1125,539,320,2368]}\n{\"ids\":[3306,1002,256]}\n");
  auto padded = test::run_cli("tokenize --context 8 --vocab " + test::shared_path("clip/hf-tokenizer"),
                              "{\"text\": \"a photo of a cat\"}\n");
  EXPECT_EQ(padded.out, "{\"ids\":[49406,320,1125,539,320,2368,49407,0]}\n");
  auto bad = test::run_cli("tokenize --vocab " + vocab, "{broken\n{\"text\": \"cat\"}\n");
  EXPECT_EQ(bad.exit_code, 1);  // a partial failure: the other lines were processed
  EXPECT_NE(bad.out.find("\"error\""), std::string::npos);
  EXPECT_NE(bad.out.find("{\"ids\":[2368]}"), std::string::npos);  // the good line still processed
}
