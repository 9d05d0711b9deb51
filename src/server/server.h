#pragma once
// `clipdex serve`: the JSON API, images, thumbnails, metrics and the web page in one process.
// The HTTP library stays behind this interface (pimpl).
#include <memory>
#include <string>
#include <vector>

#include "server/api.h"

namespace clipdex::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (see Server::port())
  int threads = 256;  // most connections served at once (a thread each); more wait their turn
  size_t max_body_bytes = 20u << 20;
  int timeout_seconds = 10;        // per read / write on a connection
  double shutdown_grace_seconds = 5;  // how long stop() waits for open connections
  size_t cache_entries = 4096;
  std::vector<std::string> allowed_hosts;  // Host names served besides IP literals and localhost
  ApiOptions api;
};

class Server {
 public:
  Server(Library library, Model model, ServerOptions options);
  ~Server();

  // Binds the port (throws IoError when it cannot); returns the bound port.
  int bind();
  // Serves until stop(); returns after in-flight requests finished and state was saved.
  void run();
  void stop();
  int port() const;
  // Whether writes are accepted (loopback, or a token is set); false: they get 403.
  bool writes_enabled() const;
  // Connections that were still open when run() gave up waiting for them (see ConnectionQueue):
  // their threads still run, so the process should exit rather than destroy the server.
  size_t abandoned_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace clipdex::server
