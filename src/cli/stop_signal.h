#pragma once
// Ctrl-C for the long jobs (index --watch, finetune): the first SIGINT / SIGTERM prints `message`
// and sets the returned flag, which the job checks to stop after the unit under way (its work so
// far is kept); a second signal exits at once with 128 + the signal.
#include <atomic>

namespace clipdex::cli {

// `message` must outlive the process (a string literal).
const std::atomic<bool>& stop_on_signal(const char* message);

}  // namespace clipdex::cli
