#include "train/finetune.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <numeric>
#include <random>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/safetensors.h"
#include "model/clip_model.h"
#include "pipeline/image_loader.h"
#include "pipeline/text_input.h"
#include "train/pairs.h"
#include "train/trainer.h"

namespace clipdex::train {
namespace {

namespace fs = std::filesystem;

// What must be equal for a checkpoint to continue this run.
std::string run_signature(const std::string& model_path, const std::string& pairs_file, const FinetuneOptions& o,
                          int64_t total_steps) {
  const auto& l = o.lora;
  return nlohmann::json{{"model", fs::absolute(model_path).lexically_normal().string()},
                        {"pairs", fmt::format("{:016x}", hash_file(pairs_file))},
                        {"init", o.init.empty() ? "" : fmt::format("{:016x}", hash_file(o.init + "/adapter_model.safetensors"))},
                        {"r", l.r}, {"alpha", l.alpha}, {"rslora", l.rslora}, {"targets", l.target_modules},
                        {"steps", total_steps}, {"batch_size", o.batch_size}, {"shuffle", o.shuffle}, {"seed", o.seed},
                        {"lr", o.optimizer.lr}, {"weight_decay", o.optimizer.weight_decay}}
      .dump();
}

void save_checkpoint(const std::string& path, LoraSet& lora, int64_t step, const std::string& signature) {
  std::map<std::string, TensorData> tensors;
  for (const auto& [module, t] : lora.modules()) {
    const std::vector<int64_t> a{t.rank, t.in}, b{t.out, t.rank};
    tensors.emplace(module + ".A", make_f32_tensor(a, t.a));
    tensors.emplace(module + ".B", make_f32_tensor(b, t.b));
    tensors.emplace(module + ".m_A", make_f32_tensor(a, t.m_a));
    tensors.emplace(module + ".v_A", make_f32_tensor(a, t.v_a));
    tensors.emplace(module + ".m_B", make_f32_tensor(b, t.m_b));
    tensors.emplace(module + ".v_B", make_f32_tensor(b, t.v_b));
  }
  write_safetensors(path, tensors, {{"run", signature}, {"step", std::to_string(step)}});
}

// The step a checkpoint reached (its tensors and moments put into `lora`).
int64_t load_checkpoint(const std::string& path, LoraSet& lora, const std::string& signature) {
  const auto st = SafeTensors::open(path);
  const auto& meta = st.metadata();
  if (!meta.count("run") || meta.at("run") != signature || !meta.count("step"))
    throw_input("{} is the checkpoint of another fine-tuning run (other model, pairs or options): rerun with the same "
                "options to resume it, or delete it to start over",
                path);
  auto load = [&](const std::string& name, std::vector<float>& into) {
    auto v = st.get(name).to_f32();
    if (v.size() != into.size()) throw_input("{}: tensor {} has {} values, not {}", path, name, v.size(), into.size());
    into = std::move(v);
  };
  for (auto& [module, t] : lora.modules()) {
    load(module + ".A", t.a);
    load(module + ".B", t.b);
    load(module + ".m_A", t.m_a);
    load(module + ".v_A", t.v_a);
    load(module + ".m_B", t.m_b);
    load(module + ".v_B", t.v_b);
  }
  return std::stoll(meta.at("step"));
}

// The model input of a batch of image files, in order (exact decode: PIL's pixels).
std::vector<float> load_pixels(const std::vector<std::string>& paths, const image::PreprocessConfig& cfg, size_t threads) {
  const size_t per_image = static_cast<size_t>(3 * cfg.size * cfg.size);
  std::vector<float> pixels(paths.size() * per_image);
  pipeline::LoaderOptions lo;
  lo.threads = threads;
  lo.batch_size = paths.size();
  pipeline::load_images(paths, cfg, lo, [&](std::vector<pipeline::LoadedImage>& batch) {
    for (const auto& item : batch) {
      if (!item.error.empty()) throw InputError(item.error);
      std::copy(item.pixels.begin(), item.pixels.end(), pixels.begin() + static_cast<std::ptrdiff_t>(item.index * per_image));
    }
  });
  return pixels;
}

}  // namespace

FinetuneResult finetune(const std::string& model_path, const std::string& pairs_file, const std::string& out_dir,
                        const FinetuneOptions& o, const std::function<void(const StepReport&)>& on_step,
                        const std::atomic<bool>* cancel) {
  if (o.batch_size < 2) throw InputError("--batch-size must be at least 2 (the loss contrasts pairs in a batch)");
  if (o.steps < 0 || o.epochs < 1) throw InputError("--steps must not be negative and --epochs at least 1");
  if (!(o.optimizer.lr > 0) || !(o.optimizer.weight_decay >= 0)) throw InputError("--lr must be positive, --weight-decay not negative");
  const auto pairs = read_pairs(pairs_file);
  model::LoadOptions load;
  load.architecture = o.arch;
  auto weights = model::open_weights(model_path, load);
  const model::ModelConfig cfg = weights.config;
  const auto text_input = pipeline::TextInput::for_config(cfg, model_path, o.vocab);
  for (size_t i = 0; i < pairs.size(); ++i) {
    try {
      text_input->check(pairs[i].text);
    } catch (const InputError& e) {
      throw_input("{}: pair {}: {}", pairs_file, i + 1, e.what());
    }
  }
  LoraSet lora = o.init.empty() ? LoraSet::fresh(o.lora, LoraTrainer::module_shapes(cfg), o.seed) : LoraSet::from_adapter(o.init);
  FinetuneOptions effective = o;
  effective.lora = lora.config();
  LoraTrainer trainer(std::move(weights), std::move(lora));

  // Batches of an epoch: consecutive runs of its order; a last batch of one pair is left out
  // (it has nothing to contrast with).
  const int64_t n = static_cast<int64_t>(pairs.size()), b = std::min<int64_t>(o.batch_size, n);
  const int64_t per_epoch = n / b + (n % b >= 2 ? 1 : 0);
  const int64_t total = o.steps > 0 ? o.steps : o.epochs * per_epoch;
  const std::string signature = run_signature(model_path, pairs_file, effective, total);
  const std::string checkpoint = fs::path(out_dir).lexically_normal().string() + ".checkpoint";
  const std::string out_parent = fs::absolute(out_dir).parent_path().string();

  FinetuneResult result;
  if (fs::exists(checkpoint)) {
    result.resumed_at = load_checkpoint(checkpoint, trainer.lora(), signature);
    trainer.set_steps_done(result.resumed_at);
  }
  fs::create_directories(out_parent);
  std::vector<size_t> order(pairs.size());
  int64_t order_epoch = -1;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t k = trainer.steps_done(); k < total; ++k) {
    const int64_t epoch = k / per_epoch, batch = k % per_epoch;
    if (epoch != order_epoch) {
      std::iota(order.begin(), order.end(), size_t{0});
      if (o.shuffle) {
        std::mt19937_64 rng(o.seed * 1000003u + static_cast<uint64_t>(epoch));
        std::shuffle(order.begin(), order.end(), rng);
      }
      order_epoch = epoch;
    }
    std::vector<std::string> files, texts;
    for (int64_t i = batch * b; i < std::min(n, (batch + 1) * b); ++i) {
      files.push_back(pairs[order[static_cast<size_t>(i)]].image);
      texts.push_back(pairs[order[static_cast<size_t>(i)]].text);
    }
    const auto pixels = load_pixels(files, cfg.preprocess, o.decode_threads);
    int64_t context = 0;
    const auto ids = text_input->batch(texts, context);
    const double loss = trainer.loss_and_gradients(pixels.data(), ids.data(), static_cast<int64_t>(files.size()), context);
    trainer.update(o.optimizer);
    if (result.steps == 0) result.first_loss = loss;
    result.last_loss = loss;
    ++result.steps;
    if (on_step)
      on_step({k + 1, total, epoch + 1, loss, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()});
    const bool stopping = cancel && cancel->load();
    if (k + 1 < total && (stopping || (o.checkpoint_every > 0 && (k + 1) % o.checkpoint_every == 0)))
      save_checkpoint(checkpoint, trainer.lora(), k + 1, signature);
    if (stopping && k + 1 < total) throw Cancelled(fmt::format("stopped after step {} of {}; rerun the same command to resume", k + 1, total));
  }
  trainer.lora().save(out_dir, fs::absolute(model_path).lexically_normal().string());
  std::error_code ec;
  fs::remove(checkpoint, ec);
  return result;
}

}  // namespace clipdex::train
