#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace clipdex {

// Standard base64 (RFC 4648) with optional padding and an optional "data:...;base64," prefix;
// whitespace is skipped. Throws InputError on any other character.
std::vector<uint8_t> base64_decode(std::string_view s);
std::string base64_encode(const uint8_t* data, size_t n);

}  // namespace clipdex
