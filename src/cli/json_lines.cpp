#include "cli/json_lines.h"

#include <iostream>

#include "core/error.h"

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

std::string require_string(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) throw_input("expected a string field \"{}\"", key);
  return it->get<std::string>();
}

}  // namespace clipdex::cli
