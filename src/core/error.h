#pragma once
// Errors: throw with context inside the library (what, which file/tensor, what was
// expected); convert at the edges (CLI exit code, HTTP status). Never abort on input.
#include <string>

#include <fmt/format.h>

#include "clipdex/error.h"  // the classes: public, for library users

namespace clipdex {

template <typename... Args>
[[noreturn]] void throw_input(fmt::format_string<Args...> f, Args&&... args) {
  throw InputError(fmt::format(f, std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void throw_io(fmt::format_string<Args...> f, Args&&... args) {
  throw IoError(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace clipdex

// Checks an invariant of the input; throws InputError naming the failed condition.
#define CLIPDEX_CHECK_INPUT(cond, ...)                                                   \
  do {                                                                                   \
    if (!(cond)) ::clipdex::throw_input(__VA_ARGS__);                                    \
  } while (0)
