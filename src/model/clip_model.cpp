#include "model/clip_model.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/heap.h"
#include "core/mapped_file.h"
#include "core/paths.h"
#include "core/thread_pool.h"
#include "model/checkpoint.h"
#include "model/infer_config.h"
#include "model/passes.h"
#include "model/towers.h"
#include "model/blocks.h"

namespace clipdex::model {
namespace {

namespace fs = std::filesystem;

// Weight files a model folder may hold, in order of preference (safetensors first, as open_clip).
constexpr const char* kWeightNames[] = {"open_clip_model.safetensors", "model.safetensors",
                                        "open_clip_pytorch_model.bin", "pytorch_model.bin"};

struct Files {
  std::string weights;
  std::string config;        // may be empty
  std::string preprocessor;  // HF preprocessor_config.json, may be empty
};

Files locate(const std::string& path) {
  Files f;
  fs::path dir;
  if (fs::is_directory(path)) {
    dir = path;
    for (const char* name : kWeightNames)
      if (fs::exists(dir / name)) {
        f.weights = (dir / name).string();
        break;
      }
    if (f.weights.empty())
      throw_input("'{}' holds no model weights (open_clip_model.safetensors, model.safetensors, "
                  "open_clip_pytorch_model.bin or pytorch_model.bin)",
                  path);
  } else if (fs::exists(path)) {
    f.weights = path;
    dir = fs::path(path).parent_path();
    if (dir.empty()) dir = ".";
  } else {
    throw_input("model '{}' does not exist", path);
  }
  const auto file_name = fs::path(f.weights).filename();
  const bool hf_weights = file_name == "model.safetensors" || file_name == "pytorch_model.bin";
  const std::vector<std::string> config_names =
      hf_weights ? std::vector<std::string>{"config.json", "open_clip_config.json"}
                 : std::vector<std::string>{"open_clip_config.json", "config.json"};
  for (const auto& name : config_names)
    if (fs::exists(dir / name)) {
      f.config = (dir / name).string();
      break;
    }
  if (fs::exists(dir / "preprocessor_config.json")) f.preprocessor = (dir / "preprocessor_config.json").string();
  return f;
}

nlohmann::json read_json(const std::string& path) {
  auto j = nlohmann::json::parse(read_file(path), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw_input("{}: not valid JSON", path);
  return j;
}

ModelConfig load_config(const Files& f, const Checkpoint& ck, const LoadOptions& opt, std::string& source) {
  try {
    if (!opt.architecture.empty()) {
      source = "built-in";
      return builtin_config(opt.architecture);
    }
    if (ck.file().container() == "torchscript") {  // OpenAI's .pt: build_model reads only the weights
      source = "inferred";
      return infer_config(ck);
    }
    if (!f.config.empty()) {
      source = fs::path(f.config).filename().string();
      const auto j = read_json(f.config);
      if (j.contains("model_cfg") || j.contains("vision_cfg")) return parse_open_clip_config(j);
      if (j.is_object() && j.value("model_type", "") == "M-CLIP") return parse_mclip_config(j);
      nlohmann::json pre;
      if (!f.preprocessor.empty()) pre = read_json(f.preprocessor);
      return parse_hf_config(j, f.preprocessor.empty() ? nullptr : &pre);
    }
    source = "inferred";
    return infer_config(ck);
  } catch (const nlohmann::json::exception& e) {
    throw_input("{}: bad model config: {}", f.config.empty() ? f.weights : f.config, e.what());
  }
}

// An XLM-R tower's sizes: from the HF config the model names (a folder beside it, as in the
// fixtures and converted repos), else from the tensor shapes (heads: hidden / 64, as in every
// published XLM-R); the shapes are checked either way when the tensors are taken.
void complete_xlmr_config(const Checkpoint& ck, const fs::path& dir, ModelConfig& cfg) {
  auto& x = cfg.xlmr;
  bool heads_known = false;
  if (!x.config_name.empty() && fs::exists(dir / x.config_name / "config.json")) {
    parse_xlmr_config(read_json((dir / x.config_name / "config.json").string()), x);
    heads_known = true;
  }
  const std::string word = x.prefix + "embeddings.word_embeddings.weight";
  if (!ck.has(word)) throw_input("{}: no XLM-R text tower (missing '{}')", ck.path(), word);
  const auto w = ck.shape(word);
  if (!heads_known) {
    x.vocab = static_cast<int>(w[0]);
    x.hidden = static_cast<int>(w[1]);
    x.heads = std::max(1, x.hidden / 64);
    x.max_positions = static_cast<int>(ck.shape(x.prefix + "embeddings.position_embeddings.weight")[0]);
    x.type_vocab = static_cast<int>(ck.shape(x.prefix + "embeddings.token_type_embeddings.weight")[0]);
    x.layers = count_layers(ck, x.prefix + "encoder.layer", "attention.self.query.weight");
    x.intermediate = static_cast<int>(ck.shape(x.prefix + "encoder.layer.0.intermediate.dense.weight")[0]);
  }
  if (!cfg.has_image) cfg.text.context_length = x.max_positions - x.pad_id - 1;  // M-CLIP: no cut below 512
  cfg.text.vocab_size = x.vocab;
}

}  // namespace

Model::~Model() = default;

ModelWeights open_weights(const std::string& path, const LoadOptions& options) {
  const Files files = locate(path);
  ModelWeights w{Checkpoint::open(files.weights), {}, files.weights};
  if (!options.adapter.empty()) w.checkpoint.set_adapter(LoraAdapter::open(options.adapter));
  std::string source;
  w.config = load_config(files, w.checkpoint, options, source);
  if (w.config.text_kind == TextKind::Xlmr) complete_xlmr_config(w.checkpoint, fs::path(files.weights).parent_path(), w.config);
  return w;
}

std::unique_ptr<Model> Model::load(const std::string& path, const LoadOptions& options) {
  const Files files = locate(path);
  Checkpoint ck = Checkpoint::open(files.weights);
  std::shared_ptr<const LoraAdapter> adapter;
  if (!options.adapter.empty()) {
    adapter = LoraAdapter::open(options.adapter);
    ck.set_adapter(adapter);
  }
  std::unique_ptr<Model> m(new Model());
  m->config_ = load_config(files, ck, options, m->info_.config_source);
  if (m->config_.text_kind == TextKind::Xlmr) complete_xlmr_config(ck, fs::path(files.weights).parent_path(), m->config_);
  const kernels::DeviceSpec device = kernels::device_spec(options.device);
  if (device.cuda) {
    m->backend_ = kernels::make_cuda_backend(device.index, options.precision);
  } else {
    m->host_backend_ = options.portable_kernels ? kernels::make_cpu_backend() : kernels::make_backend(options.precision);
  }
  // ModifiedResNet and XLM-R run on host memory: beside a GPU backend they get a CPU one.
  const auto& cfg = m->config_;
  const bool resnet = cfg.has_image && cfg.vision.kind != VisionKind::ViT, xlmr = cfg.text_kind == TextKind::Xlmr;
  if (!m->host_backend_ && (resnet || xlmr))
    m->host_backend_ = kernels::make_backend(options.precision == kernels::Precision::Fp16 ? kernels::Precision::Auto
                                                                                          : options.precision);
  kernels::Backend& be = m->backend_ ? *m->backend_ : *m->host_backend_;
  m->image_backend_ = resnet ? m->host_backend_.get() : &be;
  m->text_backend_ = xlmr ? m->host_backend_.get() : &be;
  if (cfg.has_image)
    m->image_ = resnet ? load_resnet(ck, *m->host_backend_, cfg) : load_vit(ck, be, cfg);
  m->text_ = xlmr ? load_xlmr_text(ck, *m->host_backend_, cfg) : ClipTextTower::load(ck, be, cfg);
  if (ck.has("logit_scale"))
    m->logit_scale_ = std::exp(ck.take("logit_scale", ck.shape("logit_scale").empty() ? std::vector<int64_t>{}
                                                                                       : std::vector<int64_t>{1})
                                   .data.at(0));
  else
    m->logit_scale_ = 100.0f;  // text-only towers carry none; CLIP's trained scale
  ck.check_all_taken();
  if (adapter) adapter->check_all_used();

  auto& info = m->info_;
  if (adapter) {
    info.adapter = fs::absolute(options.adapter).lexically_normal().string();
    info.adapter_hash = adapter->hash();
    const auto& c = adapter->config();
    info.adapter_summary = fmt::format("r {}, lora_alpha {}{}, {} modules: {}", c.r, c.alpha, c.rslora ? " (rsLoRA)" : "",
                                       adapter->modules().size(), fmt::join(c.target_modules, ", "));
  }
  info.path = files.weights;
  info.container = ck.file().container();
  info.layout = layout_name(ck.layout());
  info.dtype = ck.dominant_dtype();
  for (const auto& [name, t] : ck.file().tensors()) info.parameters += t.numel();
  info.weights_hash = fmt::format("{:016x}", hash_file(files.weights));
  info.precision = kernels::to_string(be.precision());
  info.kernels = be.kernels();
  info.device = be.device();
  if (m->backend_ && m->host_backend_)
    info.kernels += fmt::format("; {} tower on the CPU ({})", resnet ? "ModifiedResNet image" : "XLM-R text",
                                m->host_backend_->kernels());
  return_free_heap_memory();
  return m;
}

namespace {

// The passes of a batch of n on `be`: per-thread passes of thread_batch where the backend's ops
// may run from several threads at once, else shared passes of `batch`.
PassPlan plan_passes_on(const kernels::Backend& be, int64_t n, int64_t batch, int64_t thread_batch) {
  return plan_passes(n, static_cast<int64_t>(ThreadPool::global().active()), batch,
                     be.concurrent() ? thread_batch : 0);
}

}  // namespace

std::vector<float> Model::encode_images(const float* pixels, int64_t n) const {
  if (!image_)
    throw_input("{} is a text-only model (M-CLIP): pair it with an image model (--model IMAGE_MODEL --text-model {})",
                info_.path, info_.path);
  const int64_t S = config_.vision.image_size, d = config_.embed_dim, batch = image_backend_->image_batch();
  std::vector<float> out(static_cast<size_t>(n * d));
  std::unique_lock<std::mutex> lock(*device_mutex_, std::defer_lock);
  if (!image_backend_->concurrent()) lock.lock();
  const PassPlan plan = plan_passes_on(*image_backend_, n, batch, image_backend_->thread_image_batch());
  run_passes(plan, [&](int64_t b, int64_t e) {
    const auto emb = image_->encode(*image_backend_, pixels + b * 3 * S * S, e - b);
    std::copy(emb.data.begin(), emb.data.end(), out.begin() + b * d);
  });
  return out;
}

std::vector<float> Model::encode_texts(const int32_t* ids, int64_t n, int64_t context, bool full_context) const {
  const int64_t d = config_.embed_dim, batch = text_backend_->max_batch();
  std::vector<float> out(static_cast<size_t>(n * d));
  std::unique_lock<std::mutex> lock(*device_mutex_, std::defer_lock);
  if (!text_backend_->concurrent()) lock.lock();
  const PassPlan plan = plan_passes_on(*text_backend_, n, batch, text_backend_->thread_text_batch());
  run_passes(plan, [&](int64_t b, int64_t e) {
    const auto emb = text_->encode(*text_backend_, ids + b * context, e - b, context, full_context);
    std::copy(emb.data.begin(), emb.data.end(), out.begin() + b * d);
  });
  return out;
}

std::string Model::model_id() const {
  const bool int8 = info_.precision == kernels::to_string(kernels::Precision::Int8);
  const std::string lora = info_.adapter_hash.empty() ? "" : "+lora:" + info_.adapter_hash;
  return config_.signature() + "/" + info_.weights_hash + lora + (int8 ? "+int8" : "");
}

std::string find_vocab_beside(const std::string& model_path) {
  const fs::path dir = fs::is_directory(model_path) ? fs::path(model_path) : fs::path(model_path).parent_path();
  if (fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt")) return dir.string();
  if (fs::exists(dir / "bpe_simple_vocab_16e6.txt.gz")) return (dir / "bpe_simple_vocab_16e6.txt.gz").string();
  return "";
}

std::string find_vocab(const std::string& model_path) {
  if (auto beside = find_vocab_beside(model_path); !beside.empty()) return beside;
  if (const char* env = std::getenv("CLIPDEX_VOCAB"); env && *env) {
    if (!fs::exists(env)) throw_input("CLIPDEX_VOCAB names '{}', which does not exist", env);
    return env;
  }
  const std::string cache = user_cache_dir();
  std::error_code ec;
  if (cache.empty() || !fs::is_directory(cache, ec)) return "";
  std::vector<std::string> found;  // models--ORG--NAME/REVISION folders with the BPE files
  for (const auto& repo : fs::directory_iterator(cache, ec)) {
    if (repo.path().filename().string().rfind("models--", 0) != 0 || !repo.is_directory(ec)) continue;
    for (const auto& rev : fs::directory_iterator(repo.path(), ec))
      if (fs::exists(rev.path() / "vocab.json") && fs::exists(rev.path() / "merges.txt"))
        found.push_back(rev.path().string());
  }
  std::sort(found.begin(), found.end());
  const auto openai = std::find_if(found.begin(), found.end(), [](const std::string& p) {
    return p.find("models--openai--clip-vit-base-patch32") != std::string::npos;
  });
  return openai != found.end() ? *openai : found.empty() ? "" : found.front();
}

std::string missing_vocab_advice(const std::string& model_path) {
  return fmt::format(
      "no tokenizer vocabulary for '{}' (OpenAI's .pt files carry none). Get CLIP's with: "
      "clipdex model fetch openai/clip-vit-base-patch32 --tokenizer-only  (clipdex then finds it in its cache); "
      "or pass --vocab (bpe_simple_vocab_16e6.txt.gz, or a folder with vocab.json + merges.txt), "
      "or set CLIPDEX_VOCAB to one",
      model_path);
}

}  // namespace clipdex::model
