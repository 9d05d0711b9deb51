#pragma once
// The exceptions clipdex throws on purpose, all derived from clipdex::Error. The edges map them:
// the CLI to exit codes (docs/CLI.md), the HTTP server to statuses, the C API to status codes.
#include <stdexcept>
#include <string>

namespace clipdex {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The caller's input is wrong (bad file, bad argument, corrupt image): exit 2 / HTTP 400.
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

// Another process is writing the library (and the caller asked not to wait): exit 4 / HTTP 409.
class LibraryBusy : public Error {
 public:
  using Error::Error;
};

// A job stopped because its caller asked it to (IndexOptions::cancel); what it committed stays.
class Cancelled : public Error {
 public:
  using Error::Error;
};

}  // namespace clipdex
