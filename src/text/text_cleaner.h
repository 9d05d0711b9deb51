#pragma once
// The reference tokenizer's text cleaning (OpenAI CLIP simple_tokenizer.py):
//   ftfy.fix_text(text) -> html.unescape twice -> strip -> whitespace runs to one space
//   -> strip -> lower().
// ftfy.fix_text (6.x defaults) is reproduced step by step, except its mojibake repair
// (fix_encoding), which guesses at double-encoded text with heuristics; see docs/TOKENIZER.md.
#include <string>
#include <string_view>

namespace clipdex::text {

// Steps of ftfy.fix_text with default settings (without fix_encoding).
std::u32string ftfy_fix_text(const std::u32string& text);

// The full reference cleaning. Throws InputError on invalid UTF-8. open_clip cleans the text
// of its Hugging Face tokenizers (XLM-R) the same way but without lower-casing (lower = false).
std::u32string clean_text(std::string_view utf8, bool lower = true);

}  // namespace clipdex::text
