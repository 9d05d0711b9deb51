#pragma once
// Image dimensions from the header alone, without decoding (JPEG SOF marker, PNG IHDR, GIF
// logical screen, BMP info header, WebP via libwebp): lets a server reserve decode memory
// before it decodes. nullopt when the header cannot be read (the decoder then says why).
#include <cstdint>
#include <optional>
#include <span>
#include <utility>

namespace clipdex::image {

std::optional<std::pair<uint32_t, uint32_t>> probe_size(std::span<const uint8_t> bytes);

}  // namespace clipdex::image
