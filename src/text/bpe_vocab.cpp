#include "text/bpe_vocab.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "text/utf8.h"

namespace clipdex::text {
namespace {

namespace fs = std::filesystem;

// The reference uses merges lines 1 .. 49152-256-2 of the gzip file.
constexpr size_t kReferenceMerges = 49152 - 256 - 2;
constexpr size_t kMaxVocabFileBytes = 64u << 20;

std::string read_gzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw_io("cannot open '{}'", path);
  std::unique_ptr<gzFile_s, decltype(&gzclose)> guard(f, &gzclose);
  std::string out;
  char buf[1 << 16];
  for (;;) {
    int n = gzread(f, buf, sizeof buf);
    if (n < 0) throw_input("'{}' is not a readable gzip file", path);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxVocabFileBytes) throw_input("'{}' is too large for a vocabulary", path);
  }
  return out;
}

// The first `limit` lines of `text` (without their line ends), as views into it: the reference
// file has 262k lines of which 49k are used, and a string per line cost 28 MB while loading.
std::vector<std::string_view> split_lines(std::string_view text, size_t limit = SIZE_MAX) {
  std::vector<std::string_view> lines;
  while (!text.empty() && lines.size() < limit) {
    const size_t end = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  return lines;
}

std::pair<std::string, std::string> split_merge(std::string_view line, const std::string& path, size_t lineno) {
  const auto sp = line.find(' ');
  if (sp == std::string::npos || sp == 0 || sp + 1 >= line.size() || line.find(' ', sp + 1) != std::string::npos)
    throw_input("{}: line {} is not a merge 'left right': '{}'", path, lineno + 1, line);
  if (!is_valid_utf8(line)) throw_input("{}: line {} is not valid UTF-8", path, lineno + 1);
  return {std::string(line.substr(0, sp)), std::string(line.substr(sp + 1))};
}

void add_token(BpeVocab& v, const std::string& tok) {
  v.token_to_id.emplace(tok, static_cast<int32_t>(v.id_to_token.size()));
  v.id_to_token.push_back(tok);
}

BpeVocab from_reference_merges(const std::string& text, const std::string& path) {
  const auto lines = split_lines(text, kReferenceMerges + 1);
  if (lines.size() < 2) throw_input("{}: no merges found", path);
  const size_t n = std::min(kReferenceMerges, lines.size() - 1);
  BpeVocab v;
  // The reference lists byte symbols in bytes_to_unicode()'s insertion order, which is
  // ascending code point order of the symbols (printable bytes first, then 256 + n).
  std::vector<char32_t> symbols(byte_to_unicode().begin(), byte_to_unicode().end());
  std::sort(symbols.begin(), symbols.end());
  std::vector<std::string> bytes;
  for (char32_t c : symbols) bytes.push_back(u32_to_utf8(std::u32string(1, c)));
  for (const auto& b : bytes) add_token(v, b);
  for (const auto& b : bytes) add_token(v, b + "</w>");
  for (size_t i = 0; i < n; ++i) {
    auto [a, b] = split_merge(lines[i + 1], path, i + 1);
    v.merge_rank.emplace(a + " " + b, static_cast<int32_t>(i));
    add_token(v, a + b);
  }
  add_token(v, "<|startoftext|>");
  add_token(v, "<|endoftext|>");
  return v;
}

BpeVocab from_hf(const std::string& vocab_path, const std::string& merges_path) {
  BpeVocab v;
  MappedFile vf(vocab_path);
  if (vf.size() > kMaxVocabFileBytes) throw_input("'{}' is too large for a vocabulary", vocab_path);
  auto j = nlohmann::json::parse(vf.bytes().begin(), vf.bytes().end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw_input("{}: not a JSON object of token -> id", vocab_path);
  int32_t max_id = -1;
  for (const auto& [tok, id] : j.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > 10'000'000)
      throw_input("{}: token '{}' has an invalid id", vocab_path, tok);
    v.token_to_id[tok] = id.get<int32_t>();
    max_id = std::max(max_id, id.get<int32_t>());
  }
  v.id_to_token.resize(static_cast<size_t>(max_id + 1));
  for (const auto& [tok, id] : v.token_to_id) v.id_to_token[static_cast<size_t>(id)] = tok;

  const std::string merges = read_file(merges_path);
  const auto lines = split_lines(merges);
  int32_t rank = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty() || lines[i].rfind("#version", 0) == 0) continue;
    auto [a, b] = split_merge(lines[i], merges_path, i);
    if (!v.token_to_id.count(a + b)) throw_input("{}: merge '{}' makes a token missing from vocab.json", merges_path, lines[i]);
    v.merge_rank.emplace(a + " " + b, rank++);
  }
  return v;
}

}  // namespace

const std::array<char32_t, 256>& byte_to_unicode() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    std::array<bool, 256> printable{};
    for (int b = '!'; b <= '~'; ++b) printable[b] = true;
    for (int b = 0xa1; b <= 0xac; ++b) printable[b] = true;
    for (int b = 0xae; b <= 0xff; ++b) printable[b] = true;
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) t[b] = printable[b] ? static_cast<char32_t>(b) : next++;
    return t;
  }();
  return table;
}

BpeVocab BpeVocab::load(const std::string& path) {
  BpeVocab v;
  if (fs::is_directory(path)) {
    const fs::path dir(path);
    if (fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt")) {
      v = from_hf((dir / "vocab.json").string(), (dir / "merges.txt").string());
    } else if (fs::exists(dir / "bpe_simple_vocab_16e6.txt.gz")) {
      v = load((dir / "bpe_simple_vocab_16e6.txt.gz").string());
      return v;
    } else {
      throw_input("'{}' holds neither vocab.json + merges.txt nor bpe_simple_vocab_16e6.txt.gz", path);
    }
  } else if (path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0) {
    v = from_reference_merges(read_gzip(path), path);
  } else {
    v = from_reference_merges(read_file(path), path);
  }
  auto sot = v.token_to_id.find("<|startoftext|>");
  auto eot = v.token_to_id.find("<|endoftext|>");
  if (sot == v.token_to_id.end() || eot == v.token_to_id.end())
    throw_input("'{}': vocabulary lacks <|startoftext|> / <|endoftext|>", path);
  v.sot_id = sot->second;
  v.eot_id = eot->second;
  for (char32_t c : byte_to_unicode()) {
    const std::string s = u32_to_utf8(std::u32string(1, c));
    if (!v.token_to_id.count(s) || !v.token_to_id.count(s + "</w>"))
      throw_input("'{}': vocabulary lacks the byte symbol '{}'", path, s);
  }
  return v;
}

}  // namespace clipdex::text
