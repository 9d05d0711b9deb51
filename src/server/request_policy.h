#pragma once
// What the server accepts before any handler runs (security defaults, docs/API.md):
//   - no chunked request bodies (411): their length cannot be checked before reading them;
//   - the Host header must name this server: an IP literal, "localhost", or a name given with
//     --allow-host (a DNS-rebinding page sends its own domain name, and is refused with 403);
//   - writes (POST /api/v1/index, DELETE /api/v1/images/ID) refuse cross-site requests: an
//     Origin other than the Host's, Sec-Fetch-Site other than same-origin / none, or a body
//     type a plain HTML form can send without CORS (text/plain, url-encoded) — 403 / 415;
//   - writes are disabled (403) on a non-loopback address without a token.
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace clipdex::server {

struct RequestPolicy {
  std::vector<std::string> allowed_hosts;  // besides IP literals and localhost
  bool writes_enabled = true;
};

struct Refusal {
  int status;
  std::string message;
};

// headers: lower-case names. Returns why a request is refused, or nullopt to let it through.
std::optional<Refusal> check_request(const RequestPolicy& policy, const std::string& method, const std::string& path,
                                     const std::map<std::string, std::string>& headers);

bool is_write(const std::string& method, const std::string& path);
// Whether a bind address only accepts local connections (127.0.0.0/8, ::1, localhost).
bool is_loopback_address(const std::string& host);

}  // namespace clipdex::server
