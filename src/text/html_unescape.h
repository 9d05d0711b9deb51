#pragma once
#include <string>

namespace clipdex::text {

// Python's html.unescape(): named references from the HTML5 table (also the legacy ones
// without ';', longest prefix first), numeric references with the HTML5 replacement rules.
std::u32string html_unescape(const std::u32string& s);

// ftfy's unescape_html(): only '&name;' / '&#num;' forms matching &#?[0-9A-Za-z]{1,24};
// plus all-caps spellings of lower-case entity names (&EACUTE; -> É).
std::u32string ftfy_unescape_html(const std::u32string& s);

// Windows-1252 meaning of a C1 control byte 0x80..0x9F (undefined bytes map to themselves),
// as browsers, html.unescape and ftfy's "sloppy" codec read them.
char32_t cp1252_c1(char32_t c);

}  // namespace clipdex::text
