#include "cli/model_options.h"

#include <cstdlib>

namespace clipdex::cli {

void add_precision_option(CLI::App* cmd, std::string& precision) {
  cmd->add_option("--precision", precision,
                  "Matrix products in auto (the fastest of fp32/bf16 measured on this CPU), fp32, bf16 or int8 "
                  "(int8 embeddings are a model of their own: a library indexed in int8 is searched in int8); "
                  "on a GPU auto (= fp16), fp16, bf16 or fp32")
      ->check(CLI::IsMember({"auto", "fp32", "bf16", "int8", "fp16"}));
}

void add_device_option(CLI::App* cmd, std::string& device) {
  cmd->add_option("--device", device,
                  "Where the model runs: cpu, cuda or cuda:N (a clipdex built with -DCLIPDEX_CUDA=ON; docs/GPU.md) "
                  "(default: $CLIPDEX_DEVICE, else cpu)");
}

void ModelOptions::add_to(CLI::App* cmd, bool required) {
  auto* m = cmd->add_option("--model", model, "Model: a folder (open_clip or Hugging Face layout) or a .safetensors file "
                                              "(default: $CLIPDEX_MODEL)");
  if (required) m->required()->envname("CLIPDEX_MODEL");
  cmd->add_option("--vocab", options.vocab, "Tokenizer: bpe_simple_vocab_16e6.txt.gz or a folder with vocab.json + merges.txt "
                                            "(default: found beside the model)");
  cmd->add_option("--arch", options.arch, "Built-in architecture to use instead of the model's config (e.g. ViT-B-32)");
  cmd->add_option("--text-model", options.text_model,
                  "A separate text tower for --model's images, e.g. M-CLIP for queries in any language (its tokenizer "
                  "comes from its folder; widths must agree)");
  cmd->add_option("--adapter", options.adapter,
                  "A LoRA adapter folder (PEFT: adapter_config.json + adapter_model.safetensors, e.g. from clipdex "
                  "finetune) merged into the model's weights at load (docs/LORA.md)");
  options.precision.clear();  // "" = the library's (int8 stays int8), else auto
  add_precision_option(cmd, options.precision);
  add_device_option(cmd, options.device);
  cmd->add_flag("--exact-decode", options.exact_decode,
                "Decode every JPEG pixel (bit parity with PIL) instead of decoding large photos at 1/2-1/8 scale "
                "first (several times faster; embeddings agree to cosine >= 0.995, docs/PRECISION.md)");
}

Model ModelOptions::open() const { return Model::open(model, options); }


Model ModelOptions::open_for(const Library& lib, bool to_index) const {
  // The library's own model comes before the environment's, so a set CLIPDEX_MODEL never
  // makes a search embed queries with another model than the one its vectors came from.
  std::string path = model;
  if (path.empty() && lib.model_path().empty()) {
    const char* env = std::getenv("CLIPDEX_MODEL");
    path = env ? env : "";
    if (path.empty()) throw InputError(lib.path() + " does not name a model yet: pass --model (or set CLIPDEX_MODEL)");
  }
  if (to_index) return Model::open(path.empty() ? lib.model_path() : path, lib.model_options(options));
  return lib.model(options, path);
}

}  // namespace clipdex::cli
