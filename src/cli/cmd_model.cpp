// clipdex model info | make-random | fetch
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "clipdex/clipdex.h"
#include "clipdex/models.h"

namespace clipdex::cli {
namespace {

void add_info(CLI::App* group) {
  struct Options {
    std::string path, arch, precision, adapter, device;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = group->add_subcommand("info", "Describe a model: architecture, parameters, dtype, layout");
  cmd->add_option("path", o->path, "Model folder or .safetensors file")->required();
  cmd->add_option("--arch", o->arch, "Built-in architecture instead of the model's config");
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->add_option("--adapter", o->adapter, "A LoRA adapter folder merged into the model (docs/LORA.md)");
  add_precision_option(cmd, o->precision);
  add_device_option(cmd, o->device);
  cmd->callback([o] {
    clipdex::ModelOptions opt;
    opt.arch = o->arch;
    opt.adapter = o->adapter;
    opt.precision = o->precision;
    opt.device = o->device;
    const ModelDescription d = describe_model(o->path, opt);
    nlohmann::ordered_json j = {
        {"path", d.path},
        {"architecture", d.architecture},
        {"image_tower", d.image_tower == "none" ? "none (text only: pair with --text-model)" : d.image_tower},
        {"text_tower", d.text_tower},
        {"signature", d.signature},
        {"embed_dim", d.embed_dim},
        {"image_size", d.image_size},
        {"context_length", d.context_length},
        {"activation", d.activation},
        {"parameters", d.parameters},
        {"dtype", d.dtype},
        {"layout", d.layout},
        {"config", d.config_source},
        {"model_id", d.model_id},
        {"container", d.container},
        {"precision", d.precision},
        {"kernels", d.kernels},
        {"device", d.device},
        {"cpu", cpu_description()},
        {"vocab", d.vocab.empty() ? "none found (see: clipdex model fetch --help)" : d.vocab},
    };
    if (!d.adapter.empty()) j["adapter"] = d.adapter + " (" + d.adapter_summary + ")";
    if (o->json) {
      std::cout << j.dump(2) << '\n';
      return;
    }
    for (const auto& [k, v] : j.items()) std::cout << k << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << '\n';
  });
}

void add_make_random(CLI::App* group) {
  struct Options {
    std::string arch, out, dtype = "f32";
    uint64_t seed = 0;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = group->add_subcommand("make-random", "Write a full-size model with random weights (open_clip layout)");
  cmd->add_option("--arch", o->arch, "Built-in architecture, e.g. ViT-B-32")->required();
  cmd->add_option("--out", o->out, "Output folder")->required();
  cmd->add_option("--seed", o->seed, "Random seed")->capture_default_str();
  cmd->add_option("--dtype", o->dtype, "f32, f16 or bf16")->capture_default_str();
  cmd->callback([o] {
    if (o->dtype != "f32" && o->dtype != "f16" && o->dtype != "bf16") throw InputError("--dtype must be f32, f16 or bf16");
    make_random_model(o->arch, o->out, o->seed, o->dtype);
    std::cout << o->out << '\n';
  });
}

void add_fetch(CLI::App* group) {
  auto o = std::make_shared<FetchOptions>();
  auto repo = std::make_shared<std::string>();
  auto* cmd = group->add_subcommand("fetch", "Download a published checkpoint from the Hugging Face hub");
  cmd->add_option("repo", *repo, "Repository, e.g. openai/clip-vit-base-patch32")->required();
  cmd->add_option("--revision", o->revision, "Branch, tag or commit")->capture_default_str();
  cmd->add_option("--cache", o->cache_dir, "Cache folder (default ~/.cache/clipdex)");
  cmd->add_option("--endpoint", o->endpoint, "Hub endpoint (default $HF_ENDPOINT or https://huggingface.co)");
  cmd->add_flag("--tokenizer-only", o->tokenizer_only,
                "Only vocab.json + merges.txt (for weights that carry no tokenizer, like OpenAI's .pt files)");
  cmd->callback([o, repo] { std::cout << fetch_model(*repo, *o) << '\n'; });
}

void add_convert(CLI::App* group) {
  struct Options {
    std::string in, out, arch, vocab;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = group->add_subcommand("convert", "Rewrite a checkpoint (.bin, .pt, .safetensors) as a safetensors model folder");
  cmd->add_option("in", o->in, "Model folder or weights file")->required();
  cmd->add_option("out", o->out, "Output folder")->required();
  cmd->add_option("--arch", o->arch, "Built-in architecture instead of the model's config");
  cmd->add_option("--vocab", o->vocab, "Tokenizer to copy into the folder (default: the one found for the model)");
  cmd->callback([o] {
    const auto r = convert_model(o->in, o->out, o->arch, o->vocab);
    std::cout << "wrote " << r.weights << " and " << r.config << '\n';
    if (r.vocab.empty()) std::cerr << "clipdex: " << r.vocab_advice << '\n';
    std::cout << o->out << '\n';
  });
}

}  // namespace

void register_model(CLI::App& app) {
  auto* group = app.add_subcommand("model", "Inspect, create or download models");
  group->require_subcommand(1);
  add_info(group);
  add_make_random(group);
  add_fetch(group);
  add_convert(group);
}

}  // namespace clipdex::cli
