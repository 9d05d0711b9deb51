// clipdex command-line entry point: parses arguments, runs one subcommand, and turns errors
// into a message on stderr and an exit code (2: bad input or usage, 1: anything else).
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"clipdex: CLIP image-text retrieval engine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "clipdex 0.1.0");
  clipdex::cli::register_tokenize(app);
  clipdex::cli::register_preprocess(app);
  clipdex::cli::register_embed(app);
  clipdex::cli::register_model(app);
  clipdex::cli::register_index(app);
  clipdex::cli::register_search(app);
  clipdex::cli::register_classify(app);
  clipdex::cli::register_eval(app);
  clipdex::cli::register_serve(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const clipdex::InputError& e) {
    std::fprintf(stderr, "clipdex: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "clipdex: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
