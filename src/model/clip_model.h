#pragma once
// A loaded CLIP model: immutable after load and shared by any number of threads; each encode
// call uses its own scratch memory.
//
//   auto model = clipdex::model::Model::load("path/to/checkpoint-folder");
//   std::vector<float> img = model->encode_images(pixels, n);   // pixels [n, 3, S, S]
//   std::vector<float> txt = model->encode_texts(ids, n, 77);   // ids [n, 77]
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "model/checkpoint.h"
#include "model/config.h"

namespace clipdex::model {

struct LoadOptions {
  std::string architecture;  // a built-in name overrides any config file (e.g. "ViT-B-32")
  kernels::Precision precision = kernels::Precision::Auto;
  bool portable_kernels = false;  // fp32 on OpenBLAS only (the fallback path), for comparisons
  std::string adapter = {};       // a PEFT LoRA adapter folder merged into the weights at load
  std::string device = "cpu";     // "cpu", "cuda" or "cuda:N"
};

struct ModelInfo {
  std::string path;          // the weights file read
  std::string container;     // "safetensors", "pytorch" (.bin) or "torchscript" (.pt)
  std::string config_source; // "open_clip_config.json", "config.json", "built-in", "inferred"
  std::string layout;        // "open_clip" or "huggingface"
  std::string dtype;         // dominant storage dtype of the weights
  int64_t parameters = 0;
  std::string weights_hash;  // XXH3-64 of the weights file, hex
  std::string precision;     // what the matrix products run in: fp32, bf16 or int8
  std::string kernels;       // which kernels run them (library, implementation, ISA)
  std::string device;        // where the towers run: "cpu", "cuda:0 (NVIDIA H200)"
  std::string adapter;       // the LoRA adapter folder merged in ("" for none)
  std::string adapter_hash;  // of its files
  std::string adapter_summary;  // "r 4, lora_alpha 8, 8 modules: q_proj, v_proj"
};

class ImageTower;
class TextTower;

class Model {
 public:
  // path: a weights file (.safetensors, PyTorch .bin, TorchScript .pt), or a folder holding
  // open_clip_model.safetensors / open_clip_pytorch_model.bin (+ open_clip_config.json) or
  // Hugging Face model.safetensors / pytorch_model.bin + config.json (safetensors wins when both
  // are there, as in open_clip). Throws InputError / IoError naming the file.
  static std::unique_ptr<Model> load(const std::string& path, const LoadOptions& options = {});
  ~Model();

  // pixels: [n, 3, S, S] preprocessed (S = preprocess_config().size). Returns [n, embed_dim].
  std::vector<float> encode_images(const float* pixels, int64_t n) const;
  // ids: [n, context] model input ids (start, BPE ids, end, zero padding). Returns [n, embed_dim].
  std::vector<float> encode_texts(const int32_t* ids, int64_t n, int64_t context, bool full_context = false) const;

  int embed_dim() const { return config_.embed_dim; }
  bool has_image_tower() const { return image_ != nullptr; }
  int context_length() const { return config_.text.context_length; }
  float logit_scale() const { return logit_scale_; }  // exp(logit_scale): multiplies cosine similarity
  const ModelConfig& config() const { return config_; }
  const image::PreprocessConfig& preprocess_config() const { return config_.preprocess; }
  const ModelInfo& info() const { return info_; }
  // Identifies architecture + weights; stored by indexes to refuse vectors from another model.
  // fp32 and bf16 embeddings are interchangeable (cos >= 0.999, tests/test_precision.cpp);
  // int8 ones are not, so the id of an int8 run ends in "+int8". A LoRA adapter adds
  // "+lora:<hash of its files>": a changed adapter is another model.
  std::string model_id() const;

 private:
  Model() = default;
  ModelConfig config_;
  ModelInfo info_;
  float logit_scale_ = 1.0f;
  std::unique_ptr<kernels::Backend> backend_;            // runs the ViT and CLIP text towers
  std::unique_ptr<kernels::HostBackend> host_backend_;  // CPU-only towers beside a GPU backend
  kernels::Backend* image_backend_ = nullptr;
  kernels::Backend* text_backend_ = nullptr;
  std::unique_ptr<std::mutex> device_mutex_ = std::make_unique<std::mutex>();  // GPU work runs one call at a time
  std::unique_ptr<ImageTower> image_;
  std::unique_ptr<TextTower> text_;
};

// The weights (fp32 through take(), canonical names) and config of a model path, read as load()
// reads them but not built into towers: for code that runs the tensors itself (the LoRA trainer).
struct ModelWeights {
  Checkpoint checkpoint;
  ModelConfig config;
  std::string weights_path;
};
ModelWeights open_weights(const std::string& path, const LoadOptions& options = {});

// The tokenizer vocabulary that ships beside a model (vocab.json + merges.txt, or
// bpe_simple_vocab_16e6.txt.gz), or "" when there is none.
std::string find_vocab_beside(const std::string& model_path);

// The vocabulary for a model that may carry none (OpenAI's .pt files): beside the model, else
// $CLIPDEX_VOCAB, else the CLIP tokenizer files that `clipdex model fetch` left in the clipdex
// cache (every CLIP checkpoint on the hub shares that BPE vocabulary); "" when none is found.
std::string find_vocab(const std::string& model_path);

// What to tell a user whose model has no vocabulary: the exact command that gets one.
std::string missing_vocab_advice(const std::string& model_path);

}  // namespace clipdex::model
