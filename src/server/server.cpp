#include "server/server.h"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "clipdex/error.h"
#include "server/connection_queue.h"
#include "server/request_policy.h"
#include "server/web_page.h"

namespace clipdex::server {

using Handler = ApiResponse (Api::*)(const ApiRequest&);

struct Server::Impl {
  ServerOptions options;
  Api api;
  httplib::Server http;
  int port = -1;
  RequestPolicy policy;
  std::shared_ptr<ConnectionState> connections;

  Impl(Library lib, Model model, ServerOptions opt)
      : options(std::move(opt)),
        api(std::move(lib), std::move(model), options.cache_entries, options.api),
        connections(std::make_shared<ConnectionState>(static_cast<size_t>(std::max(1, options.threads)),
                                                      options.shutdown_grace_seconds)) {
    policy.allowed_hosts = options.allowed_hosts;
    for (auto& h : policy.allowed_hosts)
      for (auto& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    policy.writes_enabled = !options.api.token.empty() || is_loopback_address(options.host);
  }

  static ApiRequest convert(const httplib::Request& req) {
    ApiRequest r;
    r.method = req.method;
    for (const auto& [k, v] : req.params) r.params[k] = v;
    if (req.matches.size() > 1) r.params["id"] = req.matches[1].str();  // the one path parameter
    for (const auto& [k, v] : req.headers) {
      std::string key = k;
      for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[key] = v;
    }
    r.body = req.body;
    for (const auto& [k, f] : req.files) r.files.emplace(k, UploadedFile{f.filename, f.content});
    return r;
  }

  // A handler never throws: input errors become 4xx, a busy library 409, anything else a 500
  // whose details go to the server's log, not to the client.
  void serve(const std::string& endpoint, Handler h, const httplib::Request& req, httplib::Response& res) {
    const auto start = std::chrono::steady_clock::now();
    ApiResponse out;
    try {
      out = (api.*h)(convert(req));
    } catch (const ApiError& e) {
      out = error_response(e.status(), e.what());
    } catch (const InputError& e) {
      out = error_response(400, e.what());
    } catch (const LibraryBusy& e) {
      out = error_response(409, std::string(e.what()) + "; try again later");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "clipdex: %s %s failed: %s\n", req.method.c_str(), req.path.c_str(), e.what());
      out = error_response(500, "internal server error (details are in the server's log)");
    }
    res.status = out.status;
    for (const auto& [k, v] : out.headers) res.set_header(k, v);
    res.set_content(std::move(out.body), out.content_type);
    api.metrics_registry().observe(endpoint, out.status,
                                   std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  void route(const char* method, const std::string& pattern, const std::string& endpoint, Handler h) {
    auto fn = [this, endpoint, h](const httplib::Request& req, httplib::Response& res) { serve(endpoint, h, req, res); };
    const std::string m = method;
    if (m == "GET") http.Get(pattern, fn);
    else if (m == "POST") http.Post(pattern, fn);
    else if (m == "DELETE") http.Delete(pattern, fn);
  }

  // Security defaults before any handler or body read (server/request_policy.h).
  httplib::Server::HandlerResponse screen(const httplib::Request& req, httplib::Response& res) {
    std::map<std::string, std::string> headers;
    for (const auto& [k, v] : req.headers) {
      std::string key = k;
      for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      headers[key] = v;
    }
    const auto refusal = check_request(policy, req.method, req.path, headers);
    if (!refusal) return httplib::Server::HandlerResponse::Unhandled;
    res.status = refusal->status;
    res.set_header("Connection", "close");  // an unread body must not be parsed as a request
    res.set_content(error_response(refusal->status, refusal->message).body, "application/json");
    api.metrics_registry().observe("refused", refusal->status, 0.0);
    return httplib::Server::HandlerResponse::Handled;
  }

  void setup() {
    http.new_task_queue = [state = connections] { return new ConnectionQueue(state); };
    // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, with which a second server
    // on the same port starts silently and the two split the requests.
    http.set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) { return screen(req, res); });
    http.set_payload_max_length(options.max_body_bytes);
    http.set_read_timeout(options.timeout_seconds, 0);
    http.set_write_timeout(options.timeout_seconds, 0);
    http.set_keep_alive_timeout(5);
    http.set_keep_alive_max_count(1000);
    route("GET", "/api/v1/search", "search", &Api::search_get);
    route("POST", "/api/v1/search", "search", &Api::search_post);
    route("POST", "/api/v1/search/image", "search_image", &Api::search_image);
    route("GET", "/api/v1/duplicates", "duplicates", &Api::duplicates);
    route("POST", "/api/v1/classify", "classify", &Api::classify);
    route("POST", "/api/v1/index", "index", &Api::index);
    route("DELETE", R"(/api/v1/images/([^/]+))", "delete", &Api::remove);
    route("GET", "/api/v1/stats", "stats", &Api::stats);
    route("GET", "/healthz", "healthz", &Api::healthz);
    route("GET", "/metrics", "metrics", &Api::metrics);
    route("GET", R"(/images/([^/]+))", "image", &Api::image);
    route("GET", R"(/thumbs/([^/]+))", "thumb", &Api::thumb);
    http.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content(web_page(), "text/html; charset=utf-8"); });
    // Anything else (unknown routes, bodies over the limit) gets a JSON error, not an HTML page.
    http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;  // a handler's own error message stays
      const std::string msg = res.status == 413 ? "request body too large" : res.status == 404 ? "not found"
                              : res.status >= 500                      ? "internal server error"
                                                                       : "bad request";
      res.set_content(error_response(res.status, msg).body, "application/json");
    });
  }
};

Server::Server(Library library, Model model, ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(library), std::move(model), std::move(options))) {
  impl_->setup();
}

Server::~Server() = default;

int Server::bind() {
  auto& o = impl_->options;
  if (o.port == 0) impl_->port = impl_->http.bind_to_any_port(o.host);
  else impl_->port = impl_->http.bind_to_port(o.host, o.port) ? o.port : -1;
  if (impl_->port < 0)
    throw IoError(fmt::format("cannot listen on {}:{} (is another server using that port? pick another with --port)",
                              o.host, o.port));
  return impl_->port;
}

void Server::run() {
  if (impl_->port < 0) bind();
  // Returns once stopped and the worker pool has drained. Nothing is saved here: the server
  // is a reader, and its own writes saved the index when they were made.
  impl_->http.listen_after_bind();
}

void Server::stop() { impl_->http.stop(); }

int Server::port() const { return impl_->port; }

bool Server::writes_enabled() const { return impl_->policy.writes_enabled; }

size_t Server::abandoned_connections() const {
  std::lock_guard lock(impl_->connections->mu);
  return impl_->connections->abandoned;
}

}  // namespace clipdex::server
