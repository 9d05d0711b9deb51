#include "model/convert.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/tensor_file.h"

namespace clipdex::model {
namespace {

namespace fs = std::filesystem;

void copy_file_atomic(const fs::path& from, const fs::path& to) { write_file_atomic(to.string(), read_file(from.string())); }

}  // namespace

ConvertResult convert_model(const std::string& in, const std::string& out_dir, const LoadOptions& options,
                            const std::string& vocab) {
  // Loading first proves the checkpoint is complete and consistent with its config.
  const auto model = Model::load(in, options);
  const auto& info = model->info();
  const TensorFile file = TensorFile::open(info.path);
  std::map<std::string, TensorData> tensors;
  for (const auto& [name, t] : file.tensors())
    tensors[name] = TensorData{t.dtype, t.shape, std::vector<uint8_t>(t.bytes.begin(), t.bytes.end())};

  fs::create_directories(out_dir);
  const fs::path out(out_dir), source_dir = fs::path(info.path).parent_path();
  const bool hf = info.layout == "huggingface";
  ConvertResult r;
  r.weights = (out / (hf ? "model.safetensors" : "open_clip_model.safetensors")).string();
  write_safetensors(r.weights, tensors, {{"format", "pt"}, {"converted_from", info.container}});
  if (info.config_source == "config.json" || info.config_source == "open_clip_config.json") {
    r.config = (out / info.config_source).string();
    copy_file_atomic(source_dir / info.config_source, r.config);
    if (hf && fs::exists(source_dir / "preprocessor_config.json"))
      copy_file_atomic(source_dir / "preprocessor_config.json", out / "preprocessor_config.json");
  } else {  // built-in or inferred (TorchScript): write what the model was built with
    if (hf) throw_input("{}: a Hugging Face checkpoint needs its config.json to be converted", in);
    r.config = (out / "open_clip_config.json").string();
    write_file_atomic(r.config, to_open_clip_config(model->config()).dump(1));
  }
  const std::string v = vocab.empty() ? find_vocab(in) : vocab;
  if (!v.empty()) {
    if (fs::is_directory(v)) {
      for (const char* name : {"vocab.json", "merges.txt"}) copy_file_atomic(fs::path(v) / name, out / name);
    } else {
      copy_file_atomic(v, out / fs::path(v).filename());
    }
    r.vocab = v;
  }
  return r;
}

}  // namespace clipdex::model
