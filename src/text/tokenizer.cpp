#include "text/tokenizer.h"

#include <limits>

#include "core/error.h"
#include "text/pretokenizer.h"
#include "text/text_cleaner.h"
#include "text/utf8.h"

namespace clipdex::text {
namespace {

// Bound on cached words; the cache is cleared when full (captions reuse a small vocabulary).
constexpr size_t kMaxCacheEntries = 1u << 16;

// Splits a UTF-8 string into its code points, each as a UTF-8 string.
std::vector<std::string> utf8_symbols(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    size_t len = 1;
    const auto b = static_cast<unsigned char>(s[i]);
    if (b >= 0xf0) len = 4;
    else if (b >= 0xe0) len = 3;
    else if (b >= 0xc0) len = 2;
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

}  // namespace

Tokenizer Tokenizer::load(const std::string& path) { return Tokenizer(BpeVocab::load(path)); }

Tokenizer::Tokenizer(BpeVocab vocab) : vocab_(std::move(vocab)) {}

// The reference bpe(): merge the adjacent pair with the lowest rank until none applies.
std::vector<int32_t> Tokenizer::bpe_uncached(const std::string& byte_word) const {
  if (byte_word == "<|startoftext|>") return {vocab_.sot_id};
  if (byte_word == "<|endoftext|>") return {vocab_.eot_id};
  std::vector<std::string> parts = utf8_symbols(byte_word);
  parts.back() += "</w>";
  std::string key;
  while (parts.size() > 1) {
    int32_t best_rank = std::numeric_limits<int32_t>::max();
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      key.assign(parts[i]).append(" ").append(parts[i + 1]);
      auto it = vocab_.merge_rank.find(key);
      if (it != vocab_.merge_rank.end() && it->second < best_rank) best_rank = it->second;
    }
    if (best_rank == std::numeric_limits<int32_t>::max()) break;
    // Merge every occurrence of the best pair, left to right, as the reference does.
    std::vector<std::string> merged;
    merged.reserve(parts.size());
    for (size_t i = 0; i < parts.size();) {
      if (i + 1 < parts.size()) {
        key.assign(parts[i]).append(" ").append(parts[i + 1]);
        auto it = vocab_.merge_rank.find(key);
        if (it != vocab_.merge_rank.end() && it->second == best_rank) {
          merged.push_back(parts[i] + parts[i + 1]);
          i += 2;
          continue;
        }
      }
      merged.push_back(parts[i++]);
    }
    parts = std::move(merged);
  }
  std::vector<int32_t> ids;
  ids.reserve(parts.size());
  for (const auto& p : parts) {
    auto it = vocab_.token_to_id.find(p);
    if (it == vocab_.token_to_id.end()) throw Error("BPE produced a symbol missing from the vocabulary: " + p);
    ids.push_back(it->second);
  }
  return ids;
}

std::vector<int32_t> Tokenizer::bpe_word(const std::string& byte_word) const {
  {
    std::lock_guard lock(cache_mu_);
    auto it = cache_.find(byte_word);
    if (it != cache_.end()) return it->second;
  }
  std::vector<int32_t> ids = bpe_uncached(byte_word);
  std::lock_guard lock(cache_mu_);
  if (cache_.size() >= kMaxCacheEntries) cache_.clear();
  cache_.emplace(byte_word, ids);
  return ids;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, size_t max_ids) const {
  if (text.size() > kMaxTextBytes)
    throw_input("text of {} bytes is longer than the {} byte limit", text.size(), kMaxTextBytes);
  const std::u32string cleaned = clean_text(text);
  const auto& byte_map = byte_to_unicode();
  std::vector<int32_t> ids;
  std::string byte_word;
  pretokenize(cleaned, [&](const std::u32string& word) {
    byte_word.clear();
    for (unsigned char b : u32_to_utf8(word)) append_utf8(byte_word, byte_map[b]);
    const std::vector<int32_t> word_ids = bpe_word(byte_word);
    ids.insert(ids.end(), word_ids.begin(), word_ids.end());
    return max_ids == 0 || ids.size() < max_ids;
  });
  if (max_ids != 0 && ids.size() > max_ids) ids.resize(max_ids);
  return ids;
}

std::vector<int32_t> Tokenizer::tokenize(std::string_view text, size_t context_length, bool truncate) const {
  if (context_length < 2) throw_input("context length {} is too short", context_length);
  // One id past the room tells whether the text was cut.
  std::vector<int32_t> ids = encode(text, context_length - 1);
  std::vector<int32_t> out(context_length, 0);
  out[0] = vocab_.sot_id;
  if (ids.size() + 2 > context_length) {
    if (!truncate) throw_input("text is {}+ tokens, longer than the context length {}", ids.size(), context_length);
    ids.resize(context_length - 2);
    std::copy(ids.begin(), ids.end(), out.begin() + 1);
    out[context_length - 1] = vocab_.eot_id;
    return out;
  }
  std::copy(ids.begin(), ids.end(), out.begin() + 1);
  out[ids.size() + 1] = vocab_.eot_id;
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  static const auto inverse = [] {
    std::unordered_map<char32_t, unsigned char> inv;
    const auto& t = byte_to_unicode();
    for (int b = 0; b < 256; ++b) inv[t[b]] = static_cast<unsigned char>(b);
    return inv;
  }();
  std::string symbols;
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= vocab_.id_to_token.size()) throw_input("token id {} is out of range", id);
    if (id == vocab_.eot_id) break;  // padding follows
    if (id == vocab_.sot_id) continue;
    std::string tok = vocab_.id_to_token[static_cast<size_t>(id)];
    if (tok.size() >= 4 && tok.compare(tok.size() - 4, 4, "</w>") == 0) tok.replace(tok.size() - 4, 4, " ");
    symbols += tok;
  }
  std::string out;
  for (char32_t c : utf8_to_u32(symbols)) {
    auto it = inverse.find(c);
    out.push_back(it == inverse.end() ? static_cast<char>(c) : static_cast<char>(it->second));
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace clipdex::text
