#pragma once
// `clipdex model fetch`: downloads the files clipdex reads from a Hugging Face hub repository
// ({endpoint}/{repo}/resolve/{revision}/{file}, as huggingface_hub does), resumably, into
// {cache}/models--{org}--{name}/{revision}/. The only place clipdex touches the network.
#include <string>

namespace clipdex::model {

struct FetchOptions {
  std::string revision = "main";
  std::string cache_dir;  // default: $XDG_CACHE_HOME/clipdex or ~/.cache/clipdex
  std::string endpoint;   // default: $HF_ENDPOINT or https://huggingface.co
  int retries = 3;        // resumed attempts per file after a broken transfer
  bool progress = true;   // progress bar on stderr when it is a terminal
  bool tokenizer_only = false;  // only vocab.json + merges.txt
};

// Returns the local folder holding the model. Throws InputError for a bad repo name or a
// repository without CLIP weights, IoError for network failures.
std::string fetch_model(const std::string& repo, const FetchOptions& options);

}  // namespace clipdex::model
