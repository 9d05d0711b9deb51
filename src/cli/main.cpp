// clipdex command-line entry point: parses arguments, runs one subcommand, and turns errors
// into a message on stderr and an exit code. The one exit-code table (docs/CLI.md):
//   0 done; 1 done except for some items, which were reported (files that failed to index,
//   input lines that failed); 2 bad usage or input (arguments, files, models, a missing
//   library); 3 the system failed (I/O, network, disk); 4 the library is being written by
//   another process (--no-wait); 5 an internal error (a bug: please report it).
#include <cstdio>
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "clipdex/error.h"

namespace {

// What `clipdex` alone prints: the four steps of the main job, then where the full list is.
constexpr const char* kGettingStarted = R"(clipdex: private, fast image-text search over your own photos, with CLIP models.

Getting started:
  1. Get a model (once; stored in ~/.cache/clipdex, prints its folder):
       clipdex model fetch openai/clip-vit-base-patch32
  2. Index a folder (rerun any time: only new and changed photos are embedded):
       clipdex index ~/Pictures --db photos.db --model MODEL_FOLDER
  3. Search it in words, or by an example photo:
       clipdex search --db photos.db "a red bicycle by the sea"
       clipdex search --db photos.db --image example.jpg
  4. Browse and search in a web page:
       clipdex serve --db photos.db      (then open http://127.0.0.1:8080/)

No network? Copy a downloaded model folder here and pass --model DIR (or set CLIPDEX_MODEL).
All commands: clipdex --help    One command: clipdex COMMAND --help
)";

}  // namespace

int main(int argc, char** argv) {
  if (argc == 1) {
    std::fputs(kGettingStarted, stdout);
    return 0;
  }
  // Commands write stdout through iostreams only: unsynchronised streams read and write JSON
  // lines several times faster.
  std::ios::sync_with_stdio(false);
  CLI::App app{"clipdex: CLIP image-text retrieval engine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "clipdex 0.1.0");
  clipdex::cli::register_tokenize(app);
  clipdex::cli::register_preprocess(app);
  clipdex::cli::register_embed(app);
  clipdex::cli::register_model(app);
  clipdex::cli::register_index(app);
  clipdex::cli::register_search(app);
  clipdex::cli::register_duplicates(app);
  clipdex::cli::register_classify(app);
  clipdex::cli::register_eval(app);
  clipdex::cli::register_serve(app);
  clipdex::cli::register_merge(app);
  clipdex::cli::register_finetune(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const clipdex::PartialFailure& e) {
    std::fprintf(stderr, "clipdex: %s\n", e.what());
    return 1;
  } catch (const clipdex::InputError& e) {
    std::fprintf(stderr, "clipdex: error: %s\n", e.what());
    return 2;
  } catch (const clipdex::IoError& e) {
    std::fprintf(stderr, "clipdex: error: %s\n", e.what());
    return 3;
  } catch (const clipdex::LibraryBusy& e) {
    std::fprintf(stderr, "clipdex: error: %s\n", e.what());
    return 4;
  } catch (const clipdex::Cancelled& e) {
    std::fprintf(stderr, "clipdex: %s\n", e.what());
    return 130;  // stopped by Ctrl-C / SIGTERM, with its work saved
  } catch (const std::exception& e) {
    std::fprintf(stderr, "clipdex: internal error: %s\n", e.what());
    return 5;
  }
  return 0;
}
