// clipdex tokenize --vocab FILE [--context N]: JSON lines {"text": ...} in, {"ids": [...]} out.
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/json_lines.h"
#include "clipdex/error.h"
#include "clipdex/text.h"

namespace clipdex::cli {

void register_tokenize(CLI::App& app) {
  struct Options {
    std::string vocab;
    size_t context = 0;
  };
  auto opts = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("tokenize", "Tokenize JSON lines {\"text\": ...} from stdin");
  cmd->add_option("--vocab", opts->vocab,
                  "bpe_simple_vocab_16e6.txt.gz or a folder with vocab.json + merges.txt (CLIP), or a folder with "
                  "sentencepiece.bpe.model / tokenizer.json (XLM-R)")
      ->required();
  cmd->add_option("--context", opts->context, "Write the zero-padded model input of this length instead of bare ids")
      ->check(CLI::Range(2, 1 << 20));
  cmd->callback([opts] {
    // XLM-R (multilingual towers) ids carry <s> ... </s>; CLIP's BPE ids are bare.
    const Tokenizer tok = Tokenizer::open(opts->vocab);
    const int failures = for_each_json_line(std::cin, [&](const nlohmann::json& in) {
      const std::string text = require_string(in, "text");
      const auto ids = opts->context ? tok.tokenize(text, opts->context) : tok.encode(text);
      std::cout << nlohmann::json{{"ids", ids}}.dump() << '\n';
    });
    if (failures) throw PartialFailure(fmt::format("{} input line(s) failed", failures));
  });
}

}  // namespace clipdex::cli
