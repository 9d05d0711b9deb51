// clipdex search --db PATH ["text"] [--text T[:w]]... [--minus T[:w]]... [--image FILE[:w]]...
//                [--like PATH|ID[:w]]... [--target texts] [-k N] [--offset N] [--json]
//                [--folder DIR]... [--path GLOB]... [--since DATE] [--until DATE]
//                [--min-width N] [--min-height N] [--format F]...
#include <charconv>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/json_lines.h"
#include "cli/model_options.h"
#include "clipdex/clipdex.h"
#include "clipdex/util.h"

namespace clipdex::cli {
namespace {

// An indexed image named by path, or by content id when the value is a number naming no file.
int64_t indexed_image(const Library& lib, const std::string& value) {
  int64_t id = -1;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), id);
  if (ec == std::errc() && ptr == value.data() + value.size() && !std::filesystem::exists(value)) return id;
  return lib.id_of(value);
}

}  // namespace

void register_search(CLI::App& app) {
  struct Options {
    std::string db, text, target = "images";
    std::vector<std::string> texts, minus, images, likes;
    std::vector<std::string> folders, paths, formats;
    std::string since, until;
    int min_width = 0, min_height = 0;
    ModelOptions model;
    size_t k = 10, offset = 0;
    float min_score = -1.0f;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("search", "Search a library by text, by image, or for images like an indexed one");
  cmd->add_option("query", o->text, "Text query");
  cmd->add_option("--db", o->db, "Library: a SQLite file or a postgresql:// URL")->required();
  cmd->add_option("--text", o->texts, "Another text term, TEXT[:WEIGHT] (repeatable)");
  cmd->add_option("--minus", o->minus, "A text to steer away from, TEXT[:WEIGHT] (weight negated; repeatable)");
  cmd->add_option("--image", o->images,
                  "Query image FILE[:WEIGHT] (repeatable; one image with --target texts finds texts for it)");
  cmd->add_option("--like", o->likes, "An indexed image (path or id) to find more like, [:WEIGHT] (repeatable)");
  cmd->add_option("--target", o->target, "images (default) or texts")->check(CLI::IsMember({"images", "texts"}));
  cmd->add_option("-k", o->k, "Number of results (1 to 10000)")->capture_default_str()->check(CLI::Range(size_t{1}, size_t{10000}));
  cmd->add_option("--offset", o->offset, "Skip this many results first (paging; offset + k at most 10000)")
      ->check(CLI::Range(size_t{0}, kMaxResultDepth - 1));
  cmd->add_option("--min-score", o->min_score, "Only results with at least this cosine similarity (-1 to 1)")
      ->check(CLI::Range(-1.0f, 1.0f));
  cmd->add_option("--folder", o->folders, "Only images under this folder (repeatable: any of them)");
  cmd->add_option("--path", o->paths, "Only images whose path matches this glob, e.g. '*/2023/*' (repeatable: any)");
  cmd->add_option("--since", o->since, "Only images taken on or after DATE (YYYY[-MM[-DD[THH:MM[:SS]]]]; EXIF date, else file time)");
  cmd->add_option("--until", o->until, "Only images taken on or before DATE (the whole of a YYYY or YYYY-MM)");
  cmd->add_option("--min-width", o->min_width, "Only images at least this wide (pixels)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--min-height", o->min_height, "Only images at least this tall (pixels)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--format", o->formats, "Only these formats: jpeg, png, webp, gif, bmp, tiff, heif, avif (repeatable or comma-separated)");
  cmd->add_flag("--json", o->json, "Print {\"results\": [...]}");
  o->model.add_to(cmd, /*required=*/false);
  cmd->callback([o] {
    if (!(o->min_score >= -1.0f && o->min_score <= 1.0f))  // NaN passes CLI11's range check
      throw InputError("--min-score must be a number from -1 to 1");
    if (o->text.empty() && o->texts.empty() && o->minus.empty() && o->images.empty() && o->likes.empty())
      throw InputError("give a query: text, --text, --minus, --image FILE or --like PATH");
    Library lib = Library::open(o->db);
    Searcher searcher(lib, o->model.open_for(lib), {/*cache_entries=*/0, /*max_pixels=*/0});
    lib.search_on(o->model.options.device);
    Query q;
    q.k = o->k;
    q.offset = o->offset;
    q.min_score = o->min_score;
    if (q.offset + q.k > kMaxResultDepth) throw InputError(fmt::format("--offset + -k must be at most {}", kMaxResultDepth));
    for (const auto& v : o->folders) q.filters.add("folder", v);
    for (const auto& v : o->paths) q.filters.add("path", v);
    for (const auto& v : o->formats) q.filters.add("format", v);
    if (!o->since.empty()) q.filters.add("since", o->since);
    if (!o->until.empty()) q.filters.add("until", o->until);
    q.filters.min_width = o->min_width;
    q.filters.min_height = o->min_height;
    nlohmann::json results = nlohmann::json::array();
    if (o->target == "texts") {
      if (o->images.size() != 1 || !o->text.empty() || !o->texts.empty() || !o->minus.empty() || !o->likes.empty())
        throw InputError("--target texts takes exactly one --image FILE");
      if (!q.filters.empty()) throw InputError("filters (--folder, --since, ...) apply to image results, not --target texts");
      q.image(o->images.front());
      for (const auto& h : searcher.texts(q)) {
        results.push_back({{"id", h.id}, {"text", h.text}, {"score", h.score}});
        if (!o->json) std::cout << fmt::format("{:.4f}  {}\n", h.score, printable(h.text));
      }
    } else {
      // The query: the weighted sum of every term's unit embedding (docs/CLI.md).
      if (!o->text.empty()) q.text(o->text);
      for (const auto& spec : o->texts) {
        const auto [t, w] = split_weight(spec);
        q.text(t, w);
      }
      for (const auto& spec : o->minus) {
        const auto [t, w] = split_weight(spec);
        q.minus(t, w);
      }
      for (const auto& spec : o->images) {
        const auto [file, w] = split_weight(spec);
        q.image(file, w);
      }
      for (const auto& spec : o->likes) {
        const auto [value, w] = split_weight(spec);
        q.like(indexed_image(lib, value), w);
      }
      for (const auto& h : searcher.images(q)) {
        nlohmann::json r = {{"id", h.id}, {"score", h.score}, {"width", h.width}, {"height", h.height}};
        put_path(r, "path", h.path);
        r["paths"] = h.paths;
        put_image_details(r, h);
        for (const auto& p : h.paths)
          if (!is_valid_utf8(p)) {
            nlohmann::json exact = nlohmann::json::array();
            for (const auto& q : h.paths) exact.push_back(base64_encode({reinterpret_cast<const uint8_t*>(q.data()), q.size()}));
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
