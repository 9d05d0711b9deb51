// clipdex serve --db PATH [--host 127.0.0.1] [--port 8080] [--token T]: the HTTP API and web page.
// SIGTERM / SIGINT stop it gracefully: in-flight requests get a grace period to finish; a second
// signal exits at once. Nothing needs saving at exit: every write was committed when made.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "clipdex/clipdex.h"
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
    std::vector<std::string> watch;
    double debounce = 2.0;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("serve", "Serve the search API and web page over HTTP");
  cmd->add_option("--db", o->db, "Library: a SQLite file or a postgresql:// URL")->required();
  o->model.add_to(cmd, /*required=*/false);
  cmd->add_option("--host", o->server.host, "Address to bind (loopback unless told otherwise)")->capture_default_str();
  cmd->add_option("--port", o->server.port, "Port (0: any free port, printed at start)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--token", o->server.api.token,
                  "Token required for POST /api/v1/index and DELETE (Authorization: Bearer); without one, writes are "
                  "accepted only on a loopback address");
  cmd->add_option("--allow-host", o->server.allowed_hosts,
                  "A Host name to serve besides IP addresses and localhost (repeatable; e.g. photos.lan)");
  cmd->add_option("--threads", o->server.threads, "Most connections served at once (a thread each)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--cache-entries", o->server.cache_entries, "Query-embedding cache size")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 24));
  cmd->add_option("--max-body", o->server.max_body_bytes, "Request body limit in bytes")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1024}, size_t{1} << 32));
  cmd->add_option("--max-pixels", o->server.api.max_pixels, "Largest image one request may decode")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32));
  cmd->add_option("--pixel-budget", o->server.api.pixel_budget, "Decoded pixels of all requests together")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 34));
  cmd->add_option("--watch", o->watch,
                  "Keep this folder indexed while serving: index it, then again as files appear, change or go "
                  "(repeatable)");
  cmd->add_option("--debounce", o->debounce, "With --watch: seconds without further changes before a pass")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 3600.0));
  cmd->add_option("--prompts-file", o->server.api.prompts_file, "Prompt sets for /api/v1/classify {\"prompts\": NAME}");
  cmd->callback([o] {
    if (::pipe(g_signal_pipe) != 0) throw IoError("cannot create a pipe");
    Library lib = Library::open(o->db);
    const Model model = o->model.open_for(lib);
    lib.search_on(o->model.options.device);
    if (o->server.api.cache_dir.empty()) o->server.api.cache_dir = lib.side_path(".cache");
    server::Server srv(lib, model, o->server);
    const int port = srv.bind();
    std::cout << "clipdex: serving " << lib.path() << " on http://" << o->server.host << ":" << port << "/" << std::endl;
    std::cout << "clipdex: kernels " << model.kernels() << " on " << model.device() << std::endl;
    if (!model.adapter().empty()) std::cout << "clipdex: LoRA adapter " << model.adapter() << std::endl;
    if (!srv.writes_enabled())
      std::cerr << "clipdex: warning: " << o->server.host << " is not a loopback address and no --token is set: "
                << "anyone who can reach it can search and see your photos; indexing and deleting are disabled\n";
    std::thread waiter([&] {
      char c = 0;
      if (::read(g_signal_pipe[0], &c, 1) != 1 || c == 0) return;
      std::cerr << "clipdex: stopping (a second signal exits at once)" << std::endl;
      srv.stop();
      if (::read(g_signal_pipe[0], &c, 1) == 1 && c != 0) std::_Exit(128 + c);
    });
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    // --watch: a thread keeps the folders indexed (the same incremental passes as `clipdex index`).
    std::atomic<bool> stop_watching{false};
    std::thread watcher;
    if (!o->watch.empty()) {
      IndexOptions opt;
      opt.writer_name = "clipdex serve --watch";
      opt.max_pixels = o->server.api.max_pixels;
      WatchCallbacks cb;
      cb.on_pass = [](const IndexReport& r) {
        if (r.embedded + r.removed + r.failed + r.duplicates > 0)
          std::cout << "clipdex: watch: " << r.embedded << " embedded, " << r.removed << " removed, " << r.failed
                    << " failed" << std::endl;
      };
      cb.on_problem = [](const std::string& why) { std::cerr << "clipdex: watch: " << why << " (will retry)" << std::endl; };
      watcher = std::thread([&, opt, cb] {
        try {
          lib.watch(model, o->watch, opt, o->debounce, stop_watching, cb);
        } catch (const std::exception& e) {
          std::cerr << "clipdex: watch stopped: " << e.what() << std::endl;
        }
      });
    }
    srv.run();
    stop_watching = true;
    if (watcher.joinable()) watcher.join();  // a pass under way finishes (each batch is committed)
    if (const size_t open = srv.abandoned_connections(); open > 0) {
      // Their threads still run inside the server: exit without destroying it.
      std::cout << "clipdex: stopped (" << open << " slow connections cut off)" << std::endl;
      std::_Exit(0);
    }
    const char wake = 0;  // release the watcher, whether or not a signal stopped us
    [[maybe_unused]] auto n = ::write(g_signal_pipe[1], &wake, 1);
    n = ::write(g_signal_pipe[1], &wake, 1);
    waiter.join();
    std::cout << "clipdex: stopped" << std::endl;
  });
}

}  // namespace clipdex::cli
