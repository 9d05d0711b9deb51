#pragma once
// Errors: throw with context inside the library (what, which file/tensor, what was
// expected); convert at the edges (CLI exit code, HTTP status). Never abort on input.
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace clipdex {

// Base class of every error clipdex throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The caller's input is wrong (bad file, bad argument): the edges map it to exit 2 / HTTP 400.
class InputError : public Error {
 public:
  using Error::Error;
};

// An operating-system call failed (open, read, rename, ...).
class IoError : public Error {
 public:
  using Error::Error;
};

// The work was done except for some items, which were reported: the CLI exits 1.
class PartialFailure : public Error {
 public:
  using Error::Error;
};

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
