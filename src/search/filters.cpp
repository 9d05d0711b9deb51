#include "search/filters.h"

#include <charconv>
#include <cstdio>
#include <filesystem>

#include "core/civil_date.h"
#include "core/error.h"
#include "search/searcher.h"

namespace clipdex::search {
namespace {

int positive_int(const std::string& name, const std::string& value) {
  int v = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || ptr != value.data() + value.size() || v < 0)
    throw_input("{} must be a whole number of pixels, not '{}'", name, value);
  return v;
}

std::string canonical_format(std::string f) {
  while (!f.empty() && f.back() == ' ') f.pop_back();
  while (!f.empty() && f.front() == ' ') f.erase(f.begin());
  for (auto& c : f) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (f == "jpg") return "jpeg";
  if (f == "tif") return "tiff";
  if (f == "heic") return "heif";
  for (const char* known : {"jpeg", "png", "webp", "gif", "bmp", "tiff", "heif", "avif"})
    if (f == known) return f;
  throw_input("unknown image format '{}' (jpeg, png, webp, gif, bmp, tiff, heif, avif)", f);
}

}  // namespace

int64_t parse_date_bound(const std::string& text, bool end) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, used = 0;
  char sep = 0;
  const char* t = text.c_str();
  int fields = 0;
  if (std::sscanf(t, "%4d-%2d-%2d%c%2d:%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &s, &used) == 7 && !t[used]) fields = 6;
  else if (std::sscanf(t, "%4d-%2d-%2d%c%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &used) == 6 && !t[used]) fields = 5;
  else if (std::sscanf(t, "%4d-%2d-%2d%n", &y, &mo, &d, &used) == 3 && !t[used]) fields = 3;
  else if (std::sscanf(t, "%4d-%2d%n", &y, &mo, &used) == 2 && !t[used]) fields = 2;
  else if (std::sscanf(t, "%4d%n", &y, &used) == 1 && !t[used] && used == 4) fields = 1;
  if (fields >= 5 && sep != 'T' && sep != ' ') fields = 0;
  const bool ok = fields > 0 && y >= 1800 && y <= 9999 && (fields < 2 || (mo >= 1 && mo <= 12)) &&
                  (fields < 3 || (d >= 1 && static_cast<unsigned>(d) <= days_in_month(y, static_cast<unsigned>(mo)))) &&
                  h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && s >= 0 && s <= 59;
  if (!ok) throw_input("'{}' is not a date (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS])", text);
  if (fields < 2) mo = end ? 12 : 1;
  if (fields < 3) d = end ? static_cast<int>(days_in_month(y, static_cast<unsigned>(mo))) : 1;
  if (fields < 5) h = end ? 23 : 0, mi = end ? 59 : 0;
  if (fields < 6) s = end ? 59 : 0;
  return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 + mi * 60 + s;
}

std::string format_date(int64_t seconds) {
  const int64_t days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
  const int64_t rem = seconds - days * 86400;
  const CivilDate c = civil_from_days(days);
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}", c.year, c.month, c.day, rem / 3600, rem / 60 % 60, rem % 60);
}

bool is_filter_field(const std::string& name) {
  for (const char* f : {"folder", "path", "since", "until", "min_width", "min_height", "format"})
    if (name == f) return true;
  return false;
}

void add_filter_field(store::ContentFilter& f, const std::string& name, const std::string& value) {
  if (name == "folder") {
    if (value.empty()) throw InputError("folder must not be empty");
    std::error_code ec;
    const auto canon = std::filesystem::weakly_canonical(value, ec);
    f.folders.push_back(ec ? value : canon.string());
  } else if (name == "path") {
    if (value.empty()) throw InputError("path pattern must not be empty");
    f.path_globs.push_back(value);
  } else if (name == "since") {
    f.date_from = parse_date_bound(value, /*end=*/false);
  } else if (name == "until") {
    f.date_to = parse_date_bound(value, /*end=*/true);
  } else if (name == "min_width") {
    f.min_width = positive_int(name, value);
  } else if (name == "min_height") {
    f.min_height = positive_int(name, value);
  } else if (name == "format") {
    size_t start = 0;
    while (start <= value.size()) {
      const size_t comma = std::min(value.find(',', start), value.size());
      if (comma > start) f.formats.push_back(canonical_format(value.substr(start, comma - start)));
      start = comma + 1;
    }
  } else {
    throw_input("unknown filter '{}' (folder, path, since, until, min_width, min_height, format)", name);
  }
}

std::string camera_name(const store::ImageMetadata& m) {
  // Many cameras repeat the make in the model ("Canon" / "Canon EOS 5D").
  if (m.camera_model.empty()) return m.camera_make;
  if (m.camera_make.empty() || m.camera_model.rfind(m.camera_make, 0) == 0) return m.camera_model;
  return m.camera_make + " " + m.camera_model;
}

void put_image_details(nlohmann::json& out, const ImageHit& hit) {
  out["date"] = format_date(hit.date);
  out["date_source"] = hit.metadata.taken_at ? "exif" : "file";
  if (!hit.metadata.format.empty()) out["format"] = hit.metadata.format;
  if (const auto camera = camera_name(hit.metadata); !camera.empty()) out["camera"] = camera;
}

}  // namespace clipdex::search
