#include "text/text_cleaner.h"

#include "text/html_unescape.h"
#include "text/unicode.h"
#include "text/utf8.h"

namespace clipdex::text {
namespace {

// ftfy processes text in segments of at most this many characters (one line at most).
constexpr size_t kMaxDecodeLength = 1'000'000;

void fix_c1_controls(std::u32string& s) {
  for (char32_t& c : s) c = cp1252_c1(c);
}

std::u32string fix_latin_ligatures(const std::u32string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (char32_t c : s) {
    switch (c) {
      case 0x132: out += U"IJ"; break;
      case 0x133: out += U"ij"; break;
      case 0x149: out += U"\u02bcn"; break;
      case 0x1f1: out += U"DZ"; break;
      case 0x1f2: out += U"Dz"; break;
      case 0x1f3: out += U"dz"; break;
      case 0x1c4: out += U"D\u017d"; break;
      case 0x1c5: out += U"D\u017e"; break;
      case 0x1c6: out += U"d\u017e"; break;
      case 0x1c7: out += U"LJ"; break;
      case 0x1c8: out += U"Lj"; break;
      case 0x1c9: out += U"lj"; break;
      case 0x1ca: out += U"NJ"; break;
      case 0x1cb: out += U"Nj"; break;
      case 0x1cc: out += U"nj"; break;
      case 0xfb00: out += U"ff"; break;
      case 0xfb01: out += U"fi"; break;
      case 0xfb02: out += U"fl"; break;
      case 0xfb03: out += U"ffi"; break;
      case 0xfb04: out += U"ffl"; break;
      case 0xfb05: out += U"\u017ft"; break;
      case 0xfb06: out += U"st"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

// Halfwidth and fullwidth forms (U+FF01..U+FFEF) to their NFKC form; U+3000 to a space.
std::u32string fix_character_width(const std::u32string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (char32_t c : s) {
    if (c == 0x3000) {
      out.push_back(U' ');
    } else if (c >= 0xff01 && c < 0xfff0) {
      out += nfkc(std::u32string(1, c));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void uncurl_quotes(std::u32string& s) {
  for (char32_t& c : s) {
    if (c == 0x2bc || (c >= 0x2018 && c <= 0x201b)) c = U'\'';
    else if (c >= 0x201c && c <= 0x201f) c = U'"';
  }
}

std::u32string fix_line_breaks(const std::u32string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char32_t c = s[i];
    if (c == U'\r') {
      out.push_back(U'\n');
      if (i + 1 < s.size() && s[i + 1] == U'\n') ++i;
    } else if (c == 0x2028 || c == 0x2029 || c == 0x85) {
      out.push_back(U'\n');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Removes ANSI escapes matching "\033\[((?:\d|;)*)([a-zA-Z])".
std::u32string remove_terminal_escapes(const std::u32string& s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == 0x1b && i + 1 < s.size() && s[i + 1] == U'[') {
      size_t j = i + 2;
      while (j < s.size() && (s[j] == U';' || is_decimal(s[j]))) ++j;
      if (j < s.size() && ((s[j] >= U'a' && s[j] <= U'z') || (s[j] >= U'A' && s[j] <= U'Z'))) {
        i = j + 1;
        continue;
      }
    }
    out.push_back(s[i++]);
  }
  return out;
}

bool is_removed_control(char32_t c) {
  return c <= 0x08 || c == 0x0b || (c >= 0x0e && c <= 0x1f) || c == 0x7f || (c >= 0x206a && c <= 0x206f) ||
         c == 0xfeff || (c >= 0xfff9 && c <= 0xfffc);
}

std::u32string remove_control_chars(const std::u32string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (char32_t c : s)
    if (!is_removed_control(c)) out.push_back(c);
  return out;
}

// ftfy's fix_and_explain loop: apply every fixer until nothing changes.
std::u32string fix_segment(std::u32string text, bool unescape_html) {
  for (;;) {
    const std::u32string orig = text;
    if (unescape_html) text = ftfy_unescape_html(text);
    fix_c1_controls(text);
    text = fix_latin_ligatures(text);
    text = fix_character_width(text);
    uncurl_quotes(text);
    text = fix_line_breaks(text);
    text = remove_terminal_escapes(text);
    text = remove_control_chars(text);
    text = nfc(text);
    if (text == orig) return text;
  }
}

std::u32string strip(const std::u32string& s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

std::u32string collapse_whitespace(const std::u32string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (char32_t c : s) {
    if (is_space(c)) {
      if (out.empty() || out.back() != U' ') out.push_back(U' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::u32string ftfy_fix_text(const std::u32string& text) {
  std::u32string out;
  bool unescape_html = true;  // ftfy's "auto": off from the first segment that contains '<' on
  size_t pos = 0;
  while (pos < text.size()) {
    size_t brk = text.find(U'\n', pos);
    brk = (brk == std::u32string::npos) ? text.size() : brk + 1;
    if (brk - pos > kMaxDecodeLength) brk = pos + kMaxDecodeLength;
    const std::u32string segment = text.substr(pos, brk - pos);
    if (segment.find(U'<') != std::u32string::npos) unescape_html = false;
    out += fix_segment(segment, unescape_html);
    pos = brk;
  }
  return out;
}

std::u32string clean_text(std::string_view utf8, bool lower) {
  std::u32string s = ftfy_fix_text(utf8_to_u32(utf8));
  s = strip(html_unescape(html_unescape(s)));
  s = strip(collapse_whitespace(s));
  return lower ? python_lower(s) : s;
}

}  // namespace clipdex::text
