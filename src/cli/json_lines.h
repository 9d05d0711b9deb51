#pragma once
// JSON-lines input shared by the streaming subcommands: a bad line gets an error object on
// stdout ({"error": "..."}), a message on stderr, and processing continues with the next line.
#include <functional>
#include <istream>
#include <string>

#include <nlohmann/json.hpp>

#include "clipdex/clipdex.h"

namespace clipdex::cli {

// Calls fn for each non-empty line parsed as a JSON object; returns the number of failed lines.
int for_each_json_line(std::istream& in, const std::function<void(const nlohmann::json&)>& fn);

// One line of JSON output; invalid UTF-8 in strings is replaced rather than thrown on.
std::string to_json_line(const nlohmann::json& j);

// A file name as text for a terminal: control characters, backslashes and invalid UTF-8 bytes
// become \xNN escapes (\\ for a backslash), so a hostile name cannot forge lines or move the
// cursor, and the exact bytes stay recoverable.
std::string printable(const std::string& name);

// Sets obj[key] to a path; a path that is not valid UTF-8 also gets obj[key + "_base64"] with
// its exact bytes (the plain field then shows U+FFFD where the invalid bytes were).
void put_path(nlohmann::json& obj, const std::string& key, const std::string& path);

// An image result's date, where the date came from, format and camera, as `search --json` and
// the HTTP API show them.
void put_image_details(nlohmann::json& obj, const ImageHit& hit);

// The string field `key` of obj, or InputError.
std::string require_string(const nlohmann::json& obj, const char* key);

}  // namespace clipdex::cli
