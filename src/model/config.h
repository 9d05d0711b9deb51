#pragma once
// Model hyper-parameters: from open_clip's open_clip_config.json, Hugging Face's config.json,
// a built-in architecture name, or inferred from tensor shapes as OpenAI's build_model() does.
#include <array>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "image/preprocess.h"

namespace clipdex::model {

enum class VisionKind { ViT, ResNet };

struct VisionConfig {
  VisionKind kind = VisionKind::ViT;
  int image_size = 224;
  int patch_size = 32;                      // ViT
  int width = 768;                          // ViT width, or ResNet stem width
  int layers = 12;                          // ViT
  std::array<int, 4> resnet_layers{3, 4, 6, 3};  // ResNet blocks per stage
  int head_width = 64;
  int mlp_width = 3072;                     // ViT

  int heads() const { return kind == VisionKind::ViT ? width / head_width : width * 32 / head_width; }
  int grid() const { return kind == VisionKind::ViT ? image_size / patch_size : image_size / 32; }
  int tokens() const { return grid() * grid() + 1; }
  int resnet_embed_width() const { return width * 32; }  // attention-pool width
};

struct TextConfig {
  int context_length = 77;
  int vocab_size = 49408;
  int width = 512;
  int heads = 8;
  int layers = 12;
  int mlp_width = 2048;
};

enum class TextKind { Clip, Xlmr };

// How an XLM-R text tower's pooled output is projected to the embedding.
enum class TextHead {
  LinearWithBias,  // M-CLIP's LinearTransformation
  Mlp,             // open_clip hf_proj_type "mlp": Linear -> exact GELU -> Linear, no biases
  Linear,          // open_clip hf_proj_type "linear": one Linear, no bias
};

// The XLM-RoBERTa encoder of multilingual towers (HF XLMRobertaConfig fields).
struct XlmrConfig {
  int hidden = 768, layers = 12, heads = 12, intermediate = 3072;
  int vocab = 250002, max_positions = 514, type_vocab = 1, pad_id = 1;
  float eps = 1e-5f;
  TextHead head = TextHead::Mlp;
  std::string prefix = "text.transformer.";  // tensor name prefix of the encoder
  std::string head_prefix = "text.proj";     // of the projection
  std::string config_name;                   // HF config folder named by the model's config ("" none)
  bool lower_case_clean = false;             // open_clip cleans text (ftfy, html, whitespace); M-CLIP does not
  bool clean_text = true;
};

struct ModelConfig {
  std::string architecture;  // e.g. "ViT-B-32", or "custom"
  int embed_dim = 512;
  bool quick_gelu = false;
  float layer_norm_eps = 1e-5f;
  VisionConfig vision;
  TextConfig text;
  TextKind text_kind = TextKind::Clip;
  XlmrConfig xlmr;        // when text_kind is Xlmr
  bool has_image = true;  // false for text-only models (M-CLIP)
  image::PreprocessConfig preprocess;

  // A compact description used in model ids, e.g. "ViT(p32,w768,l12)-T(w512,l12)-e512".
  std::string signature() const;
};

// open_clip_config.json content ({"model_cfg": ..., "preprocess_cfg": ...} or a bare model_cfg).
ModelConfig parse_open_clip_config(const nlohmann::json& j);
// HF XLMRobertaConfig fields into `x` (hidden_size, num_hidden_layers, ...).
void parse_xlmr_config(const nlohmann::json& j, XlmrConfig& x);
// M-CLIP's config.json (model_type "M-CLIP"): a text-only XLM-R tower with a linear head.
ModelConfig parse_mclip_config(const nlohmann::json& j);
// Hugging Face CLIPModel config.json (plus preprocessor_config.json when present).
ModelConfig parse_hf_config(const nlohmann::json& config, const nlohmann::json* preprocessor);
// The open_clip_config.json form of a config (model_cfg + preprocess_cfg).
nlohmann::json to_open_clip_config(const ModelConfig& m);
// Built-in architectures: ViT-B-32, ViT-B-16, ViT-L-14, ViT-L-14-336, RN50, RN101 (and *-quickgelu).
ModelConfig builtin_config(const std::string& name);
std::vector<std::string> builtin_names();

}  // namespace clipdex::model
