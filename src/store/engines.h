#pragma once
// The two SQL engines behind store::Database (open_database picks one by the location's form).
#include <memory>
#include <string>

#include "store/sql.h"

namespace clipdex::store {

std::unique_ptr<Database> open_sqlite(const std::string& path);
std::unique_ptr<Database> open_postgres(const std::string& url);

}  // namespace clipdex::store
