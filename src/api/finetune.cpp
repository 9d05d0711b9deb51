// clipdex::finetune over the train component.
#include "clipdex/finetune.h"

#include <filesystem>

#include "core/thread_pool.h"
#include "train/finetune.h"

namespace clipdex {

std::vector<std::string> parse_targets(const std::string& comma_separated) {
  std::vector<std::string> out;
  for (size_t start = 0; start <= comma_separated.size();) {
    const size_t comma = std::min(comma_separated.find(',', start), comma_separated.size());
    if (comma > start) out.push_back(comma_separated.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

FinetuneReport finetune(const std::string& model_path, const std::string& pairs_file, const std::string& out_dir,
                        const FinetuneOptions& options) {
  const ThreadPool::Limit limit(options.threads);
  train::FinetuneOptions o;
  o.vocab = options.vocab;
  o.arch = options.arch;
  o.init = options.init;
  o.lora.r = options.rank;
  o.lora.alpha = options.alpha;
  o.lora.rslora = options.rslora;
  o.lora.target_modules = options.targets;
  o.steps = options.steps;
  o.epochs = options.epochs;
  o.batch_size = options.batch_size;
  o.optimizer.lr = options.lr;
  o.optimizer.weight_decay = options.weight_decay;
  o.shuffle = options.shuffle;
  o.seed = options.seed;
  o.checkpoint_every = options.checkpoint_every;
  o.decode_threads = options.threads;
  std::function<void(const train::StepReport&)> on_step;
  if (options.on_step)
    on_step = [&](const train::StepReport& r) { options.on_step(r.step, r.steps, r.epoch, r.loss, r.seconds); };
  const auto r = train::finetune(model_path, pairs_file, out_dir, o, on_step, options.cancel);
  return {r.steps, r.resumed_at, r.first_loss, r.last_loss,
          std::filesystem::absolute(out_dir).lexically_normal().string()};
}

}  // namespace clipdex
