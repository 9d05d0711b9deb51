#pragma once
// The --model / --vocab / --arch options that every model-loading subcommand takes.
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "pipeline/embedder.h"

namespace clipdex::cli {

struct ModelOptions {
  std::string model;
  std::string vocab;
  std::string arch;

  void add_to(CLI::App* cmd, bool required = true);
  std::shared_ptr<pipeline::Embedder> open() const;
};

}  // namespace clipdex::cli
