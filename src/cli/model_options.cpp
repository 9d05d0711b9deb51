#include "cli/model_options.h"

#include <cstdlib>
#include <filesystem>

#include "core/error.h"

namespace clipdex::cli {
namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

void add_precision_option(CLI::App* cmd, std::string& precision) {
  cmd->add_option("--precision", precision,
                  "Matrix products in auto (the fastest of fp32/bf16 measured on this CPU), fp32, bf16 or int8 "
                  "(int8 embeddings are a model of their own: a library indexed in int8 is searched in int8)")
      ->check(CLI::IsMember({"auto", "fp32", "bf16", "int8"}));
}

kernels::Precision precision_from(const std::string& option) {
  if (option.empty()) return kernels::Precision::Auto;
  const auto p = kernels::parse_precision(option);
  if (!p) throw_input("--precision must be auto, fp32, bf16 or int8, not '{}'", option);
  return *p;
}

void ModelOptions::add_to(CLI::App* cmd, bool required) {
  auto* m = cmd->add_option("--model", model, "Model: a folder (open_clip or Hugging Face layout) or a .safetensors file "
                                              "(default: $CLIPDEX_MODEL)");
  if (required) m->required()->envname("CLIPDEX_MODEL");
  cmd->add_option("--vocab", vocab, "Tokenizer: bpe_simple_vocab_16e6.txt.gz or a folder with vocab.json + merges.txt "
                                    "(default: found beside the model)");
  cmd->add_option("--arch", arch, "Built-in architecture to use instead of the model's config (e.g. ViT-B-32)");
  cmd->add_option("--text-model", text_model,
                  "A separate text tower for --model's images, e.g. M-CLIP for queries in any language (its tokenizer "
                  "comes from its folder; widths must agree)");
  cmd->add_option("--adapter", adapter,
                  "A LoRA adapter folder (PEFT: adapter_config.json + adapter_model.safetensors, e.g. from clipdex "
                  "finetune) merged into the model's weights at load (docs/LORA.md)");
  add_precision_option(cmd, precision);
  cmd->add_flag("--exact-decode", exact_decode,
                "Decode every JPEG pixel (bit parity with PIL) instead of decoding large photos at 1/2-1/8 scale "
                "first (several times faster; embeddings agree to cosine >= 0.995, docs/PRECISION.md)");
}

std::shared_ptr<pipeline::Embedder> ModelOptions::open() const {
  model::LoadOptions opt;
  opt.architecture = arch;
  opt.precision = precision_from(precision);
  opt.adapter = adapter;
  auto emb = pipeline::Embedder::open(model, vocab, opt, text_model);
  emb->set_exact_decode(exact_decode);
  return emb;
}

std::shared_ptr<pipeline::Embedder> ModelOptions::open_for(pipeline::Library& lib, bool remember) {
  const auto stored = lib.remembered_model();
  if (model.empty()) model = stored.model;
  if (vocab.empty()) vocab = stored.vocab;
  if (arch.empty()) arch = stored.arch;
  if (text_model.empty()) text_model = stored.text_model;
  if (adapter.empty()) adapter = stored.adapter;
  // Only int8 is remembered: fp32 and bf16 vectors are interchangeable, int8 ones are not.
  const bool precision_given = !precision.empty();
  if (!precision_given && lib.setting("precision") == "int8") precision = "int8";
  // The library's own model comes before the environment's, so a set CLIPDEX_MODEL never
  // makes a search embed queries with another model than the one its vectors came from.
  if (model.empty()) model = env_or_empty("CLIPDEX_MODEL");
  if (model.empty())
    throw InputError(fmt::format("{} does not name a model yet: pass --model (or set CLIPDEX_MODEL)", lib.db_path()));
  auto emb = open();
  lib.check_model(emb->model_id(), remember);
  if (remember)
    lib.remember_model({model, vocab, arch, text_model, adapter},
                       precision_given ? std::optional<bool>(precision == "int8") : std::nullopt);
  return emb;
}

}  // namespace clipdex::cli
