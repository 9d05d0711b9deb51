// clipdex serve --db PATH [--host 127.0.0.1] [--port 8080] [--token T]: the HTTP API and web page.
// SIGTERM / SIGINT stop it gracefully: in-flight requests finish and the index is saved.
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "core/error.h"
#include "search/zeroshot.h"
#include "server/server.h"

namespace clipdex::cli {
namespace {

// Signals may land on any thread (BLAS workers start before main), so the handler only writes
// to a pipe; a watcher thread reads it and stops the server.
int g_signal_pipe[2] = {-1, -1};

void on_signal(int sig) {
  const char c = static_cast<char>(sig);
  [[maybe_unused]] auto n = ::write(g_signal_pipe[1], &c, 1);
}

}  // namespace

void register_serve(CLI::App& app) {
  struct Options {
    std::string db;
    ModelOptions model;
    server::ServerOptions server;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("serve", "Serve the search API and web page over HTTP");
  cmd->add_option("--db", o->db, "Library database")->required();
  o->model.add_to(cmd, /*required=*/false);
  cmd->add_option("--host", o->server.host, "Address to bind (loopback unless told otherwise)")->capture_default_str();
  cmd->add_option("--port", o->server.port, "Port (0: any free port, printed at start)")->capture_default_str();
  cmd->add_option("--token", o->server.api.token, "Token required for POST /api/v1/index and DELETE (Authorization: Bearer)");
  cmd->add_option("--threads", o->server.threads, "Request threads")->capture_default_str();
  cmd->add_option("--cache-entries", o->server.cache_entries, "Query-embedding cache size")->capture_default_str();
  cmd->add_option("--max-body", o->server.max_body_bytes, "Request body limit in bytes")->capture_default_str();
  cmd->add_option("--max-pixels", o->server.api.max_pixels, "Largest image accepted")->capture_default_str();
  cmd->add_option("--prompts-file", o->server.api.prompts_file, "Prompt sets for /api/v1/classify {\"prompts\": NAME}");
  cmd->callback([o] {
    if (::pipe(g_signal_pipe) != 0) throw IoError("cannot create a pipe");
    auto lib = std::make_shared<pipeline::Library>(o->db);
    auto emb = o->model.open_for(*lib, /*remember=*/false);
    if (o->server.api.cache_dir.empty()) o->server.api.cache_dir = o->db + ".cache";
    server::Server srv(lib, emb, o->server);
    const int port = srv.bind();
    std::cout << "clipdex: serving " << o->db << " on http://" << o->server.host << ":" << port << "/" << std::endl;
    std::thread waiter([&] {
      char c = 0;
      if (::read(g_signal_pipe[0], &c, 1) == 1 && c != 0) srv.stop();
    });
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    srv.run();
    const char wake = 0;  // run() can also end without a signal: release the watcher
    [[maybe_unused]] auto n = ::write(g_signal_pipe[1], &wake, 1);
    waiter.join();
    std::cout << "clipdex: stopped" << std::endl;
  });
}

}  // namespace clipdex::cli
