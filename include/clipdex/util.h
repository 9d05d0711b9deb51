#pragma once
// Small helpers the CLI and the server share with library users.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace clipdex {

std::string base64_encode(std::span<const uint8_t> bytes);
// InputError on characters outside the standard alphabet.
std::vector<uint8_t> base64_decode(std::string_view text);
bool is_valid_utf8(std::string_view text);

// A whole file (IoError when it cannot be read).
std::string read_file(const std::string& path);
// Replaces a file atomically: the old or the new contents, never a mix, after a crash too.
void write_file_atomic(const std::string& path, std::string_view bytes);
// $XDG_CACHE_HOME/clipdex or ~/.cache/clipdex.
std::string user_cache_dir();

}  // namespace clipdex
