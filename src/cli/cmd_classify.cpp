// clipdex classify --model PATH IMAGE... (--labels "cat,dog" | --prompts NAME) [--top 5]
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/json_lines.h"
#include "cli/model_options.h"
#include "clipdex/util.h"

namespace clipdex::cli {

void register_classify(CLI::App& app) {
  struct Options {
    std::vector<std::string> images;
    std::string labels, prompts, prompts_file, templates, cache;
    ModelOptions model;
    size_t top = 5;
    bool json = false, no_cache = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("classify", "Zero-shot classification with prompt ensembles");
  cmd->add_option("images", o->images, "Image files")->required();
  o->model.add_to(cmd);
  auto* labels = cmd->add_option("--labels", o->labels, "Comma-separated class names");
  auto* prompts = cmd->add_option("--prompts", o->prompts, "A prompt set by name, e.g. ImageNet");
  labels->excludes(prompts);
  cmd->add_option("--prompts-file", o->prompts_file,
                  "Prompt sets in zeroshot_prompts.json format (default: $CLIPDEX_PROMPTS_FILE)");
  cmd->add_option("--templates", o->templates, "Templates for --labels (JSON list, prompt-set object, or one per line)");
  cmd->add_option("--top", o->top, "Classes to show per image")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--cache", o->cache, "Cache folder for class embeddings (default ~/.cache/clipdex)");
  cmd->add_flag("--no-cache", o->no_cache, "Do not cache class embeddings");
  cmd->add_flag("--json", o->json, "Print JSON lines");
  cmd->callback([o] {
    PromptSet set;
    if (!o->prompts.empty()) {
      set = PromptSet::named(o->prompts, o->prompts_file);
    } else if (!o->labels.empty()) {
      set = PromptSet::labels(o->labels, o->templates);
    } else {
      throw InputError("give --labels or --prompts");
    }
    const Model model = o->model.open();
    const std::string cache = o->no_cache ? "" : (o->cache.empty() ? user_cache_dir() : o->cache);
    const Classifier clf(model, std::move(set), cache);
    int failures = 0;
    for (const auto& path : o->images) {
      try {
        const auto preds = clf.classify_file(path, o->top);
        if (o->json) {
          nlohmann::json j = {{"image", path}, {"predictions", nlohmann::json::array()}};
          for (const auto& p : preds) j["predictions"].push_back({{"label", p.label}, {"probability", p.probability}, {"score", p.score}});
          std::cout << j.dump() << '\n';
        } else {
          std::cout << path << '\n';
          for (const auto& p : preds) std::cout << fmt::format("  {:6.2f}%  {}\n", 100.0 * p.probability, p.label);
        }
      } catch (const Error& e) {
        ++failures;
        std::cerr << "clipdex: " << e.what() << '\n';
        if (o->json) std::cout << to_json_line({{"image", path}, {"error", e.what()}}) << '\n';
      }
    }
    if (failures) throw InputError(fmt::format("{} image(s) failed", failures));
  });
}

}  // namespace clipdex::cli
