// Describe, convert, download and make models: `clipdex model` as library calls.
#include "clipdex/models.h"

#include "api/conversions.h"

#include "clipdex/clipdex.h"
#include "core/error.h"
#include "kernels/cpu_features.h"
#include "kernels/precision.h"
#include "model/clip_model.h"
#include "model/convert.h"
#include "model/hub_fetch.h"
#include "model/random_model.h"
#include "pipeline/text_input.h"

namespace clipdex {

ModelDescription describe_model(const std::string& path, const ModelOptions& options) {
  const model::LoadOptions opt = api::load_options(options);
  const auto m = model::Model::load(path, opt);
  const auto& c = m->config();
  const auto& i = m->info();
  ModelDescription d;
  d.path = i.path;
  d.architecture = c.architecture;
  d.image_tower = !m->has_image_tower() ? "none" : c.vision.kind == model::VisionKind::ViT ? "ViT" : "ModifiedResNet";
  d.text_tower = c.text_kind == model::TextKind::Xlmr ? "XLM-R" : "CLIP";
  d.signature = c.signature();
  d.embed_dim = c.embed_dim;
  d.image_size = c.vision.image_size;
  d.context_length = c.text.context_length;
  d.activation = c.quick_gelu ? "quick_gelu" : "gelu";
  d.parameters = static_cast<int64_t>(i.parameters);
  d.dtype = i.dtype;
  d.layout = i.layout;
  d.config_source = i.config_source;
  d.model_id = m->model_id();
  d.container = i.container;
  d.precision = i.precision;
  d.kernels = i.kernels;
  d.device = i.device;
  d.adapter = i.adapter;
  d.adapter_summary = i.adapter_summary;
  try {
    d.vocab = pipeline::TextInput::for_model(*m, path, options.vocab)->source();
  } catch (const InputError&) {
    // described without one: `model info` says where to get it
  }
  return d;
}

ConvertedModel convert_model(const std::string& in, const std::string& out_dir, const std::string& arch,
                             const std::string& vocab) {
  model::LoadOptions opt;
  opt.architecture = arch;
  const auto r = model::convert_model(in, out_dir, opt, vocab);
  return {r.weights, r.config, r.vocab, r.vocab.empty() ? model::missing_vocab_advice(in) : ""};
}

std::string fetch_model(const std::string& repo, const FetchOptions& options) {
  model::FetchOptions o;
  o.revision = options.revision;
  o.cache_dir = options.cache_dir;
  o.endpoint = options.endpoint;
  o.tokenizer_only = options.tokenizer_only;
  o.progress = options.progress;
  return model::fetch_model(repo, o);
}

void make_random_model(const std::string& arch, const std::string& out_dir, uint64_t seed, const std::string& dtype) {
  const DType dt = dtype == "f32" ? DType::F32 : dtype == "f16" ? DType::F16 : dtype == "bf16" ? DType::BF16
                   : throw InputError("the dtype must be f32, f16 or bf16, not '" + dtype + "'");
  model::write_random_model(model::builtin_config(arch), out_dir, seed, dt);
}

std::string cpu_description() {
  const auto& f = kernels::cpu_features();
  return f.model + " (" + f.summary() + ")";
}

}  // namespace clipdex
