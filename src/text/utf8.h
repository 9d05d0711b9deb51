#pragma once
// UTF-8 <-> UTF-32 conversion. Invalid UTF-8 (overlong forms, surrogates, truncated sequences,
// code points past U+10FFFF) is rejected with an error that gives the byte offset.
#include <string>
#include <string_view>

namespace clipdex::text {

std::u32string utf8_to_u32(std::string_view s);  // throws InputError on invalid UTF-8
std::string u32_to_utf8(std::u32string_view s);
void append_utf8(std::string& out, char32_t c);
bool is_valid_utf8(std::string_view s);

}  // namespace clipdex::text
