// clipdex duplicates --db DB [--threshold 0.95] [--limit N] [--json]
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/json_lines.h"
#include "clipdex/clipdex.h"

namespace clipdex::cli {

void register_duplicates(CLI::App& app) {
  struct Options {
    std::string db;
    float threshold = 0.95f;
    size_t limit = 1000;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("duplicates", "Group near-duplicate images (cosine >= threshold), largest groups first");
  cmd->add_option("--db", o->db, "Library: a SQLite file or a postgresql:// URL")->required();
  cmd->add_option("--threshold", o->threshold, "Cosine similarity that makes two images duplicates (0 to 1]")
      ->capture_default_str()
      ->check(CLI::Range(0.0f, 1.0f));
  cmd->add_option("--limit", o->limit, "Most groups to print")->capture_default_str()->check(CLI::Range(size_t{1}, size_t{1} << 30));
  cmd->add_flag("--json", o->json, "One JSON line per group: {\"size\", \"min_score\", \"images\": [{\"id\", \"path\", \"paths\", ...}]}");
  cmd->callback([o] {
    if (!(o->threshold > 0.0f && o->threshold <= 1.0f))  // NaN passes CLI11's range check
      throw InputError("--threshold must be a cosine greater than 0 and at most 1");
    Library lib = Library::open(o->db);
    const auto groups = lib.duplicates(o->threshold, o->limit);
    for (const auto& g : groups) {
      if (o->json) {
        nlohmann::json images = nlohmann::json::array();
        for (const auto& img : g.images) {
          nlohmann::json j = {{"id", img.id}, {"width", img.width}, {"height", img.height}};
          put_path(j, "path", img.paths.empty() ? std::string() : img.paths.front());
          j["paths"] = img.paths;
          images.push_back(std::move(j));
        }
        std::cout << to_json_line({{"size", g.images.size()}, {"min_score", g.min_score}, {"images", images}}) << '\n';
        continue;
      }
      std::cout << fmt::format("{} images, cosine >= {:.4f}\n", g.images.size(), g.min_score);
      for (const auto& img : g.images) std::cout << "  " << printable(img.paths.empty() ? "" : img.paths.front()) << '\n';
    }
    if (!o->json && groups.empty()) std::cout << "no near-duplicates at cosine >= " << o->threshold << '\n';
  });
}

}  // namespace clipdex::cli
