// LoRA training against peft + PyTorch's float64 run (fixtures/lora/train-vit-tiny-qv-r4): the
// step-0 loss and every gradient of the fixture batch, the tensors after AdamW steps 1 and 5,
// and the losses of all five steps.
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "clipdex/clipdex.h"
#include "core/mapped_file.h"
#include "core/safetensors.h"
#include "model/lora_adapter.h"
#include "train/lora_set.h"
#include "train/trainer.h"
#include "test_util.h"

using namespace clipdex;
namespace fs = std::filesystem;

namespace {

const std::string kRun = "fixtures/lora/train-vit-tiny-qv-r4";

struct Fixture {
  SafeTensors batch = SafeTensors::open(test::shared_path(kRun + "/batch.safetensors"));
  SafeTensors golden = SafeTensors::open(test::shared_path(kRun + "/golden.safetensors"));
  std::vector<float> f(const SafeTensors& st, const std::string& name) const { return st.get(name).to_f32(); }
  std::vector<int32_t> ids() const { return batch.get("input_ids").to_i32(); }
};

// ||a - g|| / ||g||, each tensor of the adapter checked against golden "<prefix><its name>".
void expect_tensors_close(const train::LoraSet& lora, const Fixture& fx, const std::string& prefix, bool gradients,
                          double tol) {
  for (const auto& [module, t] : lora.modules())
    for (const char which : {'A', 'B'}) {
      const std::string name = train::LoraSet::tensor_name(module, which);
      const auto want = fx.f(fx.golden, prefix + name);
      const auto& got = which == 'A' ? (gradients ? t.grad_a : t.a) : (gradients ? t.grad_b : t.b);
      ASSERT_EQ(got.size(), want.size()) << name;
      EXPECT_LE(test::row_rel_error(got.data(), want.data(), static_cast<int64_t>(want.size())), tol) << prefix << name;
    }
}

// The fixture batch as a pairs file: its four photographs and captions, in batch order.
std::string write_fixture_pairs(const std::string& dir) {
  const Fixture fx;
  const auto images = nlohmann::json::parse(fx.batch.metadata().at("images"));
  const auto captions = nlohmann::json::parse(fx.batch.metadata().at("captions"));
  const std::string file = dir + "/pairs.jsonl";
  std::ofstream out(file);
  for (size_t i = 0; i < images.size(); ++i)
    out << nlohmann::json{{"image", test::shared_path("fixtures/images/" + images[i].get<std::string>() + ".png")},
                          {"text", captions[i]}}
               .dump()
        << "\n";
  return file;
}

std::string finetune_args(const std::string& pairs, const std::string& out, int steps) {
  return "finetune --model " + test::shared_path("fixtures/models/vit-tiny/hf") + " --pairs " + pairs + " --out " + out +
         " --init " + test::shared_path(kRun) + " --steps " + std::to_string(steps) +
         " --batch-size 4 --no-shuffle --lr 1e-3 --weight-decay 0.01 --checkpoint-every 1 --json";
}

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

}  // namespace

TEST(Finetune, StepZeroLossAndGradientsMatchPytorch) {
  const Fixture fx;
  train::LoraTrainer trainer(model::open_weights(test::shared_path("fixtures/models/vit-tiny/hf")),
                             train::LoraSet::from_adapter(test::shared_path(kRun)));
  ASSERT_EQ(trainer.lora().modules().size(), 8u);
  const auto pixels = fx.f(fx.batch, "pixels");
  const auto ids = fx.ids();
  const auto losses = fx.f(fx.golden, "losses");
  const double loss = trainer.loss_and_gradients(pixels.data(), ids.data(), 4, 77);
  EXPECT_NEAR(loss, losses[0], 1e-4 * losses[0]);
  expect_tensors_close(trainer.lora(), fx, "grad.", /*gradients=*/true, 1e-4);
}

TEST(Finetune, AdamWStepsMatchPytorch) {
  const Fixture fx;
  train::LoraTrainer trainer(model::open_weights(test::shared_path("fixtures/models/vit-tiny/hf")),
                             train::LoraSet::from_adapter(test::shared_path(kRun)));
  const auto pixels = fx.f(fx.batch, "pixels");
  const auto ids = fx.ids();
  const auto losses = fx.f(fx.golden, "losses");
  train::AdamW adamw;
  adamw.lr = 1e-3;
  adamw.weight_decay = 0.01;
  for (int step = 0; step < 5; ++step) {
    const double loss = trainer.loss_and_gradients(pixels.data(), ids.data(), 4, 77);
    EXPECT_NEAR(loss, losses[step], 1e-4) << "step " << step + 1;
    trainer.update(adamw);
    if (step == 0) expect_tensors_close(trainer.lora(), fx, "step1.", false, 1e-4);
  }
  expect_tensors_close(trainer.lora(), fx, "step5.", false, 5e-3);
  const double after = trainer.loss_and_gradients(pixels.data(), ids.data(), 4, 77);
  EXPECT_NEAR(after, fx.f(fx.golden, "loss_after")[0], 1e-4);
}

TEST(Finetune, CliRunMatchesPytorchAndWritesALoadableAdapter) {
  const Fixture fx;
  const std::string dir = test::scratch_dir("finetune-cli");
  const auto r = test::run_cli(finetune_args(write_fixture_pairs(dir), dir + "/adapter", 5));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 6u);  // five steps, then the summary
  const auto losses = fx.f(fx.golden, "losses");
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(lines[i]["step"], i + 1);
    EXPECT_NEAR(lines[i]["loss"].get<double>(), losses[i], 1e-4) << "step " << i + 1;
  }
  EXPECT_EQ(lines[5]["adapter"], fs::weakly_canonical(dir + "/adapter").string());
  EXPECT_FALSE(fs::exists(dir + "/adapter.checkpoint"));

  // The adapter after step 5, all tensors together within 5e-3 of PyTorch's.
  const auto adapter = model::LoraAdapter::open(dir + "/adapter");
  EXPECT_EQ(adapter->config().r, 4);
  EXPECT_EQ(adapter->config().alpha, 8);
  std::vector<float> got, want;
  for (const auto& [module, w] : adapter->modules()) {
    got.insert(got.end(), w.a.begin(), w.a.end());
    got.insert(got.end(), w.b.begin(), w.b.end());
    for (const char which : {'A', 'B'}) {
      const auto g = fx.f(fx.golden, "step5." + train::LoraSet::tensor_name(module, which));
      want.insert(want.end(), g.begin(), g.end());
    }
  }
  ASSERT_EQ(got.size(), want.size());
  EXPECT_LE(test::row_rel_error(got.data(), want.data(), static_cast<int64_t>(want.size())), 5e-3);

  // clipdex loads it: the adapted model differs from the base one, and says so.
  clipdex::ModelOptions adapted;
  adapted.adapter = dir + "/adapter";
  const auto base = Model::open(test::shared_path("fixtures/models/vit-tiny/hf"));
  const auto tuned = Model::open(test::shared_path("fixtures/models/vit-tiny/hf"), adapted);
  EXPECT_NE(base.id(), tuned.id());
  EXPECT_GT(test::row_rel_error(tuned.embed_texts({"a cat"}).data(), base.embed_texts({"a cat"}).data(), base.dim()), 1e-3);
}

TEST(Finetune, KilledRunResumesToTheSameAdapter) {
  const std::string dir = test::scratch_dir("finetune-resume");
  const std::string pairs = write_fixture_pairs(dir);
  constexpr int kSteps = 20;
  ASSERT_EQ(test::run_cli(finetune_args(pairs, dir + "/whole", kSteps)).exit_code, 0);

  // kill -9 once step 2 is reported (checkpoints every step), then the same command again.
  const std::string cmd = "sh -c 'echo $$; exec " + std::string(CLIPDEX_BINARY) + " " +
                          finetune_args(pairs, dir + "/resumed", kSteps) + "'";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_TRUE(p);
  char line[4096];
  ASSERT_TRUE(std::fgets(line, sizeof line, p));
  const pid_t pid = static_cast<pid_t>(std::stol(line));
  while (std::fgets(line, sizeof line, p))
    if (nlohmann::json::parse(line).value("step", 0) >= 2) break;
  ::kill(pid, SIGKILL);
  ::pclose(p);
  ASSERT_TRUE(fs::exists(dir + "/resumed.checkpoint"));
  EXPECT_FALSE(fs::exists(dir + "/resumed/adapter_model.safetensors"));
  const auto r = test::run_cli(finetune_args(pairs, dir + "/resumed", kSteps));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto summary = json_lines(r.out).back();
  EXPECT_GE(summary["resumed_at"].get<int>(), 1);
  EXPECT_LT(summary["resumed_at"].get<int>(), kSteps);
  EXPECT_EQ(summary["steps"].get<int>() + summary["resumed_at"].get<int>(), kSteps);
  // Bit for bit the uninterrupted run's adapter.
  EXPECT_EQ(read_file(dir + "/resumed/adapter_model.safetensors"), read_file(dir + "/whole/adapter_model.safetensors"));

  // Another run's checkpoint is not silently continued.
  std::ofstream(dir + "/other.checkpoint") << "not a checkpoint";
  EXPECT_EQ(test::run_cli(finetune_args(pairs, dir + "/other", kSteps)).exit_code, 2);
}

TEST(Finetune, EvalReportsRecallBeforeAndAfter) {
  const std::string dir = test::scratch_dir("finetune-eval");
  test::write_fixture_caption_set(dir + "/captions.jsonl");
  const auto r = test::run_cli(finetune_args(write_fixture_pairs(dir), dir + "/adapter", 2) + " --eval " + dir +
                               "/captions.jsonl --eval-images " + test::shared_path("fixtures/images"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto summary = json_lines(r.out).back();
  // Before: what `clipdex eval retrieval` reports for the base model on the same set.
  const auto base = nlohmann::json::parse(
      test::run_cli("eval retrieval --json --model " + test::shared_path("fixtures/models/vit-tiny/hf") + " --captions " +
                    dir + "/captions.jsonl --images " + test::shared_path("fixtures/images") + " --split ''")
          .out);
  for (const char* k : {"1", "5", "10"}) {
    EXPECT_EQ(summary["eval_before"]["text_to_image_recall"][k], base["text_to_image"]["recall"][k]) << k;
    EXPECT_TRUE(summary["eval_after"]["image_to_text_recall"][k].is_number());
  }
}

TEST(Finetune, BadInputIsAClearError) {
  const std::string dir = test::scratch_dir("finetune-bad");
  std::ofstream(dir + "/missing.jsonl") << R"({"image": "nowhere.jpg", "text": "a cat"})" << "\n"
                                        << R"({"image": "nowhere.jpg", "text": "a dog"})" << "\n";
  EXPECT_EQ(test::run_cli(finetune_args(dir + "/missing.jsonl", dir + "/a", 1)).exit_code, 2);
  std::ofstream(dir + "/broken.jsonl") << "{not json\n";
  EXPECT_EQ(test::run_cli(finetune_args(dir + "/broken.jsonl", dir + "/a", 1)).exit_code, 2);
  const std::string model = test::shared_path("fixtures/models/vit-tiny/hf");
  EXPECT_EQ(test::run_cli("finetune --model " + model + " --pairs " + write_fixture_pairs(dir) + " --out " + dir +
                          "/a --targets q_proj,token_embedding")
                .exit_code,
            2);
  EXPECT_FALSE(fs::exists(dir + "/a"));
}
