// clipdex search --db PATH "text" | --image FILE | --like PATH  [--target texts] [-k N] [--json]
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/json_lines.h"
#include "cli/model_options.h"
#include "core/base64.h"
#include "core/error.h"
#include "text/utf8.h"
#include "core/mapped_file.h"
#include "search/searcher.h"

namespace clipdex::cli {

void register_search(CLI::App& app) {
  struct Options {
    std::string db, text, image, like, target = "images";
    ModelOptions model;
    size_t k = 10;
    float min_score = -1.0f;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("search", "Search a library by text, by image, or for images like an indexed one");
  cmd->add_option("query", o->text, "Text query");
  cmd->add_option("--db", o->db, "Library database")->required();
  cmd->add_option("--image", o->image, "Query image file (image -> image, or image -> text with --target texts)");
  cmd->add_option("--like", o->like, "An indexed image: find more like it");
  cmd->add_option("--target", o->target, "images (default) or texts")->check(CLI::IsMember({"images", "texts"}));
  cmd->add_option("-k", o->k, "Number of results (1 to 10000)")->capture_default_str()->check(CLI::Range(size_t{1}, size_t{10000}));
  cmd->add_option("--min-score", o->min_score, "Only results with at least this cosine similarity (-1 to 1)")
      ->check(CLI::Range(-1.0f, 1.0f));
  cmd->add_flag("--json", o->json, "Print {\"results\": [...]}");
  o->model.add_to(cmd, /*required=*/false);
  cmd->callback([o] {
    if (!(o->min_score >= -1.0f && o->min_score <= 1.0f))  // NaN passes CLI11's range check
      throw InputError("--min-score must be a number from -1 to 1");
    if (int(!o->text.empty()) + int(!o->image.empty()) + int(!o->like.empty()) != 1)
      throw InputError("give exactly one of: a text query, --image FILE, --like PATH");
    auto lib = std::make_shared<pipeline::Library>(o->db, pipeline::Library::Open::Existing);
    search::Searcher s(lib, o->model.open_for(*lib, /*remember=*/false));
    const search::Query q{o->k, o->min_score};
    nlohmann::json results = nlohmann::json::array();
    if (o->target == "texts") {
      if (o->image.empty()) throw InputError("--target texts needs --image FILE");
      const std::string bytes = read_file(o->image);
      for (const auto& h : s.texts_for_image_bytes({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, q)) {
        results.push_back({{"id", h.id}, {"text", h.text}, {"score", h.score}});
        if (!o->json) std::cout << fmt::format("{:.4f}  {}\n", h.score, printable(h.text));
      }
    } else {
      const auto hits = !o->text.empty() ? s.by_text(o->text, q) : !o->image.empty() ? s.by_image_file(o->image, q) : s.like_path(o->like, q);
      for (const auto& h : hits) {
        nlohmann::json r = {{"id", h.id}, {"score", h.score}, {"width", h.width}, {"height", h.height}};
        put_path(r, "path", h.path);
        r["paths"] = h.paths;
        for (const auto& p : h.paths)
          if (!text::is_valid_utf8(p)) {
            nlohmann::json exact = nlohmann::json::array();
            for (const auto& q : h.paths) exact.push_back(base64_encode(reinterpret_cast<const uint8_t*>(q.data()), q.size()));
            r["paths_base64"] = exact;
            break;
          }
        results.push_back(std::move(r));
        if (!o->json)
          std::cout << fmt::format("{:.4f}  {}{}\n", h.score, printable(h.path),
                                   h.paths.size() > 1 ? fmt::format("  (+{} identical)", h.paths.size() - 1) : "");
      }
    }
    if (o->json) std::cout << to_json_line({{"results", results}}) << '\n';
  });
}

}  // namespace clipdex::cli
