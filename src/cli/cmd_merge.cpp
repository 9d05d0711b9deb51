// clipdex merge: join libraries indexed apart (the shards of `index --shard`) into one.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "clipdex/clipdex.h"

namespace clipdex::cli {

void register_merge(CLI::App& app) {
  struct Options {
    std::vector<std::string> shards;
    std::string db;
    bool quiet = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("merge", "Merge libraries indexed apart (e.g. `index --shard` parts) into one library");
  cmd->add_option("shards", o->shards, "Library databases to merge in")->required()->check(CLI::ExistingFile);
  cmd->add_option("--db", o->db, "The library to merge into: a SQLite file (created when missing) or a postgresql:// URL")->required();
  cmd->add_flag("--quiet", o->quiet, "No summary");
  cmd->callback([o] {
    Library lib = Library::open(o->db, Library::Create);
    const auto r = lib.merge(o->shards);
    if (!o->quiet)
      std::cout << fmt::format("merged {} libraries into {}: {} files added, {} updated, {} unchanged; {} new images, "
                               "{} texts\n",
                               o->shards.size(), o->db, r.files_added, r.files_updated, r.files_unchanged,
                               r.images_added, r.texts_added);
  });
}

}  // namespace clipdex::cli
