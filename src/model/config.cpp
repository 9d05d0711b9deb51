#include "model/config.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace clipdex::model {
namespace {

using nlohmann::json;

template <typename T>
T get_or(const json& j, const char* key, T fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw_input("config field '{}' has the wrong type: {}", key, it->dump());
  }
}

// open_clip options that change the architecture in ways clipdex does not implement.
void reject_unsupported(const json& cfg, const char* section) {
  static const std::map<std::string, json> kDefaults = {
      {"ls_init_value", nullptr},   {"attentional_pool", false}, {"no_ln_pre", false},
      {"final_ln_after_pool", false}, {"pool_type", "argmax"},   {"proj_bias", false},
      {"timm_model_name", nullptr}, {"input_patchnorm", false},
      {"output_tokens", false},     {"embed_cls", false},        {"pad_id", 0}};
  for (const auto& [key, def] : kDefaults) {
    auto it = cfg.find(key);
    if (it == cfg.end() || it->is_null() || *it == def) continue;
    if (key == "pool_type" && std::string(section) == "vision_cfg" && *it == "tok") continue;
    throw_input("open_clip option {}.{} = {} is not supported", section, key, it->dump());
  }
}

void parse_preprocess(const json& p, ModelConfig& m) {
  if (p.contains("mean")) {
    auto v = p["mean"].get<std::vector<float>>();
    if (v.size() != 3) throw_input("preprocess_cfg.mean must have 3 values");
    std::copy(v.begin(), v.end(), m.preprocess.mean.begin());
  }
  if (p.contains("std")) {
    auto v = p["std"].get<std::vector<float>>();
    if (v.size() != 3) throw_input("preprocess_cfg.std must have 3 values");
    std::copy(v.begin(), v.end(), m.preprocess.std.begin());
  }
  m.preprocess.interpolation = image::parse_filter(get_or<std::string>(p, "interpolation", "bicubic"));
  m.preprocess.resize_mode = image::parse_resize_mode(get_or<std::string>(p, "resize_mode", "shortest"));
}

void validate(const ModelConfig& m) {
  const auto& v = m.vision;
  const auto& t = m.text;
  auto positive = [](int x) { return x > 0 && x < (1 << 20); };
  if (!positive(m.embed_dim) || !positive(v.image_size) || !positive(v.width) || !positive(v.head_width) ||
      !positive(t.width) || !positive(t.heads) || !positive(t.layers) || !positive(t.context_length) ||
      !positive(t.vocab_size) || !positive(t.mlp_width))
    throw_input("model config has a non-positive or absurd size");
  if (v.kind == VisionKind::ViT) {
    if (!positive(v.patch_size) || v.image_size % v.patch_size != 0 || !positive(v.layers) || !positive(v.mlp_width))
      throw_input("ViT config: image_size {} must be a multiple of patch_size {}", v.image_size, v.patch_size);
    if (v.width % v.head_width != 0) throw_input("ViT width {} is not a multiple of head_width {}", v.width, v.head_width);
  } else {
    if (v.image_size % 32 != 0) throw_input("ResNet image_size {} must be a multiple of 32", v.image_size);
    for (int l : v.resnet_layers)
      if (!positive(l)) throw_input("ResNet layers must be positive");
  }
  if (t.width % t.heads != 0) throw_input("text width {} is not a multiple of heads {}", t.width, t.heads);
}

}  // namespace

std::string ModelConfig::signature() const {
  std::string vis = vision.kind == VisionKind::ViT
                        ? fmt::format("ViT(i{},p{},w{},l{},h{},m{})", vision.image_size, vision.patch_size, vision.width,
                                      vision.layers, vision.heads(), vision.mlp_width)
                        : fmt::format("RN(i{},w{},l{}-{}-{}-{},h{})", vision.image_size, vision.width,
                                      vision.resnet_layers[0], vision.resnet_layers[1], vision.resnet_layers[2],
                                      vision.resnet_layers[3], vision.heads());
  if (text_kind == TextKind::Xlmr) {
    const auto& x = xlmr;
    const std::string txt = fmt::format("XLMR(c{},v{},w{},l{},h{},m{},{})-e{}", text.context_length, x.vocab, x.hidden,
                                        x.layers, x.heads, x.intermediate, x.head == TextHead::LinearWithBias ? "lin"
                                                                           : x.head == TextHead::Mlp        ? "mlp"
                                                                                                            : "linnb",
                                        embed_dim);
    return has_image ? fmt::format("{}-{}-{}", vis, txt, quick_gelu ? "qgelu" : "gelu") : txt;
  }
  return fmt::format("{}-T(c{},v{},w{},l{},h{},m{})-e{}-{}", vis, text.context_length, text.vocab_size, text.width,
                     text.layers, text.heads, text.mlp_width, embed_dim, quick_gelu ? "qgelu" : "gelu");
}

ModelConfig parse_open_clip_config(const json& j) {
  if (!j.is_object()) throw_input("open_clip config is not a JSON object");
  const json& mc = j.contains("model_cfg") ? j["model_cfg"] : j;
  if (!mc.is_object() || !mc.contains("vision_cfg") || !mc.contains("text_cfg"))
    throw_input("open_clip config lacks model_cfg.vision_cfg / text_cfg");
  const json& vc = mc["vision_cfg"];
  const json& tc = mc["text_cfg"];
  reject_unsupported(vc, "vision_cfg");
  reject_unsupported(tc, "text_cfg");
  ModelConfig m;
  m.architecture = "custom";
  m.embed_dim = get_or<int>(mc, "embed_dim", 512);
  m.quick_gelu = get_or<bool>(mc, "quick_gelu", false);
  auto& v = m.vision;
  v.image_size = get_or<int>(vc, "image_size", 224);
  v.width = get_or<int>(vc, "width", 768);
  v.head_width = get_or<int>(vc, "head_width", 64);
  if (vc.contains("layers") && vc["layers"].is_array()) {
    v.kind = VisionKind::ResNet;
    auto l = vc["layers"].get<std::vector<int>>();
    if (l.size() != 4) throw_input("ResNet vision_cfg.layers must list 4 stages");
    std::copy(l.begin(), l.end(), v.resnet_layers.begin());
  } else {
    v.kind = VisionKind::ViT;
    v.layers = get_or<int>(vc, "layers", 12);
    v.patch_size = get_or<int>(vc, "patch_size", 16);
    v.mlp_width = static_cast<int>(v.width * get_or<double>(vc, "mlp_ratio", 4.0));
  }
  if (tc.contains("hf_model_name") && !tc["hf_model_name"].is_null()) {
    // A Hugging Face text tower (open_clip's xlm-roberta-* models): XLM-R, mean pooled.
    m.text_kind = TextKind::Xlmr;
    m.xlmr.config_name = get_or<std::string>(tc, "hf_model_name", "");
    if (get_or<std::string>(tc, "hf_pooler_type", "mean_pooler") != "mean_pooler")
      throw_input("open_clip text_cfg.hf_pooler_type {} is not supported (mean_pooler is)", tc["hf_pooler_type"].dump());
    const std::string proj = get_or<std::string>(tc, "hf_proj_type", "mlp");
    if (proj != "mlp" && proj != "linear") throw_input("open_clip text_cfg.hf_proj_type '{}' is not supported", proj);
    m.xlmr.head = proj == "mlp" ? TextHead::Mlp : TextHead::Linear;
    m.text.context_length = get_or<int>(tc, "context_length", 77);
  }
  auto& t = m.text;
  t.context_length = get_or<int>(tc, "context_length", 77);
  t.vocab_size = get_or<int>(tc, "vocab_size", 49408);
  t.width = get_or<int>(tc, "width", 512);
  t.heads = get_or<int>(tc, "heads", 8);
  t.layers = get_or<int>(tc, "layers", 12);
  t.mlp_width = static_cast<int>(t.width * get_or<double>(tc, "mlp_ratio", 4.0));
  m.preprocess.size = v.image_size;
  if (j.contains("preprocess_cfg")) parse_preprocess(j["preprocess_cfg"], m);
  validate(m);
  return m;
}

void parse_xlmr_config(const json& j, XlmrConfig& x) {
  if (!j.is_object()) throw_input("XLM-R config is not a JSON object");
  x.hidden = get_or<int>(j, "hidden_size", x.hidden);
  x.layers = get_or<int>(j, "num_hidden_layers", x.layers);
  x.heads = get_or<int>(j, "num_attention_heads", x.heads);
  x.intermediate = get_or<int>(j, "intermediate_size", x.intermediate);
  x.vocab = get_or<int>(j, "vocab_size", x.vocab);
  x.max_positions = get_or<int>(j, "max_position_embeddings", x.max_positions);
  x.type_vocab = get_or<int>(j, "type_vocab_size", x.type_vocab);
  x.pad_id = get_or<int>(j, "pad_token_id", x.pad_id);
  x.eps = get_or<float>(j, "layer_norm_eps", x.eps);
  const std::string act = get_or<std::string>(j, "hidden_act", "gelu");
  if (act != "gelu") throw_input("XLM-R hidden_act '{}' is not supported (gelu is)", act);
  const std::string pos = get_or<std::string>(j, "position_embedding_type", "absolute");
  if (pos != "absolute") throw_input("XLM-R position_embedding_type '{}' is not supported", pos);
  if (x.hidden <= 0 || x.heads <= 0 || x.hidden % x.heads != 0 || x.layers <= 0 || x.vocab <= 3 || x.max_positions <= 2)
    throw_input("XLM-R config has inconsistent sizes (hidden {}, heads {})", x.hidden, x.heads);
}

ModelConfig parse_mclip_config(const json& j) {
  ModelConfig m;
  m.architecture = "M-CLIP";
  m.text_kind = TextKind::Xlmr;
  m.has_image = false;
  m.embed_dim = get_or<int>(j, "numDims", 512);
  m.xlmr.hidden = get_or<int>(j, "transformerDimensions", 1024);
  m.xlmr.head = TextHead::LinearWithBias;
  m.xlmr.prefix = "transformer.";
  m.xlmr.head_prefix = "LinearTransformation";
  m.xlmr.config_name = get_or<std::string>(j, "modelBase", "");
  m.xlmr.clean_text = false;  // MultilingualCLIP.forward tokenizes the raw text
  return m;
}

ModelConfig parse_hf_config(const json& config, const json* preprocessor) {
  if (!config.is_object() || !config.contains("text_config") || !config.contains("vision_config"))
    throw_input("Hugging Face config lacks text_config / vision_config (is it a CLIPModel?)");
  const json& tc = config["text_config"];
  const json& vc = config["vision_config"];
  ModelConfig m;
  m.architecture = "custom";
  m.embed_dim = get_or<int>(config, "projection_dim", 512);
  const std::string act = get_or<std::string>(vc, "hidden_act", "quick_gelu");
  if (act != "quick_gelu" && act != "gelu") throw_input("unsupported hidden_act '{}'", act);
  if (get_or<std::string>(tc, "hidden_act", "quick_gelu") != act)
    throw_input("text and vision towers use different activations");
  m.quick_gelu = act == "quick_gelu";
  m.layer_norm_eps = get_or<float>(vc, "layer_norm_eps", 1e-5f);
  auto& v = m.vision;
  v.kind = VisionKind::ViT;
  v.width = get_or<int>(vc, "hidden_size", 768);
  v.mlp_width = get_or<int>(vc, "intermediate_size", 3072);
  v.layers = get_or<int>(vc, "num_hidden_layers", 12);
  const int heads = get_or<int>(vc, "num_attention_heads", 12);
  if (heads <= 0 || v.width % heads != 0) throw_input("vision hidden_size is not a multiple of num_attention_heads");
  v.head_width = v.width / heads;
  v.image_size = get_or<int>(vc, "image_size", 224);
  v.patch_size = get_or<int>(vc, "patch_size", 32);
  auto& t = m.text;
  t.width = get_or<int>(tc, "hidden_size", 512);
  t.mlp_width = get_or<int>(tc, "intermediate_size", 2048);
  t.layers = get_or<int>(tc, "num_hidden_layers", 12);
  t.heads = get_or<int>(tc, "num_attention_heads", 8);
  t.context_length = get_or<int>(tc, "max_position_embeddings", 77);
  t.vocab_size = get_or<int>(tc, "vocab_size", 49408);
  m.preprocess.size = v.image_size;
  if (preprocessor && preprocessor->is_object()) {
    json p;
    if (preprocessor->contains("image_mean")) p["mean"] = (*preprocessor)["image_mean"];
    if (preprocessor->contains("image_std")) p["std"] = (*preprocessor)["image_std"];
    parse_preprocess(p, m);
  }
  validate(m);
  return m;
}

json to_open_clip_config(const ModelConfig& m) {
  json vision = {{"image_size", m.vision.image_size}, {"width", m.vision.width}, {"head_width", m.vision.head_width}};
  if (m.vision.kind == VisionKind::ViT) {
    vision["layers"] = m.vision.layers;
    vision["patch_size"] = m.vision.patch_size;
    vision["mlp_ratio"] = static_cast<double>(m.vision.mlp_width) / m.vision.width;
  } else {
    vision["layers"] = m.vision.resnet_layers;
  }
  json text = {{"context_length", m.text.context_length}, {"vocab_size", m.text.vocab_size}, {"width", m.text.width},
               {"heads", m.text.heads}, {"layers", m.text.layers},
               {"mlp_ratio", static_cast<double>(m.text.mlp_width) / m.text.width}};
  const auto& p = m.preprocess;
  const char* interp = p.interpolation == image::Filter::Bicubic ? "bicubic"
                       : p.interpolation == image::Filter::Bilinear ? "bilinear" : "nearest";
  return {{"model_cfg", {{"embed_dim", m.embed_dim}, {"quick_gelu", m.quick_gelu}, {"vision_cfg", vision}, {"text_cfg", text}}},
          {"preprocess_cfg", {{"mean", p.mean}, {"std", p.std}, {"interpolation", interp},
                              {"resize_mode", p.resize_mode == image::ResizeMode::Shortest ? "shortest" : "squash"}}}};
}

ModelConfig builtin_config(const std::string& requested) {
  std::string name = requested;
  bool quick = false;
  const std::string suffix = "-quickgelu";
  if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
    quick = true;
    name.resize(name.size() - suffix.size());
  }
  auto vit = [](int image, int patch, int width, int layers, int embed, int twidth, int theads) {
    json j = {{"embed_dim", embed},
              {"vision_cfg", {{"image_size", image}, {"layers", layers}, {"width", width}, {"patch_size", patch}}},
              {"text_cfg", {{"context_length", 77}, {"vocab_size", 49408}, {"width", twidth}, {"heads", theads}, {"layers", 12}}}};
    return j;
  };
  auto rn = [](std::vector<int> layers, int embed) {
    json j = {{"embed_dim", embed},
              {"vision_cfg", {{"image_size", 224}, {"layers", layers}, {"width", 64}}},
              {"text_cfg", {{"context_length", 77}, {"vocab_size", 49408}, {"width", 512}, {"heads", 8}, {"layers", 12}}}};
    return j;
  };
  json j;
  if (name == "ViT-B-32") j = vit(224, 32, 768, 12, 512, 512, 8);
  else if (name == "ViT-B-16") j = vit(224, 16, 768, 12, 512, 512, 8);
  else if (name == "ViT-L-14") j = vit(224, 14, 1024, 24, 768, 768, 12);
  else if (name == "ViT-L-14-336") j = vit(336, 14, 1024, 24, 768, 768, 12);
  else if (name == "RN50") j = rn({3, 4, 6, 3}, 1024);
  else if (name == "RN101") j = rn({3, 4, 23, 3}, 512);
  else throw_input("unknown architecture '{}' (known: ViT-B-32, ViT-B-16, ViT-L-14, ViT-L-14-336, RN50, RN101, each also -quickgelu)", requested);
  j["quick_gelu"] = quick;
  ModelConfig m = parse_open_clip_config(j);
  m.architecture = requested;
  return m;
}

std::vector<std::string> builtin_names() {
  return {"ViT-B-32", "ViT-B-16", "ViT-L-14", "ViT-L-14-336", "RN50", "RN101"};
}

}  // namespace clipdex::model
