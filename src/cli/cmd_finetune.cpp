// clipdex finetune --model M --pairs PAIRS.jsonl --out ADAPTER_DIR [...]: trains a LoRA adapter
// (docs/LORA.md). Ctrl-C stops after the step under way with a checkpoint; rerunning the same
// command resumes.

#include <filesystem>
#include <iostream>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "clipdex/clipdex.h"
#include "clipdex/evaluate.h"
#include "clipdex/finetune.h"
#include "cli/stop_signal.h"

namespace clipdex::cli {
namespace {

nlohmann::ordered_json recall_json(const RetrievalEvaluation& r) {
  nlohmann::ordered_json t2i, i2t;
  for (const auto& [k, v] : r.t2i_recall) t2i[std::to_string(k)] = 100.0 * v;
  for (const auto& [k, v] : r.i2t_recall) i2t[std::to_string(k)] = 100.0 * v;
  return {{"text_to_image_recall", t2i}, {"image_to_text_recall", i2t}};
}

std::string recall_line(const RetrievalEvaluation& r) {
  std::string out;
  for (const auto& [k, v] : r.t2i_recall) out += fmt::format("  t2i R@{} {:.1f}", k, 100 * v);
  for (const auto& [k, v] : r.i2t_recall) out += fmt::format("  i2t R@{} {:.1f}", k, 100 * v);
  return out;
}

}  // namespace

void register_finetune(CLI::App& app) {
  struct Options {
    std::string model, pairs, out, targets = "q_proj,v_proj", eval, eval_images;
    FinetuneOptions finetune;
    bool json = false, no_shuffle = false;
  };
  auto o = std::make_shared<Options>();
  auto& f = o->finetune;
  auto* cmd = app.add_subcommand("finetune", "Train a LoRA adapter on your own image-caption pairs (docs/LORA.md)");
  cmd->add_option("--model", o->model, "Base model (ViT image tower, CLIP text tower)")->required()->envname("CLIPDEX_MODEL");
  cmd->add_option("--pairs", o->pairs, "JSON lines {\"image\": FILE, \"text\": CAPTION} (paths relative to the file)")->required();
  cmd->add_option("--out", o->out, "Adapter folder to write (PEFT format; replaced whole at the end)")->required();
  cmd->add_option("--vocab", f.vocab, "Tokenizer (default: found beside the model)");
  cmd->add_option("--arch", f.arch, "Built-in architecture instead of the model's config");
  auto* init = cmd->add_option("--init", f.init, "Start from this adapter folder (its rank, alpha and targets)");
  cmd->add_option("--rank", f.rank, "LoRA rank r")->capture_default_str()->check(CLI::Range(1, 1024))->excludes(init);
  cmd->add_option("--alpha", f.alpha, "lora_alpha (the update is scaled by alpha / r)")->capture_default_str()->excludes(init);
  cmd->add_option("--targets", o->targets, "Modules of both towers to adapt: q_proj,k_proj,v_proj,out_proj,fc1,fc2")
      ->capture_default_str()
      ->excludes(init);
  cmd->add_flag("--rslora", f.rslora, "Scale by alpha / sqrt(r) (rank-stabilised LoRA)")->excludes(init);
  cmd->add_option("--steps", f.steps, "Optimizer steps (default: --epochs over the pairs)")->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--epochs", f.epochs, "Passes over the pairs")->capture_default_str()->check(CLI::Range(1, 1000000));
  cmd->add_option("--batch-size", f.batch_size, "Pairs per step (at least 2)")->capture_default_str()->check(CLI::Range(2, 65536));
  cmd->add_option("--lr", f.lr, "AdamW learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--weight-decay", f.weight_decay, "AdamW weight decay")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_flag("--no-shuffle", o->no_shuffle, "Batches in file order (default: a seeded shuffle per epoch)");
  cmd->add_option("--seed", f.seed, "Seed of the shuffle and of a new adapter's initial A")->capture_default_str();
  cmd->add_option("--checkpoint-every", f.checkpoint_every, "Steps between checkpoints (OUT.checkpoint; 0: none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", f.threads, "Compute threads (0: all cores)")->capture_default_str()->check(CLI::Range(0, 1024));
  cmd->add_option("--eval", o->eval, "A caption set (as for eval retrieval) to report Recall@K on before and after");
  cmd->add_option("--eval-images", o->eval_images, "Folder the --eval image paths are relative to (default: its folder)");
  cmd->add_flag("--json", o->json, "One JSON line per step {\"step\", \"steps\", \"epoch\", \"loss\", \"seconds\"}, then a summary");
  cmd->callback([o] {
    auto& f = o->finetune;
    if (f.init.empty()) f.targets = parse_targets(o->targets);
    f.shuffle = !o->no_shuffle;
    const std::string eval_images =
        !o->eval_images.empty() ? o->eval_images : std::filesystem::path(o->eval).parent_path().string();
    std::optional<RetrievalEvaluation> before;
    if (!o->eval.empty()) {
      ModelOptions base;
      base.vocab = f.vocab;
      base.arch = f.arch;
      before = evaluate_retrieval(Model::open(o->model, base), o->eval, eval_images, "", {1, 5, 10});
      if (!o->json) std::cerr << "before:" << recall_line(*before) << std::endl;
    }
    f.on_step = [&](int64_t step, int64_t steps, int64_t epoch, double loss, double seconds) {
      if (o->json) {
        std::cout << nlohmann::json{{"step", step}, {"steps", steps}, {"epoch", epoch}, {"loss", loss}, {"seconds", seconds}}.dump()
                  << std::endl;
      } else {
        std::cerr << fmt::format("\rstep {}/{}  epoch {}  loss {:.4f}  {:.2f} s/step ", step, steps, epoch, loss,
                                 seconds / static_cast<double>(step))
                  << std::flush;
      }
    };
    f.cancel = &stop_on_signal("\nclipdex: stopping after this step (again to exit at once)\n");
    const FinetuneReport r = finetune(o->model, o->pairs, o->out, f);
    nlohmann::ordered_json summary = {{"adapter", r.adapter}, {"steps", r.steps}, {"resumed_at", r.resumed_at},
                                      {"first_loss", r.first_loss}, {"last_loss", r.last_loss}};
    if (before) {
      ModelOptions adapted;
      adapted.vocab = f.vocab;
      adapted.arch = f.arch;
      adapted.adapter = r.adapter;
      const auto after = evaluate_retrieval(Model::open(o->model, adapted), o->eval, eval_images, "", {1, 5, 10});
      summary["eval_before"] = recall_json(*before);
      summary["eval_after"] = recall_json(after);
      if (!o->json) std::cerr << "\nafter: " << recall_line(after);
    }
    if (o->json) {
      std::cout << summary.dump() << std::endl;
    } else {
      std::cerr << '\n';
      if (r.resumed_at > 0) std::cout << "resumed at step " << r.resumed_at << "; ";
      std::cout << fmt::format("trained {} steps (loss {:.4f} -> {:.4f}); adapter in {}\n", r.steps, r.first_loss,
                               r.last_loss, r.adapter);
    }
  });
}

}  // namespace clipdex::cli
