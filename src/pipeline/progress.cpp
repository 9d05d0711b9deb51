#include "pipeline/progress.h"

#include <unistd.h>

#include <cstdio>

namespace clipdex::pipeline {

Progress::Progress(std::string label, int64_t total, bool enabled)
    : label_(std::move(label)), total_(total), enabled_(enabled), tty_(::isatty(2) != 0),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

void Progress::advance(int64_t n) {
  done_ += n;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ >= (tty_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(5000))) draw(false);
}

void Progress::finish() { draw(true); }

void Progress::draw(bool final) {
  if (!enabled_) return;
  last_draw_ = std::chrono::steady_clock::now();
  const double secs = std::chrono::duration<double>(last_draw_ - start_).count();
  const double rate = secs > 0 ? done_ / secs : 0.0;
  const int64_t eta = rate > 0 ? static_cast<int64_t>((total_ - done_) / rate) : 0;
  if (tty_) {
    constexpr int kWidth = 30;
    const int filled = total_ > 0 ? static_cast<int>(kWidth * done_ / total_) : kWidth;
    std::string bar(static_cast<size_t>(filled), '=');
    bar.resize(kWidth, ' ');
    std::fprintf(stderr, "\r%s [%s] %lld/%lld  %.1f/s  ETA %lld:%02lld%s", label_.c_str(), bar.c_str(),
                 static_cast<long long>(done_), static_cast<long long>(total_), rate,
                 static_cast<long long>(eta / 60), static_cast<long long>(eta % 60), final ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s: %lld/%lld  %.1f/s  ETA %llds\n", label_.c_str(), static_cast<long long>(done_),
                 static_cast<long long>(total_), rate, static_cast<long long>(eta));
  }
  std::fflush(stderr);
}

}  // namespace clipdex::pipeline
