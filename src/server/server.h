#pragma once
// `clipdex serve`: the JSON API, images, thumbnails, metrics and the web page in one process.
// The HTTP library stays behind this interface (pimpl).
#include <memory>
#include <string>

#include "server/api.h"

namespace clipdex::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (see Server::port())
  int threads = 8;
  size_t max_body_bytes = 20u << 20;
  int timeout_seconds = 30;
  size_t cache_entries = 4096;
  ApiOptions api;
};

class Server {
 public:
  Server(std::shared_ptr<pipeline::Library> lib, std::shared_ptr<const pipeline::Embedder> embedder, ServerOptions options);
  ~Server();

  // Binds the port (throws IoError when it cannot); returns the bound port.
  int bind();
  // Serves until stop(); returns after in-flight requests finished and state was saved.
  void run();
  void stop();
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace clipdex::server
