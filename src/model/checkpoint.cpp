#include "model/checkpoint.h"

#include <algorithm>
#include <map>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "kernels/bf16_rows.h"

namespace clipdex::model {

struct Checkpoint::Source {
  std::vector<std::string> parts;  // file tensors concatenated along dim 0 (q, k, v)
  bool transpose = false;          // stored as [out, in] where canonical is [in, out]
};

namespace {

// Canonical -> Hugging Face name rules, applied in order; $1 is the layer index.
struct Rule {
  std::regex pattern;
  std::string replacement;
};

const std::vector<Rule>& hf_rules() {
  static const std::vector<Rule> rules = [] {
    const std::vector<std::pair<const char*, const char*>> table = {
        {R"(^token_embedding\.weight$)", "text_model.embeddings.token_embedding.weight"},
        {R"(^positional_embedding$)", "text_model.embeddings.position_embedding.weight"},
        {R"(^ln_final\.(weight|bias)$)", "text_model.final_layer_norm.$1"},
        {R"(^text_projection$)", "text_projection.weight"},
        {R"(^logit_scale$)", "logit_scale"},
        {R"(^visual\.class_embedding$)", "vision_model.embeddings.class_embedding"},
        {R"(^visual\.positional_embedding$)", "vision_model.embeddings.position_embedding.weight"},
        {R"(^visual\.conv1\.weight$)", "vision_model.embeddings.patch_embedding.weight"},
        {R"(^visual\.ln_pre\.(weight|bias)$)", "vision_model.pre_layrnorm.$1"},
        {R"(^visual\.ln_post\.(weight|bias)$)", "vision_model.post_layernorm.$1"},
        {R"(^visual\.proj$)", "visual_projection.weight"},
        {R"(^transformer\.resblocks\.(\d+)\.(.*)$)", "text_model.encoder.layers.$1.$2"},
        {R"(^visual\.transformer\.resblocks\.(\d+)\.(.*)$)", "vision_model.encoder.layers.$1.$2"},
    };
    std::vector<Rule> out;
    for (const auto& [p, r] : table) out.push_back({std::regex(p), r});
    return out;
  }();
  return rules;
}

// Block-internal renames (after the layer prefix has been mapped).
std::string hf_block_suffix(const std::string& s) {
  static const std::vector<std::pair<std::string, std::string>> table = {
      {"ln_1.", "layer_norm1."},        {"ln_2.", "layer_norm2."},           {"mlp.c_fc.", "mlp.fc1."},
      {"mlp.c_proj.", "mlp.fc2."},      {"attn.out_proj.", "self_attn.out_proj."}};
  for (const auto& [from, to] : table) {
    const auto pos = s.rfind(from);
    if (pos != std::string::npos && pos + from.size() <= s.size() && s.find('.', pos + from.size()) == std::string::npos)
      return s.substr(0, pos) + to + s.substr(pos + from.size());
  }
  return s;
}

bool ignorable(const std::string& name) {
  auto ends_with = [&](const char* suf) {
    const std::string s(suf);
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  // (M-CLIP keeps XLM-R's pooler, which its forward never uses.)
  return ends_with("position_ids") || ends_with("num_batches_tracked") || ends_with("attn_mask") ||
         name.find(".pooler.") != std::string::npos;
}

std::string shape_str(const std::vector<int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

}  // namespace

const char* layout_name(Layout l) { return l == Layout::OpenClip ? "open_clip" : "huggingface"; }

Checkpoint Checkpoint::open(const std::string& path) {
  Checkpoint c;
  c.path_ = path;
  c.st_ = TensorFile::open(path);
  bool hf = false, oc = false, module = false;
  for (const auto& [name, t] : c.st_.tensors()) {
    if (name.rfind("vision_model.", 0) == 0 || name.rfind("text_model.", 0) == 0) hf = true;
    if (name.rfind("visual.", 0) == 0 || name == "token_embedding.weight") oc = true;
    if (name.rfind("module.visual.", 0) == 0) module = oc = true;
    if (name.rfind("transformer.embeddings.", 0) == 0) oc = true;  // M-CLIP's text-only XLM-R
  }
  if (hf == oc)
    throw_input("{}: unknown checkpoint layout (expected open_clip/OpenAI names like 'visual.*' "
                "or Hugging Face CLIPModel names like 'vision_model.*')",
                path);
  c.layout_ = hf ? Layout::HuggingFace : Layout::OpenClip;
  if (module) c.prefix_ = "module.";
  return c;
}

Checkpoint Checkpoint::recorder() {
  Checkpoint c;
  c.path_ = "<recorder>";
  c.recording_ = true;
  return c;
}

// The Hugging Face tensors a canonical tensor is made of (whatever the file's own layout: LoRA
// adapters name modules the Hugging Face way for both).
Checkpoint::Source Checkpoint::hf_source(const std::string& canonical) {
  for (const auto& rule : hf_rules()) {
    if (!std::regex_match(canonical, rule.pattern)) continue;
    std::string name = hf_block_suffix(std::regex_replace(canonical, rule.pattern, rule.replacement));
    const auto in_proj = name.find("attn.in_proj_");
    if (in_proj != std::string::npos) {
      const std::string base = name.substr(0, in_proj) + "self_attn.";
      const std::string kind = name.substr(in_proj + std::string("attn.in_proj_").size());  // weight | bias
      return {{base + "q_proj." + kind, base + "k_proj." + kind, base + "v_proj." + kind}, false};
    }
    const bool transpose = canonical == "text_projection" || canonical == "visual.proj";
    return {{name}, transpose};
  }
  return {{canonical}, false};  // no HF equivalent (e.g. ResNet tensors): reported as missing
}

Checkpoint::Source Checkpoint::resolve(const std::string& canonical) const {
  if (layout_ == Layout::OpenClip) return {{prefix_ + canonical}, false};
  return hf_source(canonical);
}

void Checkpoint::merge_adapter(const std::string& canonical, std::vector<float>& data,
                               const std::vector<int64_t>& shape) const {
  const Source s = hf_source(canonical);
  const std::string suffix = ".weight";
  for (size_t part = 0; part < s.parts.size(); ++part) {
    const std::string& name = s.parts[part];
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    const LoraWeights* w = adapter_->find(name.substr(0, name.size() - suffix.size()));
    if (!w) continue;
    // Canonical is [rows of part 0; part 1; ...] each [out, in], or [in, out] when transposed.
    const int64_t rows = s.transpose ? shape[1] : shape[0] / static_cast<int64_t>(s.parts.size());
    const int64_t cols = s.transpose ? shape[0] : shape[1];
    if (shape.size() != 2 || w->out != rows || w->in != cols)
      throw_input("adapter {}: module {} is [{} x {}], the model's weight is [{} x {}]", adapter_->dir(),
                  name.substr(0, name.size() - suffix.size()), w->out, w->in, rows, cols);
    const auto delta = w->delta();
    float* base = data.data() + static_cast<size_t>(part) * static_cast<size_t>(rows * cols);
    for (int64_t o = 0; o < rows; ++o)
      for (int64_t i = 0; i < cols; ++i) {
        const float d = delta[static_cast<size_t>(o * cols + i)];
        if (s.transpose) base[i * rows + o] += d;
        else base[o * cols + i] += d;
      }
  }
}

bool Checkpoint::has(const std::string& canonical) const {
  const Source s = resolve(canonical);
  return std::all_of(s.parts.begin(), s.parts.end(), [&](const std::string& p) { return st_.contains(p); });
}

std::vector<int64_t> Checkpoint::shape(const std::string& canonical) const {
  const Source s = resolve(canonical);
  std::vector<int64_t> shape;
  for (const auto& part : s.parts) {
    if (!st_.contains(part)) throw_input("{}: missing tensor '{}' ({} layout)", path_, part, layout_name(layout_));
    const auto& t = st_.get(part);
    if (shape.empty()) shape = t.shape;
    else if (!shape.empty() && !t.shape.empty()) shape[0] += t.shape[0];
  }
  if (s.transpose && shape.size() == 2) std::swap(shape[0], shape[1]);
  return shape;
}

std::vector<int64_t> Checkpoint::checked_shape(const std::string& canonical, const Source& s,
                                              const std::vector<int64_t>& expected) const {
  auto actual = shape(canonical);
  if (actual != expected)
    throw_input("{}: tensor '{}' has shape {}, but the model config needs {}", path_, s.parts[0], shape_str(actual),
                shape_str(expected));
  return actual;
}

kernels::Tensor Checkpoint::take(const std::string& canonical, const std::vector<int64_t>& expected) {
  if (recording_) {
    recorded_.emplace_back(canonical, expected);
    return kernels::Tensor(expected);
  }
  const Source s = resolve(canonical);
  const auto actual = checked_shape(canonical, s, expected);
  std::vector<float> data;
  for (const auto& part : s.parts) {
    const auto& view = st_.get(part);
    auto v = view.to_f32();
    st_.release(view);  // the fp32 copy is all the model keeps
    if (data.empty()) data = std::move(v);
    else data.insert(data.end(), v.begin(), v.end());
    taken_.insert(part);
  }
  if (s.transpose) {
    const int64_t rows = actual[1], cols = actual[0];  // stored [rows, cols]
    std::vector<float> t(data.size());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) t[c * rows + r] = data[r * cols + c];
    data.swap(t);
  }
  if (adapter_) merge_adapter(canonical, data, expected);
  return kernels::Tensor(expected, std::move(data));
}

std::vector<uint16_t> Checkpoint::take_bf16(const std::string& canonical, const std::vector<int64_t>& expected) {
  std::vector<uint16_t> out;
  const auto to_bf16 = [&out](const std::vector<float>& v) {
    out.resize(out.size() + v.size());
    kernels::narrow_to_bf16(v.data(), v.size(), out.data() + out.size() - v.size());
  };
  const Source s = recording_ ? Source{} : resolve(canonical);
  // Assembled or adapted tensors (and the recorder) go through take(); a plain one is read in
  // pieces of 256 KB of fp32 (whole rows), each piece's mapped pages dropped once converted.
  if (recording_ || s.parts.size() != 1 || s.transpose || adapter_) {
    const auto t = take(canonical, expected);
    out.reserve(t.data.size());
    to_bf16(t.data);
    return out;
  }
  const auto actual = checked_shape(canonical, s, expected);
  const TensorView& view = st_.get(s.parts[0]);
  const int64_t row = actual.size() > 1 ? actual.back() : 1, rows = view.numel() / std::max<int64_t>(1, row);
  const int64_t rows_per_piece = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, row));
  const auto row_bytes = static_cast<size_t>(row) * dtype_size(view.dtype);
  out.reserve(static_cast<size_t>(view.numel()));
  for (int64_t r = 0; r < rows; r += rows_per_piece) {
    TensorView piece = view;
    const int64_t n = std::min(rows_per_piece, rows - r);
    piece.shape = {n, row};
    piece.bytes = view.bytes.subspan(static_cast<size_t>(r) * row_bytes, static_cast<size_t>(n) * row_bytes);
    to_bf16(piece.to_f32());
    st_.release(piece);
  }
  taken_.insert(s.parts[0]);
  return out;
}

std::vector<std::string> Checkpoint::canonical_names() const {
  std::vector<std::string> out;
  for (const auto& [name, t] : st_.tensors())
    if (name.rfind(prefix_, 0) == 0) out.push_back(name.substr(prefix_.size()));
  return out;
}

void Checkpoint::check_all_taken() const {
  std::vector<std::string> extra;
  for (const auto& [name, t] : st_.tensors())
    if (!taken_.count(name) && !ignorable(name)) extra.push_back(name);
  if (!extra.empty()) {
    if (extra.size() > 5) extra.resize(5), extra.push_back("...");
    throw_input("{}: tensors not used by the model (config does not match the checkpoint?): {}", path_,
                fmt::join(extra, ", "));
  }
}

std::string Checkpoint::dominant_dtype() const {
  std::map<std::string, int64_t> bytes;
  for (const auto& [name, t] : st_.tensors()) bytes[dtype_name(t.dtype)] += static_cast<int64_t>(t.bytes.size());
  return std::max_element(bytes.begin(), bytes.end(), [](auto& a, auto& b) { return a.second < b.second; })->first;
}

}  // namespace clipdex::model
