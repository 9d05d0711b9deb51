// clipdex index DIR... --db PATH [--model PATH] [--watch]: add, update and forget images in a library.
// clipdex index-texts --db PATH FILE: store captions (one per line) for image->text search.

#include <cstdlib>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "clipdex/clipdex.h"
#include "cli/stop_signal.h"

namespace clipdex::cli {
namespace {

void print_report(const IndexReport& r, const Library& lib) {
  const auto st = lib.stats();
  std::cout << "scanned " << r.scanned << ": " << r.embedded << " embedded, " << r.duplicates << " duplicates, "
            << r.unchanged << " unchanged, " << r.failed << " failed, " << r.removed << " removed; library holds "
            << st.images << " images in " << st.files - st.failed << " files (" << st.failed << " failed)" << std::endl;
  if (r.reembedded > 0)
    std::cout << "re-embedded " << r.reembedded << " images under the new model (its vectors replaced the old ones)"
              << std::endl;
  if (r.metadata_filled > 0)
    std::cout << "read date, format and camera of " << r.metadata_filled
              << " images indexed by an older clipdex (their embeddings were kept)" << std::endl;
}

void watch(Library& lib, const Model& model, const std::vector<std::string>& dirs, const IndexOptions& options,
           double debounce_seconds) {
  const auto& stop = stop_on_signal("clipdex: stopping after this pass (again to exit at once)\n");
  WatchCallbacks cb;
  cb.on_pass = [&](const IndexReport& r) { print_report(r, lib); };
  cb.on_problem = [](const std::string& why) { std::cerr << "clipdex: " << why << " (will retry)" << std::endl; };
  cb.on_watching = [](size_t n) { std::cerr << "clipdex: watching " << n << " folders (Ctrl-C stops)" << std::endl; };
  lib.watch(model, dirs, options, debounce_seconds, stop, cb);
  std::cout << "clipdex: stopped watching" << std::endl;
}

void add_index(CLI::App& app) {
  struct Options {
    std::vector<std::string> dirs;
    std::string db;
    ModelOptions model;
    IndexOptions index;
    bool quiet = false, no_exif = false, no_wait = false, watch = false;
    double debounce = 2.0;
    IndexOptions::ScanRules rules;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("index", "Index folders of images into a library (incremental, resumable)");
  cmd->add_option("dirs", o->dirs, "Folders (or files) to index")->required();
  cmd->add_option("--db", o->db, "Library: a SQLite file (created when missing) or a postgresql:// URL (PostgreSQL + pgvector)")->required();
  o->model.add_to(cmd, /*required=*/false);
  cmd->add_option("--index-type", o->index.index_type, "flat (exact, default), hnsw or ivfpq");
  cmd->add_option("--batch", o->index.batch_size, "Images per model batch")->capture_default_str()->check(CLI::Range(1, 4096));
  cmd->add_option("--threads", o->index.threads, "Decode threads (0: all cores)")->capture_default_str()->check(CLI::Range(0, 1024));
  o->index.max_pixels = 100'000'000;
  cmd->add_option("--max-pixels", o->index.max_pixels, "Skip larger images")->capture_default_str()->check(CLI::Range(uint64_t{1}, uint64_t{1} << 34));
  cmd->add_flag("--no-exif-orientation", o->no_exif, "Do not apply EXIF orientation");
  cmd->add_flag("--retry-failed", o->index.retry_failed, "Try files that failed before again");
  cmd->add_flag("--reembed", o->index.reembed,
                "The library was indexed with another model: embed every image again with this one (resumable; "
                "automatic when only the LoRA adapter changed)");
  cmd->add_flag("--all-files", o->index.all_files, "Consider every file, not only image extensions");
  cmd->add_flag("--quiet", o->quiet, "No progress output");
  cmd->add_flag("--no-wait", o->no_wait, "Fail (exit 4) instead of waiting when another process writes the library");
  cmd->add_option("--shard", o->index.shard,
                  "Index only part I of N of the files (I/N, 0-based; by a hash of each path below its folder, the same "
                  "on every machine), or 'auto' to take I and N from a Slurm job array or a Kubernetes Indexed Job "
                  "(docs/SCALE.md); `clipdex merge` joins the parts");
  cmd->add_flag("--watch", o->watch,
                "Keep indexing: after the first pass, watch the folders and index again as files appear, change or go");
  cmd->add_option("--debounce", o->debounce, "With --watch: seconds without further changes before a pass")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 3600.0));
  auto* exclude = cmd->add_option("--exclude", o->rules.excludes,
                                  "Leave out files and folders matching this glob (name or path below the folder; "
                                  "repeatable); .clipdexignore files work like .gitignore");
  auto* hidden = cmd->add_flag("--include-hidden", o->rules.include_hidden, "Also index hidden files and folders (.name)");
  auto* links = cmd->add_flag("--follow-symlinks", o->rules.follow_symlinks, "Follow symbolic links (loops are walked once)");
  cmd->callback([o, exclude, hidden, links] {
    // Any rule option replaces the library's stored rules; none keeps them.
    if (exclude->count() + hidden->count() + links->count() > 0) o->index.rules = o->rules;
    o->index.exif_orientation = !o->no_exif;
    o->index.wait = !o->no_wait;
    o->index.writer_name = "clipdex index";
    Library lib = Library::open(o->db, Library::Create);
    const Model model = o->model.open_for(lib, /*to_index=*/true);
    if (o->watch) {
      // Each pass takes the writer lock for its own length, so other writers get turns between.
      o->index.writer_name = "clipdex index --watch";
      return watch(lib, model, o->dirs, o->index, o->debounce);
    }
    o->index.progress_bar = !o->quiet;
    const auto r = lib.index(model, o->dirs, o->index);
    print_report(r, lib);
    if (r.failed > 0)
      throw PartialFailure(fmt::format("{} files could not be indexed; they are recorded as failed (fix them and "
                                       "rerun with --retry-failed)",
                                       r.failed));
  });
}

void add_index_texts(CLI::App& app) {
  struct Options {
    std::string db, file;
    ModelOptions model;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("index-texts", "Store captions (one per line) for image->text search");
  cmd->add_option("file", o->file, "Text file, one caption per line")->required();
  cmd->add_option("--db", o->db, "Library: a SQLite file or a postgresql:// URL")->required();
  o->model.add_to(cmd, /*required=*/false);
  cmd->callback([o] {
    Library lib = Library::open(o->db, Library::Create);
    const Model model = o->model.open_for(lib, /*to_index=*/true);
    std::ifstream in(o->file);
    if (!in) throw IoError("cannot open '" + o->file + "'");
    std::vector<std::string> batch;
    size_t added = 0, failed = 0;
    auto flush = [&] {
      added += lib.add_texts(model, batch);
      batch.clear();
    };
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || lib.has_text(line)) continue;
      try {
        model.check_text(line);  // rejects invalid UTF-8 before batching
        batch.push_back(line);
      } catch (const InputError& e) {
        ++failed;
        std::cerr << "clipdex: skipped a line: " << e.what() << '\n';
      }
      if (batch.size() == 64) flush();
    }
    flush();
    std::cout << "stored " << added << " texts (" << failed << " skipped); library holds " << lib.stats().texts
              << " texts\n";
  });
}

}  // namespace

void register_index(CLI::App& app) {
  add_index(app);
  add_index_texts(app);
}

}  // namespace clipdex::cli
