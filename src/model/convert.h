#pragma once
// `clipdex model convert`: rewrites any checkpoint clipdex reads (PyTorch .bin, TorchScript .pt,
// safetensors) as a safetensors model folder, so a pickle is parsed once and later loads map the
// weights directly. Tensor names and dtypes are kept as stored; the folder gets the config the
// model was loaded with and the tokenizer files, so it loads on its own.
#include <string>

#include "model/clip_model.h"

namespace clipdex::model {

struct ConvertResult {
  std::string weights;  // the .safetensors written
  std::string config;   // the config written
  std::string vocab;    // the tokenizer copied ("" if none was found)
};

// `vocab` overrides the tokenizer found for `in` (see find_vocab). Throws InputError / IoError.
ConvertResult convert_model(const std::string& in, const std::string& out_dir, const LoadOptions& options,
                            const std::string& vocab = "");

}  // namespace clipdex::model
