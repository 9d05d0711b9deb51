// LoRA training against peft + PyTorch's float64 run (fixtures/lora/train-vit-tiny-qv-r4): the
// step-0 loss and every gradient of the fixture batch, the tensors after AdamW steps 1 and 5,
// and the losses of all five steps.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/safetensors.h"
#include "train/lora_set.h"
#include "train/trainer.h"
#include "test_util.h"

using namespace clipdex;

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

}  // namespace

TEST(Finetune, StepZeroLossAndGradientsMatchPytorch) {
  const Fixture fx;
  train::LoraTrainer trainer(test::shared_path("fixtures/models/vit-tiny/hf"), {},
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
  train::LoraTrainer trainer(test::shared_path("fixtures/models/vit-tiny/hf"), {},
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
