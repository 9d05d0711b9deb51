// clipdex.finetune: LoRA training (include/clipdex/finetune.h) from Python, the GIL released
// while it runs; on_step is called with it held.
#include <atomic>
#include <exception>
#include <filesystem>
#include <optional>

#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.h"
#include "clipdex/error.h"
#include "clipdex/finetune.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace clipdex::python {

void bind_finetune(nb::module_& m) {
  m.def(
      "finetune",
      [](const std::filesystem::path& model, const std::filesystem::path& pairs, const std::filesystem::path& out,
         std::optional<std::filesystem::path> init, int rank, double alpha, bool rslora, std::vector<std::string> targets,
         int64_t steps, int64_t epochs, int64_t batch_size, double lr, double weight_decay, bool shuffle, uint64_t seed,
         int64_t checkpoint_every, size_t threads, std::optional<std::filesystem::path> vocab,
         std::optional<std::string> arch, std::optional<nb::callable> on_step) {
        FinetuneOptions o;
        if (init) o.init = init->string();
        o.rank = rank;
        o.alpha = alpha;
        o.rslora = rslora;
        o.targets = std::move(targets);
        o.steps = steps;
        o.epochs = epochs;
        o.batch_size = batch_size;
        o.lr = lr;
        o.weight_decay = weight_decay;
        o.shuffle = shuffle;
        o.seed = seed;
        o.checkpoint_every = checkpoint_every;
        o.threads = threads;
        if (vocab) o.vocab = vocab->string();
        if (arch) o.arch = *arch;
        // on_step returning False, or raising (KeyboardInterrupt too), stops after that step with
        // a checkpoint saved; the error is raised in place of Cancelled.
        std::atomic<bool> cancel{false};
        o.cancel = &cancel;
        std::exception_ptr callback_error;
        if (on_step)
          o.on_step = [&](int64_t step, int64_t total, int64_t epoch, double loss, double seconds) {
            nb::gil_scoped_acquire acquire;
            try {
              if (PyErr_CheckSignals() != 0) throw nb::python_error();
              const nb::object keep_going = (*on_step)(step, total, epoch, loss, seconds);
              if (!keep_going.is_none() && !nb::cast<bool>(keep_going)) cancel = true;
            } catch (...) {
              callback_error = std::current_exception();
              cancel = true;
            }
          };
        FinetuneReport r;
        try {
          nb::gil_scoped_release release;
          r = clipdex::finetune(model.string(), pairs.string(), out.string(), o);
        } catch (const clipdex::Cancelled&) {
          if (callback_error) std::rethrow_exception(callback_error);
          throw;
        }
        nb::dict d;
        d["adapter"] = r.adapter;
        d["steps"] = r.steps;
        d["resumed_at"] = r.resumed_at;
        d["first_loss"] = r.first_loss;
        d["last_loss"] = r.last_loss;
        return d;
      },
      "model"_a, "pairs"_a, "out"_a, nb::kw_only(), "init"_a = nb::none(), "rank"_a = 8, "alpha"_a = 16.0,
      "rslora"_a = false, "targets"_a = std::vector<std::string>{"q_proj", "v_proj"}, "steps"_a = 0, "epochs"_a = 1,
      "batch_size"_a = 32, "lr"_a = 1e-4, "weight_decay"_a = 0.01, "shuffle"_a = true, "seed"_a = 0,
      "checkpoint_every"_a = 50, "threads"_a = 0, "vocab"_a = nb::none(), "arch"_a = nb::none(), "on_step"_a = nb::none(),
      "Trains a LoRA adapter on JSON-lines image-caption pairs and writes it to `out` (PEFT format; docs/LORA.md). "
      "on_step(step, steps, epoch, loss, seconds) after each step; returning False stops with a checkpoint "
      "(clipdex.Cancelled); calling again with the same arguments resumes. Returns {adapter, steps, resumed_at, "
      "first_loss, last_loss}.");
}

}  // namespace clipdex::python
