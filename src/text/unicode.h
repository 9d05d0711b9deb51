#pragma once
// Unicode properties and transforms with the semantics of Python's str methods and the
// `regex` module, which the reference tokenizer uses. Backed by utf8proc.
#include <string>

namespace clipdex::text {

bool is_letter(char32_t c);  // \p{L}: Lu Ll Lt Lm Lo
bool is_number(char32_t c);  // \p{N}: Nd Nl No
bool is_decimal(char32_t c); // \d on str: Nd
bool is_space(char32_t c);   // Python's str.isspace() / re's \s on str
std::u32string nfc(const std::u32string& s);
std::u32string nfkc(const std::u32string& s);
// Python's str.lower(): full lower-case mapping, including U+0130 and the Final_Sigma rule.
std::u32string python_lower(const std::u32string& s);
// Python's str.upper(): full upper-case mapping (ß -> SS and the other expanding cases).
std::u32string python_upper(const std::u32string& s);

}  // namespace clipdex::text
