#include "cli/stop_signal.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace clipdex::cli {
namespace {

std::atomic<bool> g_stop{false};
const char* g_message = "";
size_t g_message_size = 0;

void on_stop_signal(int sig) {
  if (g_stop.exchange(true)) std::_Exit(128 + sig);
  [[maybe_unused]] auto n = ::write(2, g_message, g_message_size);
}

}  // namespace

const std::atomic<bool>& stop_on_signal(const char* message) {
  g_message = message;
  g_message_size = std::strlen(message);
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return g_stop;
}

}  // namespace clipdex::cli
