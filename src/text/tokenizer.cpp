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

}  // namespace

Tokenizer Tokenizer::load(const std::string& path) { return Tokenizer(BpeVocab::load(path)); }

Tokenizer::Tokenizer(BpeVocab vocab) : vocab_(std::move(vocab)) {}

// The reference bpe(): merge the adjacent pair with the lowest rank until none applies. The
// reference works on the symbols' strings; each string has one id, so this works on ids.
std::vector<int32_t> Tokenizer::bpe_uncached(const std::string& word) const {
  if (word == "<|startoftext|>") return {vocab_.sot_id};
  if (word == "<|endoftext|>") return {vocab_.eot_id};
  if (word.empty()) return {};
  std::vector<int32_t> parts(word.size());
  for (size_t i = 0; i < word.size(); ++i) parts[i] = vocab_.byte_id[static_cast<unsigned char>(word[i])];
  parts.back() = vocab_.byte_end_id[static_cast<unsigned char>(word.back())];
  std::vector<int32_t> merged;
  while (parts.size() > 1) {
    const BpeVocab::Merge* best = nullptr;
    for (size_t i = 0; i + 1 < parts.size(); ++i)
      if (const auto* m = vocab_.find_merge(parts[i], parts[i + 1]); m && (!best || m->rank < best->rank)) best = m;
    if (!best) break;
    // Merge every occurrence of the best pair, left to right, as the reference does.
    merged.clear();
    for (size_t i = 0; i < parts.size();) {
      if (i + 1 < parts.size() && parts[i] == best->left && parts[i + 1] == best->right) {
        merged.push_back(best->merged);
        i += 2;
      } else {
        merged.push_back(parts[i++]);
      }
    }
    parts.swap(merged);
  }
  return parts;
}

std::vector<int32_t> Tokenizer::bpe_word(const std::string& word) const {
  {
    std::lock_guard lock(cache_mu_);
    auto it = cache_.find(word);
    if (it != cache_.end()) return it->second;
  }
  std::vector<int32_t> ids = bpe_uncached(word);
  std::lock_guard lock(cache_mu_);
  if (cache_.size() >= kMaxCacheEntries) cache_.clear();
  cache_.emplace(word, ids);
  return ids;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, size_t max_ids) const {
  if (text.size() > kMaxTextBytes)
    throw_input("text of {} bytes is longer than the {} byte limit", text.size(), kMaxTextBytes);
  const std::u32string cleaned = clean_text(text);
  std::vector<int32_t> ids;
  pretokenize(cleaned, [&](const std::u32string& word) {
    const std::vector<int32_t> word_ids = bpe_word(u32_to_utf8(word));
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
    if (id < 0 || static_cast<size_t>(id) >= vocab_.size()) throw_input("token id {} is out of range", id);
    if (id == vocab_.eot_id) break;  // padding follows
    if (id == vocab_.sot_id) continue;
    std::string tok(vocab_.token(id));
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
