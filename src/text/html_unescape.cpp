#include "text/html_unescape.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "text/unicode.h"
#include "text/utf8.h"

namespace clipdex::text {
namespace {

struct Entity {
  const char* name;   // as in html.entities.html5, e.g. "amp;" or "amp"
  const char* value;  // UTF-8
};

constexpr Entity kEntities[] = {
#include "html_entities.inc"
};

const char* find_entity(std::string_view name) {
  auto it = std::lower_bound(std::begin(kEntities), std::end(kEntities), name,
                             [](const Entity& e, std::string_view n) { return std::string_view(e.name) < n; });
  if (it != std::end(kEntities) && std::string_view(it->name) == name) return it->value;
  return nullptr;
}

bool is_ascii_digit(char32_t c) { return c >= U'0' && c <= U'9'; }
bool is_ascii_hex(char32_t c) { return is_ascii_digit(c) || (c >= U'a' && c <= U'f') || (c >= U'A' && c <= U'F'); }
bool is_ascii_alnum(char32_t c) { return is_ascii_digit(c) || (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z'); }

int hex_value(char32_t c) {
  if (is_ascii_digit(c)) return static_cast<int>(c - U'0');
  if (c >= U'a' && c <= U'f') return static_cast<int>(c - U'a' + 10);
  return static_cast<int>(c - U'A' + 10);
}

bool is_invalid_codepoint(uint64_t n) {
  if ((n >= 0x1 && n <= 0x8) || n == 0xb || (n >= 0xe && n <= 0x1f) || (n >= 0x7f && n <= 0x9f)) return true;
  if (n >= 0xfdd0 && n <= 0xfdef) return true;
  return (n & 0xfffe) == 0xfffe;  // U+xFFFE / U+xFFFF in every plane
}

// Python's html._replace_charref for a numeric reference with value n.
std::u32string numeric_reference(uint64_t n) {
  if (n == 0) return U"\ufffd";
  if (n == 0x0d) return U"\r";
  if (n >= 0x80 && n <= 0x9f) return std::u32string(1, cp1252_c1(static_cast<char32_t>(n)));
  if ((n >= 0xd800 && n <= 0xdfff) || n > 0x10ffff) return U"\ufffd";
  if (is_invalid_codepoint(n)) return U"";
  return std::u32string(1, static_cast<char32_t>(n));
}

// Parses digits of a numeric reference; saturates so huge values still count as > U+10FFFF.
uint64_t parse_number(const std::u32string& s, size_t begin, size_t end, int base) {
  uint64_t v = 0;
  for (size_t i = begin; i < end; ++i) {
    v = v * base + static_cast<uint64_t>(base == 16 ? hex_value(s[i]) : static_cast<int>(s[i] - U'0'));
    if (v > 0x10ffffull * 16) v = 0x10ffffull * 16;
  }
  return v;
}

bool is_name_char(char32_t c) {
  return c != U'\t' && c != U'\n' && c != U'\f' && c != U' ' && c != U'<' && c != U'&' && c != U'#' && c != U';';
}

// Tries to replace a reference starting at s[i] == '&'. On success appends and returns the
// index past the reference; otherwise returns i.
size_t replace_reference(const std::u32string& s, size_t i, std::u32string& out) {
  size_t j = i + 1;
  if (j < s.size() && s[j] == U'#') {
    const bool hex = j + 1 < s.size() && (s[j + 1] == U'x' || s[j + 1] == U'X');
    const size_t digits = j + (hex ? 2 : 1);
    size_t k = digits;
    while (k < s.size() && (hex ? is_ascii_hex(s[k]) : is_ascii_digit(s[k]))) ++k;
    if (k == digits) return i;
    out += numeric_reference(parse_number(s, digits, k, hex ? 16 : 10));
    return (k < s.size() && s[k] == U';') ? k + 1 : k;
  }
  size_t k = j;
  while (k < s.size() && k - j < 32 && is_name_char(s[k])) ++k;
  if (k == j) return i;
  if (k < s.size() && s[k] == U';') ++k;
  const std::string name = u32_to_utf8(s.substr(j, k - j));
  if (const char* v = find_entity(name)) {
    out += utf8_to_u32(v);
    return k;
  }
  // Longest prefix (at least 2 characters) that is a legacy entity.
  const std::u32string ref = s.substr(j, k - j);
  for (size_t len = ref.size() - 1; len >= 2 && len < ref.size(); --len) {
    if (const char* v = find_entity(u32_to_utf8(ref.substr(0, len)))) {
      out += utf8_to_u32(v);
      out += ref.substr(len);
      return k;
    }
  }
  out.push_back(U'&');
  out += ref;
  return k;
}

// ftfy's decoding of one '&...;' match (text includes '&' and ';').
std::u32string ftfy_reference(const std::u32string& ref) {
  const std::string name = u32_to_utf8(ref.substr(1));  // "name;" or "#123;"
  if (ref[1] != U'#') {
    if (const char* v = find_entity(name)) return utf8_to_u32(v);
    // All-caps spelling of a lower-case entity whose caps form is not itself an entity.
    std::string lower = name;
    bool all_upper = true;
    for (char& ch : lower) {
      if (ch >= 'a' && ch <= 'z') all_upper = false;
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    }
    if (all_upper && lower != name) {
      if (const char* v = find_entity(lower)) {
        // The caps form must not already decode to something else (ftfy's rule).
        const std::u32string upper_ref = U"&" + utf8_to_u32(name);
        if (html_unescape(upper_ref) == upper_ref) return python_upper(utf8_to_u32(v));
      }
    }
    return ref;
  }
  std::u32string decoded = html_unescape(ref);
  if (decoded.find(U';') != std::u32string::npos) return ref;
  return decoded;
}

}  // namespace

char32_t cp1252_c1(char32_t c) {
  static constexpr char32_t kTable[32] = {
      0x20ac, 0x81,   0x201a, 0x192,  0x201e, 0x2026, 0x2020, 0x2021, 0x2c6,  0x2030, 0x160,
      0x2039, 0x152,  0x8d,   0x17d,  0x8f,   0x90,   0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
      0x2013, 0x2014, 0x2dc,  0x2122, 0x161,  0x203a, 0x153,  0x9d,   0x17e,  0x178};
  return (c >= 0x80 && c <= 0x9f) ? kTable[c - 0x80] : c;
}

std::u32string html_unescape(const std::u32string& s) {
  if (s.find(U'&') == std::u32string::npos) return s;
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == U'&') {
      const size_t next = replace_reference(s, i, out);
      if (next != i) {
        i = next;
        continue;
      }
    }
    out.push_back(s[i++]);
  }
  return out;
}

std::u32string ftfy_unescape_html(const std::u32string& s) {
  if (s.find(U'&') == std::u32string::npos) return s;
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == U'&') {
      size_t j = i + 1;
      if (j < s.size() && s[j] == U'#') ++j;
      size_t k = j;
      while (k < s.size() && k - j < 24 && is_ascii_alnum(s[k])) ++k;
      if (k > j && k < s.size() && s[k] == U';') {
        out += ftfy_reference(s.substr(i, k + 1 - i));
        i = k + 1;
        continue;
      }
    }
    out.push_back(s[i++]);
  }
  return out;
}

}  // namespace clipdex::text
