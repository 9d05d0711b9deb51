#pragma once
// The --model / --vocab / --arch options that every model-loading subcommand takes.
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "pipeline/embedder.h"
#include "pipeline/library.h"

namespace clipdex::cli {

struct ModelOptions {
  std::string model;
  std::string vocab;
  std::string arch;
  std::string text_model;  // a separate text tower (M-CLIP) for the model's images
  std::string adapter;     // a PEFT LoRA adapter folder merged into the model
  std::string precision;   // auto | fp32 | bf16 | int8 ("" = the library's, else auto)
  bool exact_decode = false;

  void add_to(CLI::App* cmd, bool required = true);
  std::shared_ptr<pipeline::Embedder> open() const;
  // Options not given come from the library's settings; given ones are remembered there
  // (paths made absolute) when `remember` is set.
  std::shared_ptr<pipeline::Embedder> open_for(pipeline::Library& lib, bool remember);
};

// Adds --precision to a command that loads a model without ModelOptions (model info).
void add_precision_option(CLI::App* cmd, std::string& precision);
// "" and "auto" resolve to Auto; anything else must name a precision (InputError otherwise).
kernels::Precision precision_from(const std::string& option);

}  // namespace clipdex::cli
