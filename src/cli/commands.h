#pragma once
// Each subcommand lives in its own cmd_*.cpp and registers itself on the root app.
#include <CLI/CLI.hpp>

namespace clipdex::cli {

void register_tokenize(CLI::App& app);
void register_preprocess(CLI::App& app);
void register_embed(CLI::App& app);
void register_model(CLI::App& app);
void register_index(CLI::App& app);
void register_search(CLI::App& app);
void register_duplicates(CLI::App& app);
void register_classify(CLI::App& app);
void register_eval(CLI::App& app);
void register_serve(CLI::App& app);
void register_merge(CLI::App& app);
void register_finetune(CLI::App& app);

}  // namespace clipdex::cli
