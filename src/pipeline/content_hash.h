#pragma once
// The content identity of a file's bytes (XXH3-128, hex): identical files share one content.
#include <string>
#include <string_view>

namespace clipdex::pipeline {

std::string content_hash(std::string_view bytes);

}  // namespace clipdex::pipeline
