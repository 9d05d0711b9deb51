#include "text/bpe_vocab.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

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

// The file's text, up to its first `max_lines` lines.
std::string read_gzip(const std::string& path, size_t max_lines) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw_io("cannot open '{}'", path);
  std::unique_ptr<gzFile_s, decltype(&gzclose)> guard(f, &gzclose);
  std::string out;
  char buf[1 << 16];
  size_t lines = 0;
  while (lines < max_lines) {
    int n = gzread(f, buf, sizeof buf);
    if (n < 0) throw_input("'{}' is not a readable gzip file", path);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    lines += static_cast<size_t>(std::count(buf, buf + n, '\n'));
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

using MergeLine = std::pair<std::string_view, std::string_view>;

MergeLine split_merge(std::string_view line, const std::string& path, size_t lineno) {
  const auto sp = line.find(' ');
  if (sp == std::string::npos || sp == 0 || sp + 1 >= line.size() || line.find(' ', sp + 1) != std::string::npos)
    throw_input("{}: line {} is not a merge 'left right': '{}'", path, lineno + 1, line);
  if (!is_valid_utf8(line)) throw_input("{}: line {} is not valid UTF-8", path, lineno + 1);
  return {line.substr(0, sp), line.substr(sp + 1)};
}

void add_token(BpeVocab& v, std::string_view tok) {
  v.text.append(tok);
  v.offsets.push_back(static_cast<uint32_t>(v.text.size()));
}

// Token string -> id, over the vocabulary's own text (so only once every token is in), while
// loading. Where a string repeats, its first id.
using TokenIndex = std::unordered_map<std::string_view, int32_t>;

TokenIndex index_tokens(const BpeVocab& v) {
  TokenIndex ids;
  ids.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) ids.emplace(v.token(static_cast<int32_t>(i)), static_cast<int32_t>(i));
  return ids;
}

int32_t id_of(const TokenIndex& ids, std::string_view tok) {
  const auto it = ids.find(tok);
  return it == ids.end() ? -1 : it->second;
}

// Adds merge `rank`; false when left + right is no token. A pair with a half that is no token
// can never form, so it is left out.
bool add_merge(BpeVocab& v, const TokenIndex& ids, const MergeLine& m, int32_t rank) {
  const int32_t left = id_of(ids, m.first), right = id_of(ids, m.second);
  std::string joined(m.first);
  joined += m.second;
  const int32_t merged = id_of(ids, joined);
  if (merged < 0) return false;
  if (left >= 0 && right >= 0)
    v.merges.push_back({left, right, rank, merged});
  return true;
}

// The specials and byte symbols looked up, the merges sorted (a pair listed twice keeps its
// first rank, as the reference's dict of ranks does).
void finish(BpeVocab& v, const TokenIndex& ids, const std::string& path) {
  v.sot_id = id_of(ids, "<|startoftext|>");
  v.eot_id = id_of(ids, "<|endoftext|>");
  if (v.sot_id < 0 || v.eot_id < 0) throw_input("'{}': vocabulary lacks <|startoftext|> / <|endoftext|>", path);
  for (int b = 0; b < 256; ++b) {
    const std::string s = u32_to_utf8(std::u32string(1, byte_to_unicode()[b]));
    v.byte_id[b] = id_of(ids, s);
    v.byte_end_id[b] = id_of(ids, s + "</w>");
    if (v.byte_id[b] < 0 || v.byte_end_id[b] < 0) throw_input("'{}': vocabulary lacks the byte symbol '{}'", path, s);
  }
  std::stable_sort(v.merges.begin(), v.merges.end(),
                   [](const BpeVocab::Merge& a, const BpeVocab::Merge& b) { return a.pair_before(b); });
  const auto last = std::unique(v.merges.begin(), v.merges.end(),
                                [](const BpeVocab::Merge& a, const BpeVocab::Merge& b) { return a.same_pair(b); });
  v.merges.erase(last, v.merges.end());
  v.merges.shrink_to_fit();
  v.text.shrink_to_fit();
  v.offsets.shrink_to_fit();
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
  for (char32_t c : symbols) add_token(v, u32_to_utf8(std::u32string(1, c)));
  for (char32_t c : symbols) add_token(v, u32_to_utf8(std::u32string(1, c)) + "</w>");
  std::vector<MergeLine> merges(n);
  for (size_t i = 0; i < n; ++i) {
    merges[i] = split_merge(lines[i + 1], path, i + 1);
    add_token(v, std::string(merges[i].first) + std::string(merges[i].second));
  }
  add_token(v, "<|startoftext|>");
  add_token(v, "<|endoftext|>");
  const TokenIndex ids = index_tokens(v);
  v.merges.reserve(n);
  for (size_t i = 0; i < n; ++i) add_merge(v, ids, merges[i], static_cast<int32_t>(i));  // every joined pair is a token
  finish(v, ids, path);
  return v;
}

BpeVocab from_hf(const std::string& vocab_path, const std::string& merges_path) {
  MappedFile vf(vocab_path);
  if (vf.size() > kMaxVocabFileBytes) throw_input("'{}' is too large for a vocabulary", vocab_path);
  auto j = nlohmann::json::parse(vf.bytes().begin(), vf.bytes().end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw_input("{}: not a JSON object of token -> id", vocab_path);
  std::vector<std::pair<int32_t, std::string_view>> by_id;
  for (const auto& [tok, id] : j.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > 10'000'000)
      throw_input("{}: token '{}' has an invalid id", vocab_path, tok);
    by_id.emplace_back(id.get<int32_t>(), tok);
  }
  std::sort(by_id.begin(), by_id.end());
  BpeVocab v;
  for (size_t i = 0; i < by_id.size(); ++i) {
    if (i > 0 && by_id[i].first == by_id[i - 1].first)
      throw_input("{}: tokens '{}' and '{}' share the id {}", vocab_path, by_id[i - 1].second, by_id[i].second,
                  by_id[i].first);
    while (static_cast<int32_t>(v.size()) < by_id[i].first) add_token(v, "");  // an id no token has
    add_token(v, by_id[i].second);
  }
  const TokenIndex ids = index_tokens(v);
  const std::string merges = read_file(merges_path);
  const auto lines = split_lines(merges);
  int32_t rank = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty() || lines[i].rfind("#version", 0) == 0) continue;
    if (!add_merge(v, ids, split_merge(lines[i], merges_path, i), rank++))
      throw_input("{}: merge '{}' makes a token missing from vocab.json", merges_path, lines[i]);
  }
  finish(v, ids, vocab_path);
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

const BpeVocab::Merge* BpeVocab::find_merge(int32_t left, int32_t right) const {
  const Merge key{left, right};
  const auto it = std::lower_bound(merges.begin(), merges.end(), key,
                                   [](const Merge& m, const Merge& k) { return m.pair_before(k); });
  return it != merges.end() && it->same_pair(key) ? &*it : nullptr;
}

BpeVocab BpeVocab::load(const std::string& path) {
  if (fs::is_directory(path)) {
    const fs::path dir(path);
    if (fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt"))
      return from_hf((dir / "vocab.json").string(), (dir / "merges.txt").string());
    if (fs::exists(dir / "bpe_simple_vocab_16e6.txt.gz")) return load((dir / "bpe_simple_vocab_16e6.txt.gz").string());
    throw_input("'{}' holds neither vocab.json + merges.txt nor bpe_simple_vocab_16e6.txt.gz", path);
  }
  if (path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0)
    return from_reference_merges(read_gzip(path, kReferenceMerges + 1), path);
  return from_reference_merges(read_file(path), path);
}

}  // namespace clipdex::text
