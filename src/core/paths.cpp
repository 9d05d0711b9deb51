#include "core/paths.h"

#include <cstdlib>

namespace clipdex {

std::string user_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/clipdex";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/clipdex";
  return "";
}

}  // namespace clipdex
