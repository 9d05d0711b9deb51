#pragma once
// JSON-lines input shared by the streaming subcommands: a bad line gets an error object on
// stdout ({"error": "..."}), a message on stderr, and processing continues with the next line.
#include <functional>
#include <istream>
#include <string>

#include <nlohmann/json.hpp>

namespace clipdex::cli {

// Calls fn for each non-empty line parsed as a JSON object; returns the number of failed lines.
int for_each_json_line(std::istream& in, const std::function<void(const nlohmann::json&)>& fn);

// One line of JSON output; invalid UTF-8 in strings is replaced rather than thrown on.
std::string to_json_line(const nlohmann::json& j);

// The string field `key` of obj, or InputError.
std::string require_string(const nlohmann::json& obj, const char* key);

}  // namespace clipdex::cli
