#pragma once
// The HTTP API in its own types, independent of the HTTP library: a handler takes an ApiRequest
// and returns an ApiResponse; it signals bad input with ApiError (status + message). The server
// adapter turns anything else into a 500 with a JSON message, so no request can take it down.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "clipdex/clipdex.h"
#include "server/metrics.h"
#include "server/pixel_budget.h"

namespace clipdex::server {

struct UploadedFile {
  std::string filename;
  std::string content;
};

struct ApiRequest {
  std::string method;
  std::map<std::string, std::string> params;  // query string and path parameters
  std::map<std::string, std::string> headers; // lower-case names
  std::string body;
  std::multimap<std::string, UploadedFile> files;  // multipart fields
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
};

// {"error": message} with the given status (invalid UTF-8 in the message is replaced).
ApiResponse error_response(int status, const std::string& message);

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

struct ApiOptions {
  std::string token;           // required for writes when set
  std::string prompts_file;    // prompt sets for /classify {"prompts": NAME}
  std::string cache_dir;       // class embeddings and thumbnails
  uint64_t max_pixels = 50'000'000;         // largest image one request may decode
  uint64_t pixel_budget = 100'000'000;      // decoded pixels of all requests together
  uint64_t max_file_bytes = 256ull << 20;   // largest indexed file served by /images
  size_t thumb_cache_files = 4096;          // thumbnail cache bounds
  uint64_t thumb_cache_bytes = 256ull << 20;
  size_t class_cache_files = 256;           // zero-shot class-embedding cache bounds
  uint64_t class_cache_bytes = 64ull << 20;
};

// Shared state of all handlers.
class Api {
 public:
  Api(Library library, Model model, size_t cache_entries, ApiOptions options);

  ApiResponse search_get(const ApiRequest& r);
  ApiResponse search_post(const ApiRequest& r);
  ApiResponse search_image(const ApiRequest& r);
  ApiResponse duplicates(const ApiRequest& r);
  ApiResponse classify(const ApiRequest& r);
  ApiResponse image(const ApiRequest& r);
  ApiResponse thumb(const ApiRequest& r);
  ApiResponse index(const ApiRequest& r);
  ApiResponse remove(const ApiRequest& r);
  ApiResponse stats(const ApiRequest& r);
  ApiResponse healthz(const ApiRequest& r);
  ApiResponse metrics(const ApiRequest& r);

  Metrics& metrics_registry() { return metrics_; }
  Library& library() { return lib_; }

 private:
  void require_token(const ApiRequest& r) const;
  int64_t content_id_param(const ApiRequest& r) const;
  int64_t content_id(int64_t id) const;  // 404 unless indexed
  // Reserves an uploaded image's pixels in the budget (413 when one image is over max_pixels).
  PixelBudget::Lease reserve_pixels(std::span<const uint8_t> bytes);
  // An indexed image's file bytes; 404 / 409 / 413 when it cannot be served.
  std::string indexed_file(int64_t id) const;

  Library lib_;
  Model model_;
  Searcher searcher_;
  ApiOptions options_;
  Metrics metrics_;
  PixelBudget pixels_;
};

}  // namespace clipdex::server
