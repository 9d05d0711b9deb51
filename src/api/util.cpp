// The helpers of include/clipdex/util.h that are not the core's own functions re-declared.
#include "clipdex/util.h"

#include "core/base64.h"
#include "text/utf8.h"

namespace clipdex {

std::string base64_encode(std::span<const uint8_t> bytes) { return base64_encode(bytes.data(), bytes.size()); }

bool is_valid_utf8(std::string_view text) { return text::is_valid_utf8(text); }

}  // namespace clipdex
