#pragma once
// Per-format decoders behind decode_image(). Each returns the image in its native mode and
// the file's EXIF payload, if any (decode_image() reads orientation and metadata from it).
// `name` is only used in messages.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "image/decode.h"

namespace clipdex::image::detail {

// What a file's EXIF says; defaults where a tag is absent or bad.
struct ExifTags {
  int orientation = 1;             // 1..8
  std::optional<int64_t> taken_at; // DateTimeOriginal (else DateTimeDigitized), as seconds since 1970 read as UTC
  std::string camera_make, camera_model;
};

struct Decoded {
  Image image;
  std::vector<uint8_t> exif;  // TIFF/EXIF payload ("Exif\0\0" prefix optional); empty when none
  int orientation = 0;        // a container's own orientation (1..8) where it has one; 0: use EXIF's
  std::optional<ExifTags> tags;  // metadata a container holds outside an EXIF payload (TIFF)
  int source_width = 0, source_height = 0;  // the stored size, when image was decoded smaller
};

Decoded decode_jpeg(std::span<const uint8_t> bytes, const DecodeOptions& opt, const std::string& name);
Decoded decode_png(std::span<const uint8_t> bytes, const DecodeOptions& opt, const std::string& name);
Decoded decode_webp(std::span<const uint8_t> bytes, const DecodeOptions& opt, const std::string& name);
Decoded decode_gif(std::span<const uint8_t> bytes, const DecodeOptions& opt, const std::string& name);
Decoded decode_bmp(std::span<const uint8_t> bytes, const DecodeOptions& opt, const std::string& name);
Decoded decode_tiff(std::span<const uint8_t> bytes, const DecodeOptions& opt, const std::string& name);
Decoded decode_heif(std::span<const uint8_t> bytes, const DecodeOptions& opt, const std::string& name);  // HEIC and AVIF

// Throws InputError when width x height is zero or over the configured limit.
void check_dimensions(uint64_t width, uint64_t height, const DecodeOptions& opt, const std::string& name);

// A text tag as stored: up to its first NUL, printable ASCII only (anything else is dropped
// rather than kept as bad UTF-8), the spaces cameras pad with trimmed from the end.
std::string printable_ascii(std::string_view tag);

// Reads an EXIF payload ("Exif\0\0" prefix optional); malformed payloads give the defaults.
ExifTags read_exif(std::span<const uint8_t> exif);

// "YYYY:MM:DD HH:MM:SS" (EXIF's form; '-' also accepted between date parts) as seconds since 1970,
// the wall-clock time read as UTC; nullopt when malformed or the camera wrote zeros.
std::optional<int64_t> parse_exif_datetime(const std::string& text);

// Applies an EXIF orientation (2..8) to the pixels.
Image apply_orientation(const Image& im, int orientation);

}  // namespace clipdex::image::detail
