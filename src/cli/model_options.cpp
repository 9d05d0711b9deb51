#include "cli/model_options.h"

namespace clipdex::cli {

void ModelOptions::add_to(CLI::App* cmd, bool required) {
  auto* m = cmd->add_option("--model", model, "Model: a folder (open_clip or Hugging Face layout) or a .safetensors file");
  if (required) m->required();
  cmd->add_option("--vocab", vocab, "Tokenizer: bpe_simple_vocab_16e6.txt.gz or a folder with vocab.json + merges.txt "
                                    "(default: found beside the model)");
  cmd->add_option("--arch", arch, "Built-in architecture to use instead of the model's config (e.g. ViT-B-32)");
}

std::shared_ptr<pipeline::Embedder> ModelOptions::open() const {
  model::LoadOptions opt;
  opt.architecture = arch;
  return pipeline::Embedder::open(model, vocab, opt);
}

}  // namespace clipdex::cli
