#pragma once
// The reference split of cleaned text into words, equivalent to findall with
//   <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// (case-insensitive): alternatives tried in order at each position, like the regex engine.
#include <functional>
#include <string>

namespace clipdex::text {

// Calls on_word(word) for each word in order; stops early when on_word returns false.
void pretokenize(const std::u32string& text, const std::function<bool(const std::u32string&)>& on_word);

}  // namespace clipdex::text
