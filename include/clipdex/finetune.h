#pragma once
// LoRA fine-tuning on a user's image-caption pairs (`clipdex finetune`, docs/LORA.md): both
// towers' attention (or MLP) layers get low-rank adapters trained with CLIP's contrastive loss
// and AdamW on the CPU; the base weights never change. The result is a PEFT adapter folder that
// ModelOptions::adapter (and Python's peft) loads.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace clipdex {

struct FinetuneOptions {
  std::string vocab, arch;  // as in ModelOptions
  std::string init;         // start from this adapter folder (its rank, alpha and targets)
  // A new adapter's shape (without `init`): rank, alpha, rsLoRA, and the modules of both towers
  // it adapts, by their last name: q_proj, k_proj, v_proj, out_proj, fc1, fc2.
  int rank = 8;
  double alpha = 16;
  bool rslora = false;
  std::vector<std::string> targets = {"q_proj", "v_proj"};
  int64_t steps = 0;   // optimizer steps; 0 = epochs x batches per epoch
  int64_t epochs = 1;
  int64_t batch_size = 32;
  double lr = 1e-4, weight_decay = 0.01;  // AdamW (betas 0.9, 0.999; eps 1e-8)
  bool shuffle = true;  // false: batches in file order
  uint64_t seed = 0;
  int64_t checkpoint_every = 50;  // steps between checkpoints (OUT.checkpoint); 0 = none
  size_t threads = 0;             // compute threads; 0 = every core
  // After each step: step (1-based), steps, epoch, the batch's loss before its update, seconds.
  std::function<void(int64_t step, int64_t steps, int64_t epoch, double loss, double seconds)> on_step;
  // Set to stop after the step under way; a checkpoint is saved and finetune() throws Cancelled.
  const std::atomic<bool>* cancel = nullptr;
};

struct FinetuneReport {
  int64_t steps = 0;       // run by this call
  int64_t resumed_at = 0;  // steps a killed run had done (0: a fresh start)
  double first_loss = 0, last_loss = 0;
  std::string adapter;     // the folder written
};

// Module names from a comma-separated list ("q_proj,v_proj", as --targets and the C API take
// them); empty parts are dropped.
std::vector<std::string> parse_targets(const std::string& comma_separated);

// Trains on `pairs_file` (JSON lines {"image": FILE, "text": CAPTION}; paths relative to its
// folder) and writes the adapter to `out_dir`, replacing it whole. A run killed part-way resumes
// from OUT.checkpoint when called again with the same arguments.
FinetuneReport finetune(const std::string& model_path, const std::string& pairs_file, const std::string& out_dir,
                        const FinetuneOptions& options = {});

}  // namespace clipdex
