#pragma once
#include <string>

namespace clipdex {

// clipdex's per-user cache folder: $XDG_CACHE_HOME/clipdex, else ~/.cache/clipdex, else "" when
// neither variable is set.
std::string user_cache_dir();

}  // namespace clipdex
