#include "server/request_policy.h"

#include <arpa/inet.h>

#include <algorithm>

#include <fmt/format.h>

namespace clipdex::server {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// "host", "host:port", "[v6]:port" -> "host" / "v6".
std::string host_name(const std::string& host_header) {
  if (!host_header.empty() && host_header.front() == '[') {
    const auto end = host_header.find(']');
    return end == std::string::npos ? host_header : host_header.substr(1, end - 1);
  }
  const auto colon = host_header.find(':');
  return lower(colon == std::string::npos ? host_header : host_header.substr(0, colon));
}

bool is_ip_literal(const std::string& h) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

const std::string* header(const std::map<std::string, std::string>& h, const char* name) {
  const auto it = h.find(name);
  return it == h.end() ? nullptr : &it->second;
}

}  // namespace

bool is_write(const std::string& method, const std::string& path) {
  return (method == "POST" && path == "/api/v1/index") || (method == "DELETE" && path.rfind("/api/v1/images/", 0) == 0);
}

bool is_loopback_address(const std::string& host) {
  if (lower(host) == "localhost" || host == "::1") return true;
  in_addr a{};
  return inet_pton(AF_INET, host.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

std::optional<Refusal> check_request(const RequestPolicy& policy, const std::string& method, const std::string& path,
                                     const std::map<std::string, std::string>& headers) {
  if (header(headers, "transfer-encoding"))
    return Refusal{411, "chunked request bodies are not accepted: send the body with a Content-Length"};
  if (const auto* host = header(headers, "host")) {
    const std::string name = host_name(*host);
    const bool allowed = name == "localhost" || is_ip_literal(name) ||
                         std::find(policy.allowed_hosts.begin(), policy.allowed_hosts.end(), name) != policy.allowed_hosts.end();
    if (!allowed)
      return Refusal{403, fmt::format("Host '{}' is not served here (start the server with --allow-host {} to serve "
                                      "that name)",
                                      name, name)};
  }
  if (!is_write(method, path)) return std::nullopt;
  if (!policy.writes_enabled)
    return Refusal{403, "writes are disabled: this server listens on a non-loopback address without --token"};
  if (const auto* origin = header(headers, "origin")) {
    const auto* host = header(headers, "host");
    if (!host || lower(*origin) != "http://" + lower(*host))
      return Refusal{403, fmt::format("cross-site write refused (Origin {})", *origin)};
  }
  if (const auto* site = header(headers, "sec-fetch-site"); site && *site != "same-origin" && *site != "none")
    return Refusal{403, fmt::format("cross-site write refused (Sec-Fetch-Site {})", *site)};
  if (method == "POST") {
    const auto* type = header(headers, "content-type");
    const std::string t = type ? lower(*type) : "";
    if (t.rfind("application/json", 0) != 0 && t.rfind("multipart/form-data", 0) != 0)
      return Refusal{415, "writes take Content-Type application/json or multipart/form-data"};
  }
  return std::nullopt;
}

}  // namespace clipdex::server
