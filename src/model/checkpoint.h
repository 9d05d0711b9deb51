#pragma once
// A checkpoint seen through canonical tensor names (OpenAI CLIP / open_clip state_dict names).
// Each published layout is a table that maps canonical names onto the file's own names:
//   open_clip / OpenAI:  identity (a leading "module." is dropped)
//   Hugging Face CLIPModel: vision_model.* / text_model.*, separate q/k/v, transposed projections.
// Every tensor is taken with its expected shape; at the end, tensors nobody took are an error.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/tensor_file.h"
#include "kernels/tensor.h"
#include "model/lora_adapter.h"

namespace clipdex::model {

enum class Layout { OpenClip, HuggingFace };
const char* layout_name(Layout l);

class Checkpoint {
 public:
  // Opens a weights file (safetensors, PyTorch .bin, TorchScript .pt) and detects its layout
  // from the tensor names.
  static Checkpoint open(const std::string& path);

  // A checkpoint without a file that records every tensor the model asks for (name, shape)
  // and hands out zeros: the model definition itself lists the tensors a layout must hold.
  static Checkpoint recorder();
  const std::vector<std::pair<std::string, std::vector<int64_t>>>& recorded() const { return recorded_; }

  Layout layout() const { return layout_; }
  const std::string& path() const { return path_; }
  const TensorFile& file() const { return st_; }

  // Whether the canonical tensor exists in this checkpoint.
  bool has(const std::string& canonical) const;
  // Shape of a canonical tensor as stored in canonical orientation; throws if missing.
  std::vector<int64_t> shape(const std::string& canonical) const;
  // The canonical tensor in fp32, checked against `expected` (throws InputError naming it).
  kernels::Tensor take(const std::string& canonical, const std::vector<int64_t>& expected);
  // The same rounded to bf16, converted piece by piece as the file is read so that no fp32 copy
  // of the whole tensor exists at once (a 768 MB embedding table); `take`'s checks apply.
  std::vector<uint16_t> take_bf16(const std::string& canonical, const std::vector<int64_t>& expected);
  // Canonical names present (for inferring the architecture from shapes).
  std::vector<std::string> canonical_names() const;
  // Throws InputError listing tensors that no part of the model took.
  void check_all_taken() const;
  // Storage dtype of most weights ("F32", "F16", "BF16").
  std::string dominant_dtype() const;

  // Merges a LoRA adapter into every weight take() hands out from now on (lora_adapter.h).
  void set_adapter(std::shared_ptr<const LoraAdapter> adapter) { adapter_ = std::move(adapter); }

 private:
  struct Source;  // how one canonical tensor is assembled from file tensors
  Source resolve(const std::string& canonical) const;
  // shape(canonical), checked against what the model expects (InputError naming the tensor).
  std::vector<int64_t> checked_shape(const std::string& canonical, const Source& s,
                                     const std::vector<int64_t>& expected) const;
  static Source hf_source(const std::string& canonical);
  // Adds the adapter's s * B @ A to a canonical tensor (in canonical orientation).
  void merge_adapter(const std::string& canonical, std::vector<float>& data, const std::vector<int64_t>& shape) const;

  std::string path_;
  TensorFile st_;
  Layout layout_ = Layout::OpenClip;
  std::string prefix_;  // "module." for some OpenAI-style checkpoints
  std::set<std::string> taken_;
  bool recording_ = false;
  std::vector<std::pair<std::string, std::vector<int64_t>>> recorded_;
  std::shared_ptr<const LoraAdapter> adapter_;
};

}  // namespace clipdex::model
