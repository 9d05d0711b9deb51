#pragma once
// `clipdex finetune`: trains a LoRA adapter on image-caption pairs. Batches come from a seeded
// shuffle of the pairs per epoch (or file order); every `checkpoint_every` steps the adapter and
// optimizer state are saved beside the output, so a killed run resumes where it was; the adapter
// folder is written whole at the end.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "model/lora_adapter.h"
#include "train/adamw.h"

namespace clipdex::train {

struct FinetuneOptions {
  std::string vocab, arch;
  std::string init;         // start from this adapter; else a fresh one from `lora`
  model::LoraConfig lora;   // r, alpha, rslora, target modules
  int64_t steps = 0;        // 0: epochs x batches per epoch
  int64_t epochs = 1;
  int64_t batch_size = 32;
  AdamW optimizer;
  bool shuffle = true;
  uint64_t seed = 0;
  int64_t checkpoint_every = 50;  // steps between checkpoints; 0: none
  size_t decode_threads = 0;
};

struct StepReport {
  int64_t step = 0, steps = 0, epoch = 0;  // step: 1-based
  double loss = 0;  // the batch's loss before this step's update
  double seconds = 0;  // since the run (or the resumed run) began
};

struct FinetuneResult {
  int64_t steps = 0, resumed_at = 0;  // resumed_at: steps already done by a killed run
  double first_loss = 0, last_loss = 0;
};

// Writes the adapter to out_dir (replacing it whole); its checkpoint is out_dir + ".checkpoint"
// and is removed at the end. on_step runs after each step; setting *cancel stops after the step
// under way with a checkpoint saved (Cancelled).
FinetuneResult finetune(const std::string& model_path, const std::string& pairs_file, const std::string& out_dir,
                        const FinetuneOptions& options, const std::function<void(const StepReport&)>& on_step = {},
                        const std::atomic<bool>* cancel = nullptr);

}  // namespace clipdex::train
