#pragma once
// The --model / --vocab / --arch options that every model-loading subcommand takes.
#include <string>

#include <CLI/CLI.hpp>

#include "clipdex/clipdex.h"

namespace clipdex::cli {

struct ModelOptions {
  std::string model;
  clipdex::ModelOptions options;  // vocab, arch, text model, adapter, precision, exact decode

  void add_to(CLI::App* cmd, bool required = true);
  clipdex::Model open() const;
  // The library's model: options not given come from what the library remembers, and the
  // model must be the one its vectors came from, unless `to_index` (index re-embeds or refuses).
  clipdex::Model open_for(const Library& lib, bool to_index = false) const;
};

// Adds --precision / --device to a command that loads a model without ModelOptions (model info).
void add_precision_option(CLI::App* cmd, std::string& precision);
void add_device_option(CLI::App* cmd, std::string& device);

}  // namespace clipdex::cli
