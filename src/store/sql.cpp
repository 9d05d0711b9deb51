#include "store/sql.h"

#include <algorithm>

#include "store/engines.h"

namespace clipdex::store {

bool is_database_url(const std::string& location) {
  return location.starts_with("postgresql://") || location.starts_with("postgres://");
}

std::string without_password(const std::string& location) {
  if (!is_database_url(location)) return location;
  std::string out = location;
  // user:password@host
  const size_t start = out.find("://") + 3;
  const size_t at = out.find('@', start), slash = out.find('/', start);
  if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
    const size_t colon = out.find(':', start);
    if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
  }
  // ?password=... or &password=...
  for (size_t p = out.find("password=", start); p != std::string::npos; p = out.find("password=", p + 1)) {
    if (out[p - 1] != '?' && out[p - 1] != '&') continue;
    const size_t value = p + 9, end = std::min(out.find('&', value), out.size());
    out.replace(value, end - value, "***");
  }
  return out;
}

std::unique_ptr<Database> open_database(const std::string& location) {
  return is_database_url(location) ? open_postgres(location) : open_sqlite(location);
}

}  // namespace clipdex::store
