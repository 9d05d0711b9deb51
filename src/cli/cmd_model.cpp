// clipdex model info | make-random | fetch
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "core/error.h"
#include "kernels/cpu_features.h"
#include "model/clip_model.h"
#include "model/convert.h"
#include "model/hub_fetch.h"
#include "model/random_model.h"
#include "pipeline/text_input.h"

namespace clipdex::cli {
namespace {

void add_info(CLI::App* group) {
  struct Options {
    std::string path, arch, precision, adapter;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = group->add_subcommand("info", "Describe a model: architecture, parameters, dtype, layout");
  cmd->add_option("path", o->path, "Model folder or .safetensors file")->required();
  cmd->add_option("--arch", o->arch, "Built-in architecture instead of the model's config");
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->add_option("--adapter", o->adapter, "A LoRA adapter folder merged into the model (docs/LORA.md)");
  add_precision_option(cmd, o->precision);
  cmd->callback([o] {
    model::LoadOptions opt;
    opt.architecture = o->arch;
    opt.adapter = o->adapter;
    opt.precision = precision_from(o->precision);
    const auto m = model::Model::load(o->path, opt);
    std::string vocab;
    try {
      vocab = pipeline::TextInput::for_model(*m, o->path, "")->source();
    } catch (const InputError&) {
    }
    const auto& c = m->config();
    const auto& i = m->info();
    const bool vit = c.vision.kind == model::VisionKind::ViT;
    nlohmann::ordered_json j = {
        {"path", i.path},
        {"architecture", c.architecture},
        {"image_tower", !m->has_image_tower() ? "none (text only: pair with --text-model)" : vit ? "ViT" : "ModifiedResNet"},
        {"text_tower", c.text_kind == model::TextKind::Xlmr ? "XLM-R" : "CLIP"},
        {"signature", c.signature()},
        {"embed_dim", c.embed_dim},
        {"image_size", c.vision.image_size},
        {"context_length", c.text.context_length},
        {"activation", c.quick_gelu ? "quick_gelu" : "gelu"},
        {"parameters", i.parameters},
        {"dtype", i.dtype},
        {"layout", i.layout},
        {"config", i.config_source},
        {"model_id", m->model_id()},
        {"container", i.container},
        {"precision", i.precision},
        {"kernels", i.kernels},
        {"cpu", kernels::cpu_features().model + " (" + kernels::cpu_features().summary() + ")"},
        {"vocab", vocab.empty() ? "none found (see: clipdex model fetch --help)" : vocab},
    };
    if (!i.adapter.empty()) j["adapter"] = i.adapter + " (" + i.adapter_summary + ")";
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
    const DType dt = o->dtype == "f32" ? DType::F32 : o->dtype == "f16" ? DType::F16 : o->dtype == "bf16" ? DType::BF16
                     : throw InputError("--dtype must be f32, f16 or bf16");
    model::write_random_model(model::builtin_config(o->arch), o->out, o->seed, dt);
    std::cout << o->out << '\n';
  });
}

void add_fetch(CLI::App* group) {
  auto o = std::make_shared<model::FetchOptions>();
  auto repo = std::make_shared<std::string>();
  auto* cmd = group->add_subcommand("fetch", "Download a published checkpoint from the Hugging Face hub");
  cmd->add_option("repo", *repo, "Repository, e.g. openai/clip-vit-base-patch32")->required();
  cmd->add_option("--revision", o->revision, "Branch, tag or commit")->capture_default_str();
  cmd->add_option("--cache", o->cache_dir, "Cache folder (default ~/.cache/clipdex)");
  cmd->add_option("--endpoint", o->endpoint, "Hub endpoint (default $HF_ENDPOINT or https://huggingface.co)");
  cmd->add_flag("--tokenizer-only", o->tokenizer_only,
                "Only vocab.json + merges.txt (for weights that carry no tokenizer, like OpenAI's .pt files)");
  cmd->callback([o, repo] { std::cout << model::fetch_model(*repo, *o) << '\n'; });
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
    model::LoadOptions opt;
    opt.architecture = o->arch;
    const auto r = model::convert_model(o->in, o->out, opt, o->vocab);
    std::cout << "wrote " << r.weights << " and " << r.config << '\n';
    if (r.vocab.empty()) std::cerr << "clipdex: " << model::missing_vocab_advice(o->in) << '\n';
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
