#include "cli/json_lines.h"

#include <iostream>

#include <fmt/format.h>

#include "clipdex/error.h"
#include "clipdex/util.h"

namespace clipdex::cli {

int for_each_json_line(std::istream& in, const std::function<void(const nlohmann::json&)>& fn) {
  int failures = 0;
  std::string line;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      // Invalid UTF-8 inside strings is reported by the parser as an error, not replaced.
      auto obj = nlohmann::json::parse(line);
      if (!obj.is_object()) throw InputError("expected a JSON object");
      fn(obj);
    } catch (const std::exception& e) {
      ++failures;
      std::cerr << "clipdex: line " << lineno << ": " << e.what() << '\n';
      std::cout << to_json_line({{"error", e.what()}, {"line", lineno}}) << '\n';
    }
  }
  return failures;
}

std::string to_json_line(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string printable(const std::string& name) {
  std::string out;
  size_t i = 0;
  while (i < name.size()) {
    const auto c = static_cast<unsigned char>(name[i]);
    // The longest valid UTF-8 sequence starting here (1 for ASCII), or 0.
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len > 1 && (i + len > name.size() || !is_valid_utf8(std::string_view(name).substr(i, len)))) len = 0;
    if (len == 0 || c < 0x20 || c == 0x7f || c == '\\') {
      out += c == '\\' ? std::string("\\\\") : fmt::format("\\x{:02x}", c);
      ++i;
      continue;
    }
    // C1 controls (U+0080..U+009F) are escapes to some terminals too.
    if (len == 2 && c == 0xC2 && static_cast<unsigned char>(name[i + 1]) < 0xA0) {
      out += fmt::format("\\x{:02x}\\x{:02x}", c, static_cast<unsigned char>(name[i + 1]));
      i += 2;
      continue;
    }
    out.append(name, i, len);
    i += len;
  }
  return out;
}

void put_path(nlohmann::json& obj, const std::string& key, const std::string& path) {
  obj[key] = path;
  if (!is_valid_utf8(path))
    obj[key + "_base64"] = base64_encode({reinterpret_cast<const uint8_t*>(path.data()), path.size()});
}

void put_image_details(nlohmann::json& obj, const ImageHit& hit) {
  obj["date"] = hit.date;
  obj["date_source"] = hit.date_from_exif ? "exif" : "file";
  if (!hit.format.empty()) obj["format"] = hit.format;
  if (!hit.camera.empty()) obj["camera"] = hit.camera;
}

std::string require_string(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) throw InputError(fmt::format("expected a string field \"{}\"", key));
  return it->get<std::string>();
}

}  // namespace clipdex::cli
