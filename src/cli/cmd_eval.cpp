// clipdex eval retrieval | zeroshot: the standard zero-shot protocols; see docs/EVALUATION.md.
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "clipdex/evaluate.h"
#include "clipdex/util.h"

namespace clipdex::cli {
namespace {

nlohmann::json percent_map(const std::map<int, double>& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : m) j[std::to_string(k)] = 100.0 * v;
  return j;
}

void add_retrieval(CLI::App* group) {
  struct Options {
    ModelOptions model;
    std::string captions, images, split = "test";
    std::vector<int> ks{1, 5, 10};
    size_t threads = 0;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = group->add_subcommand("retrieval", "Text<->image retrieval: Recall@K, mean rank, mAP@K");
  o->model.add_to(cmd);
  cmd->add_option("--captions", o->captions, "Karpathy split .json, .jsonl {image, caption}, or .csv image,caption")->required();
  cmd->add_option("--images", o->images, "Folder the image paths are relative to")->required();
  cmd->add_option("--split", o->split, "Karpathy split to use (\"\" for all)")->capture_default_str();
  cmd->add_option("-k", o->ks, "K values")->capture_default_str()->check(CLI::Range(1, 1000000));
  cmd->add_option("--threads", o->threads, "Decode threads (0: all cores)")->check(CLI::Range(0, 1024));
  cmd->add_flag("--json", o->json, "Print the report as JSON");
  cmd->callback([o] {
    const Model model = o->model.open();
    const auto r = evaluate_retrieval(model, o->captions, o->images, o->split, o->ks, o->threads);
    const auto& m = r;
    nlohmann::ordered_json j = {
        {"task", "retrieval"},
        {"model", model.id()},
        {"captions", m.captions},
        {"images", m.images},
        {"text_to_image", {{"recall", percent_map(m.t2i_recall)}, {"map", percent_map(m.t2i_map)},
                           {"mean_rank", m.t2i_mean_rank}, {"median_rank", m.t2i_median_rank}}},
        {"image_to_text", {{"recall", percent_map(m.i2t_recall)}, {"map", percent_map(m.i2t_map)},
                           {"mean_rank", m.i2t_mean_rank}, {"median_rank", m.i2t_median_rank}}},
        {"throughput", {{"images_per_second", r.images_per_second}, {"texts_per_second", r.texts_per_second}}}};
    if (o->json) {
      std::cout << j.dump(2) << '\n';
      return;
    }
    std::cout << fmt::format("{} captions, {} images\n", m.captions, m.images);
    for (const auto& [name, t2i] : {std::pair{"text->image", true}, std::pair{"image->text", false}}) {
      std::cout << name << ":";
      for (const auto& [k, v] : t2i ? m.t2i_recall : m.i2t_recall) std::cout << fmt::format("  R@{} {:.1f}", k, 100 * v);
      for (const auto& [k, v] : t2i ? m.t2i_map : m.i2t_map) std::cout << fmt::format("  mAP@{} {:.1f}", k, 100 * v);
      std::cout << fmt::format("  mean rank {:.2f}\n", t2i ? m.t2i_mean_rank : m.i2t_mean_rank);
    }
    std::cout << fmt::format("throughput: {:.1f} images/s, {:.1f} texts/s\n", r.images_per_second, r.texts_per_second);
  });
}

void add_zeroshot(CLI::App* group) {
  struct Options {
    ModelOptions model;
    std::string data, prompts, prompts_file, templates, cache;
    std::vector<int> ks{1, 5};
    size_t threads = 0;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = group->add_subcommand("zeroshot", "Zero-shot classification accuracy on class folders");
  o->model.add_to(cmd);
  cmd->add_option("--data", o->data, "Folder with one sub-folder of images per class")->required();
  cmd->add_option("--prompts", o->prompts, "Use this prompt set's templates (e.g. ImageNet)");
  cmd->add_option("--prompts-file", o->prompts_file, "Prompt sets file (default: $CLIPDEX_PROMPTS_FILE)");
  cmd->add_option("--templates", o->templates, "Templates file (JSON list or one per line)");
  cmd->add_option("-k", o->ks, "K values")->capture_default_str()->check(CLI::Range(1, 1000000));
  cmd->add_option("--cache", o->cache, "Class-embedding cache folder");
  cmd->add_option("--threads", o->threads, "Decode threads (0: all cores)")->check(CLI::Range(0, 1024));
  cmd->add_flag("--json", o->json, "Print the report as JSON");
  cmd->callback([o] {
    PromptSet prompts;
    if (!o->prompts.empty()) {
      prompts = PromptSet::named(o->prompts, o->prompts_file);
    } else {
      prompts = PromptSet::labels("a,b", o->templates);  // templates only; classes come from folders
    }
    const Model model = o->model.open();
    const auto r = evaluate_zeroshot(model, o->data, prompts, o->cache.empty() ? user_cache_dir() : o->cache,
                                           o->ks, o->threads);
    nlohmann::ordered_json j = {{"task", "zeroshot"},
                                {"model", model.id()},
                                {"images", r.images},
                                {"classes", r.classes},
                                {"accuracy", percent_map(r.accuracy)},
                                {"throughput", {{"images_per_second", r.images_per_second}}}};
    if (o->json) {
      std::cout << j.dump(2) << '\n';
      return;
    }
    std::cout << fmt::format("{} images, {} classes:", r.images, r.classes);
    for (const auto& [k, v] : r.accuracy) std::cout << fmt::format("  top-{} {:.1f}%", k, 100 * v);
    std::cout << fmt::format("  ({:.1f} images/s)\n", r.images_per_second);
  });
}

}  // namespace

void register_eval(CLI::App& app) {
  auto* group = app.add_subcommand("eval", "Measure retrieval and zero-shot quality");
  group->require_subcommand(1);
  add_retrieval(group);
  add_zeroshot(group);
}

}  // namespace clipdex::cli
