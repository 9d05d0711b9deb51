#pragma once
// Working with model files without embedding anything: describe, convert, download and make
// models (what `clipdex model` does).
#include <cstdint>
#include <string>

namespace clipdex {

struct ModelOptions;

// What `clipdex model info` prints.
struct ModelDescription {
  std::string path, architecture;
  std::string image_tower;  // ViT, ModifiedResNet, or none (a text-only tower)
  std::string text_tower;   // CLIP or XLM-R
  std::string signature;    // the shapes that identify the architecture
  int embed_dim = 0, image_size = 0, context_length = 0;
  std::string activation;   // gelu or quick_gelu
  int64_t parameters = 0;
  std::string dtype, layout, config_source, model_id, container, precision, kernels, device;
  std::string vocab;        // the tokenizer found beside it, "" for none
  std::string adapter, adapter_summary;  // a merged LoRA adapter, "" for none
};

// Loads the weights (not the tokenizer: a model without one is described too). Uses
// options.arch, adapter and precision.
ModelDescription describe_model(const std::string& path, const ModelOptions& options);

// Rewrites a checkpoint (.bin, .pt, .safetensors or a folder) as a safetensors model folder
// with its config and tokenizer (`vocab` overrides the tokenizer found for it).
struct ConvertedModel {
  std::string weights, config;
  std::string vocab;          // the tokenizer copied, "" when none was found
  std::string vocab_advice;   // with no tokenizer: where to get one
};
ConvertedModel convert_model(const std::string& in, const std::string& out_dir, const std::string& arch = "",
                             const std::string& vocab = "");

// Downloads a published checkpoint from the Hugging Face hub (the one command that uses the
// network); returns the local folder.
struct FetchOptions {
  std::string revision = "main";
  std::string cache_dir;  // default: $XDG_CACHE_HOME/clipdex or ~/.cache/clipdex
  std::string endpoint;   // default: $HF_ENDPOINT or https://huggingface.co
  bool tokenizer_only = false;
  bool progress = true;   // a progress bar on stderr when it is a terminal
};
std::string fetch_model(const std::string& repo, const FetchOptions& options = {});

// A full-size model of a built-in architecture ("ViT-B-32") with random weights, for
// benchmarks: open_clip layout, dtype f32, f16 or bf16.
void make_random_model(const std::string& arch, const std::string& out_dir, uint64_t seed = 0,
                       const std::string& dtype = "f32");

// This CPU: its name and the instruction sets the kernels choose from.
std::string cpu_description();

}  // namespace clipdex
