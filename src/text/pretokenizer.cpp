#include "text/pretokenizer.h"

#include <array>
#include <string_view>

#include "text/unicode.h"

namespace clipdex::text {
namespace {

char32_t ascii_lower(char32_t c) { return (c >= U'A' && c <= U'Z') ? c + 32 : c; }

bool starts_with_ci(const std::u32string& s, size_t pos, std::u32string_view prefix) {
  if (s.size() - pos < prefix.size()) return false;
  for (size_t k = 0; k < prefix.size(); ++k)
    if (ascii_lower(s[pos + k]) != prefix[k]) return false;
  return true;
}

// Length of the alternative that matches at pos, or 0 (only for whitespace).
size_t match_at(const std::u32string& s, size_t pos) {
  static constexpr std::array<std::u32string_view, 9> kFixed = {
      U"<|startoftext|>", U"<|endoftext|>", U"'s", U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d"};
  for (auto lit : kFixed)
    if (starts_with_ci(s, pos, lit)) return lit.size();
  size_t end = pos;
  if (is_letter(s[pos])) {
    while (end < s.size() && is_letter(s[end])) ++end;
    return end - pos;
  }
  if (is_number(s[pos])) return 1;
  while (end < s.size() && !is_space(s[end]) && !is_letter(s[end]) && !is_number(s[end])) ++end;
  return end - pos;
}

}  // namespace

void pretokenize(const std::u32string& text, const std::function<bool(const std::u32string&)>& on_word) {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t len = match_at(text, pos);
    if (len == 0) {
      ++pos;
      continue;
    }
    if (!on_word(text.substr(pos, len))) return;
    pos += len;
  }
}

}  // namespace clipdex::text
