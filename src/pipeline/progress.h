#pragma once
// Progress for long jobs: a redrawn bar with count, rate and ETA on a terminal; a plain line
// every few seconds otherwise (logs, CI).
#include <chrono>
#include <cstdint>
#include <string>

namespace clipdex::pipeline {

class Progress {
 public:
  Progress(std::string label, int64_t total, bool enabled = true);
  void advance(int64_t n = 1);
  void finish();

 private:
  void draw(bool final);
  std::string label_;
  int64_t total_, done_ = 0;
  bool enabled_, tty_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace clipdex::pipeline
