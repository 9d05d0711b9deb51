#include "store/sql.h"

#include "store/engines.h"

namespace clipdex::store {

bool is_database_url(const std::string& location) {
  return location.starts_with("postgresql://") || location.starts_with("postgres://");
}

std::unique_ptr<Database> open_database(const std::string& location) {
  return is_database_url(location) ? open_postgres(location) : open_sqlite(location);
}

}  // namespace clipdex::store
