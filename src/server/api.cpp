#include "server/api.h"

#include <cmath>
#include <filesystem>
#include <mutex>
#include <shared_mutex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "clipdex/images.h"
#include "clipdex/util.h"
#include "server/bounded_dir.h"

namespace clipdex::server {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

ApiResponse json_response(const json& j, int status = 200) {
  return {status, "application/json", j.dump(-1, ' ', false, json::error_handler_t::replace), {}};
}

json parse_body(const ApiRequest& r) {
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw ApiError(400, "request body must be a JSON object");
  return j;
}

size_t parse_k(const std::string& s) {
  try {
    size_t pos = 0;
    const long v = std::stol(s, &pos);
    if (pos != s.size() || v < 1 || v > 1000) throw std::invalid_argument("k");
    return static_cast<size_t>(v);
  } catch (const std::exception&) {
    throw ApiError(400, "k must be an integer from 1 to 1000");
  }
}

float parse_score(const std::string& s) {
  try {
    size_t pos = 0;
    const float v = std::stof(s, &pos);
    if (pos != s.size() || !(v >= -1.0f && v <= 1.0f)) throw std::invalid_argument("score");
    return v;
  } catch (const std::exception&) {
    throw ApiError(400, "min_score must be a number from -1 to 1");
  }
}

size_t parse_offset(const std::string& s) {
  try {
    size_t pos = 0;
    const long v = std::stol(s, &pos);
    if (pos != s.size() || v < 0 || v >= static_cast<long>(kMaxResultDepth)) throw std::invalid_argument("offset");
    return static_cast<size_t>(v);
  } catch (const std::exception&) {
    throw ApiError(400, fmt::format("offset must be an integer from 0 to {}", kMaxResultDepth - 1));
  }
}

Query query_from(const std::map<std::string, std::string>& p) {
  Query q;
  if (auto it = p.find("k"); it != p.end()) q.k = parse_k(it->second);
  if (auto it = p.find("min_score"); it != p.end()) q.min_score = parse_score(it->second);
  if (auto it = p.find("offset"); it != p.end()) q.offset = parse_offset(it->second);
  if (q.offset + q.k > kMaxResultDepth) throw ApiError(400, fmt::format("offset + k must be at most {}", kMaxResultDepth));
  // Filters as query parameters (?folder=...&since=2023&format=jpeg,png); a bad value is a 400.
  for (const auto& [key, value] : p)
    if (Filters::is_field(key) && !value.empty()) q.filters.add(key, value);
  return q;
}

Query query_from(const json& j) {
  std::map<std::string, std::string> p;
  if (j.contains("k")) p["k"] = j["k"].is_number() ? j["k"].dump() : "x";
  if (j.contains("min_score")) p["min_score"] = j["min_score"].is_number() ? j["min_score"].dump() : "x";
  if (j.contains("offset")) p["offset"] = j["offset"].is_number_integer() ? j["offset"].dump() : "x";
  auto q = query_from(p);
  // "filters": {"folder": "DIR" or [...], "path": "GLOB" or [...], "since": "2023-05", "until": ...,
  //             "min_width": 800, "min_height": 600, "format": "jpeg" or [...]}
  if (j.contains("filters")) {
    const json& f = j["filters"];
    if (!f.is_object()) throw ApiError(400, "\"filters\" must be an object");
    for (const auto& [key, value] : f.items()) {
      if (!Filters::is_field(key)) throw ApiError(400, fmt::format("unknown filter \"{}\"", key));
      const json values = value.is_array() ? value : json::array({value});
      for (const auto& v : values) {
        if (v.is_string()) q.filters.add(key, v.get<std::string>());
        else if (v.is_number_integer()) q.filters.add(key, v.dump());
        else throw ApiError(400, fmt::format("filter \"{}\" takes a string or an integer", key));
      }
    }
  }
  return q;
}

json image_results(const std::vector<ImageHit>& hits) {
  json results = json::array();
  for (const auto& h : hits) {
    json r = {{"id", h.id},        {"path", h.path},     {"paths", h.paths},
              {"score", h.score},  {"width", h.width},   {"height", h.height},
              {"url", fmt::format("/images/{}", h.id)}, {"thumb", fmt::format("/thumbs/{}", h.id)}};
    r["date"] = h.date;
    r["date_source"] = h.date_from_exif ? "exif" : "file";
    if (!h.format.empty()) r["format"] = h.format;
    if (!h.camera.empty()) r["camera"] = h.camera;
    results.push_back(std::move(r));
  }
  return {{"results", results}};
}

json text_results(const std::vector<TextHit>& hits) {
  json results = json::array();
  for (const auto& h : hits) results.push_back({{"id", h.id}, {"text", h.text}, {"score", h.score}});
  return {{"results", results}};
}

std::string content_type_of(std::span<const uint8_t> bytes) {
  const std::string f = image_format(bytes);
  if (f == "jpeg") return "image/jpeg";
  if (f.empty()) return "application/octet-stream";
  return "image/" + f;
}

std::string str(const json& j, const char* key) {
  if (!j.contains(key)) return "";
  if (!j[key].is_string()) throw ApiError(400, fmt::format("\"{}\" must be a string", key));
  return j[key].get<std::string>();
}

std::string as_string(const std::vector<uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }

std::span<const uint8_t> as_bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

}  // namespace

ApiResponse error_response(int status, const std::string& message) { return json_response({{"error", message}}, status); }

Api::Api(Library library, Model model, size_t cache_entries, ApiOptions options)
    : lib_(library),
      model_(model),
      searcher_(std::move(library), std::move(model), {cache_entries, options.max_pixels}),
      options_(std::move(options)),
      pixels_(std::max(options_.pixel_budget, options_.max_pixels)) {}

void Api::require_token(const ApiRequest& r) const {
  if (options_.token.empty()) return;
  auto it = r.headers.find("authorization");
  if (it == r.headers.end() || it->second != "Bearer " + options_.token)
    throw ApiError(401, "this endpoint needs the server token: Authorization: Bearer TOKEN");
}

int64_t Api::content_id(int64_t id) const {
  if (id < 0) throw ApiError(400, "image id must be a non-negative integer");
  if (!lib_.image(id)) throw ApiError(404, fmt::format("no indexed image has id {}", id));
  return id;
}

int64_t Api::content_id_param(const ApiRequest& r) const {
  auto it = r.params.find("id");
  int64_t id = -1;
  try {
    size_t pos = 0;
    if (it != r.params.end()) id = std::stoll(it->second, &pos);
    if (it == r.params.end() || pos != it->second.size()) id = -1;
  } catch (const std::exception&) {
    id = -1;
  }
  return content_id(id);
}

PixelBudget::Lease Api::reserve_pixels(std::span<const uint8_t> bytes) {
  if (const auto size = image_size(bytes); size && uint64_t{size->first} * size->second > options_.max_pixels)
    throw ApiError(413, fmt::format("the image is {}x{} pixels, over the server's limit of {}", size->first, size->second,
                                    options_.max_pixels));
  return pixels_.reserve_for(bytes, options_.max_pixels);
}

std::string Api::indexed_file(int64_t id) const {
  try {
    return lib_.read_image(id, options_.max_file_bytes);
  } catch (const Library::NotFound& e) {
    throw ApiError(404, e.what());
  } catch (const Library::Changed& e) {
    throw ApiError(409, e.what());
  } catch (const Library::TooLarge& e) {
    throw ApiError(413, e.what());
  }
}

ApiResponse Api::search_get(const ApiRequest& r) {
  auto q = r.params.find("q");
  if (q == r.params.end() || q->second.empty()) throw ApiError(400, "missing query parameter q");
  Query query = query_from(r.params);
  query.text(q->second);
  return json_response(image_results(searcher_.images(query)));
}

ApiResponse Api::search_post(const ApiRequest& r) {
  const json j = parse_body(r);
  auto q = query_from(j);
  const std::string target = j.contains("target") ? str(j, "target") : "images";
  if (target != "images" && target != "texts") throw ApiError(400, "target must be \"images\" or \"texts\"");
  // One term at the top level ({"text": ...}), or "terms": a weighted sum (docs/API.md).
  json terms;
  if (j.contains("terms")) {
    if (j.contains("text") || j.contains("image_base64") || j.contains("id"))
      throw ApiError(400, "give \"terms\" or one of \"text\", \"image_base64\", \"id\", not both");
    terms = j["terms"];
    if (!terms.is_array() || terms.empty() || terms.size() > 32)
      throw ApiError(400, "\"terms\" must be an array of 1 to 32 terms");
  } else {
    terms = json::array({j});
  }
  std::vector<PixelBudget::Lease> leases;  // uploads' pixels, held until the search is done
  for (const auto& t : terms) {
    if (!t.is_object()) throw ApiError(400, "each term must be an object");
    const int given = int(t.contains("text")) + int(t.contains("image_base64")) + int(t.contains("id"));
    if (given != 1) throw ApiError(400, "each term gives exactly one of \"text\", \"image_base64\", \"id\"");
    float weight = 1.0f;
    if (t.contains("weight")) {
      if (!t["weight"].is_number() || !std::isfinite(t["weight"].get<double>()))
        throw ApiError(400, "\"weight\" must be a finite number");
      weight = t["weight"].get<float>();
    }
    if (t.contains("text")) {
      const std::string text = str(t, "text");
      if (text.empty()) throw ApiError(400, "\"text\" must not be empty");
      q.text(text, weight);
    } else if (t.contains("image_base64")) {
      const auto bytes = base64_decode(str(t, "image_base64"));
      if (bytes.empty()) throw ApiError(400, "\"image_base64\" holds no image");
      leases.push_back(reserve_pixels(bytes));
      q.image_bytes(std::string(bytes.begin(), bytes.end()), weight);
    } else {
      if (!t["id"].is_number_integer()) throw ApiError(400, "\"id\" must be an integer");
      q.like(content_id(t["id"].get<int64_t>()), weight);
    }
  }
  // Cancelling terms: InputError -> 400.
  if (target == "texts" && !q.filters.empty()) throw ApiError(400, "filters apply to image results, not target \"texts\"");
  if (target == "texts") return json_response(text_results(searcher_.texts(q)));
  return json_response(image_results(searcher_.images(q)));
}

ApiResponse Api::duplicates(const ApiRequest& r) {
  float threshold = 0.95f;
  size_t limit = 100;
  if (auto it = r.params.find("threshold"); it != r.params.end()) {
    const float t = parse_score(it->second);
    if (!(t > 0.0f)) throw ApiError(400, "threshold must be a cosine greater than 0 and at most 1");
    threshold = t;
  }
  if (auto it = r.params.find("limit"); it != r.params.end()) {
    try {
      limit = parse_k(it->second);
    } catch (const ApiError&) {
      throw ApiError(400, "limit must be an integer from 1 to 1000");
    }
  }
  json groups = json::array();
  for (const auto& g : lib_.duplicates(threshold, limit)) {
    json images = json::array();
    for (const auto& img : g.images)
      images.push_back({{"id", img.id}, {"path", img.paths.empty() ? "" : img.paths.front()}, {"paths", img.paths},
                        {"width", img.width}, {"height", img.height}, {"url", fmt::format("/images/{}", img.id)},
                        {"thumb", fmt::format("/thumbs/{}", img.id)}});
    groups.push_back({{"size", g.images.size()}, {"min_score", g.min_score}, {"images", images}});
  }
  return json_response({{"threshold", threshold}, {"groups", groups}});
}

ApiResponse Api::search_image(const ApiRequest& r) {
  auto f = r.files.find("image");
  if (f == r.files.end()) throw ApiError(400, "upload the image as multipart field \"image\"");
  std::map<std::string, std::string> p = r.params;
  for (const char* key : {"k", "min_score", "offset", "target", "folder", "path", "since", "until", "min_width",
                          "min_height", "format"})
    if (auto it = r.files.find(key); it != r.files.end()) p[key] = it->second.content;
  auto q = query_from(p);
  const auto& c = f->second.content;
  const auto lease = reserve_pixels(as_bytes(c));
  q.image_bytes(c);
  if (p.count("target") && p["target"] == "texts") {
    if (!q.filters.empty()) throw ApiError(400, "filters apply to image results, not target \"texts\"");
    return json_response(text_results(searcher_.texts(q)));
  }
  return json_response(image_results(searcher_.images(q)));
}

ApiResponse Api::classify(const ApiRequest& r) {
  const json j = parse_body(r);
  PromptSet set;
  if (j.contains("prompts")) {
    if (options_.prompts_file.empty()) throw ApiError(400, "this server has no prompt sets (start it with --prompts-file)");
    set = PromptSet::named(str(j, "prompts"), options_.prompts_file);
  } else if (j.contains("labels") && j["labels"].is_array()) {
    for (const auto& l : j["labels"]) {
      if (!l.is_string() || l.get<std::string>().empty()) throw ApiError(400, "labels must be non-empty strings");
      set.classes.push_back({l.get<std::string>()});
    }
    if (set.classes.size() < 2) throw ApiError(400, "give at least two labels");
    set.templates = {"a photo of a {}."};
  } else {
    throw ApiError(400, "give \"labels\": [...] or \"prompts\": NAME");
  }
  if (j.contains("templates")) {
    if (!j["templates"].is_array() || j["templates"].empty()) throw ApiError(400, "templates must be a non-empty list");
    set.templates.clear();
    for (const auto& t : j["templates"]) {
      if (!t.is_string()) throw ApiError(400, "templates must be strings");
      set.templates.push_back(t.get<std::string>());
    }
  }
  std::vector<float> v;
  if (j.contains("image_base64")) {
    const auto bytes = base64_decode(str(j, "image_base64"));
    const auto lease = reserve_pixels(bytes);
    v = model_.embed_encoded_images({std::span<const uint8_t>(bytes)}, /*normalize=*/true);
  } else if (j.contains("id") && j["id"].is_number_integer()) {
    v = lib_.embedding(content_id(j["id"].get<int64_t>()));
  } else {
    throw ApiError(400, "give \"image_base64\" or \"id\"");
  }
  const size_t top = j.contains("top") && j["top"].is_number_unsigned() ? j["top"].get<size_t>() : 5;
  const Classifier clf(model_, std::move(set), options_.cache_dir);
  json preds = json::array();
  for (const auto& p : clf.classify(v, top))
    preds.push_back({{"label", p.label}, {"probability", p.probability}, {"score", p.score}});
  // Every distinct label set caches its class embeddings: keep that folder bounded.
  if (!options_.cache_dir.empty())
    prune_dir(options_.cache_dir + "/zeroshot", options_.class_cache_files, options_.class_cache_bytes);
  return json_response({{"predictions", preds}});
}

ApiResponse Api::image(const ApiRequest& r) {
  const int64_t id = content_id_param(r);
  std::string bytes = indexed_file(id);
  const std::string format = image_format(as_bytes(bytes));
  if (format == "tiff" || format == "heif") {
    // Browsers show neither TIFF nor HEIC: send the full-size picture as a JPEG instead.
    const auto lease = reserve_pixels(as_bytes(bytes));
    return {200, "image/jpeg", as_string(to_jpeg(as_bytes(bytes), options_.max_pixels, 92)), {{"Cache-Control", "no-cache"}}};
  }
  return {200, content_type_of(as_bytes(bytes)), std::move(bytes), {{"Cache-Control", "no-cache"}}};
}

ApiResponse Api::thumb(const ApiRequest& r) {
  const int64_t id = content_id_param(r);
  int size = 256;
  if (auto it = r.params.find("size"); it != r.params.end()) {
    size_t pos = 0;
    try {
      size = std::stoi(it->second, &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    if (pos == 0 || pos != it->second.size() || size < 16 || size > 1024)
      throw ApiError(400, "size must be an integer from 16 to 1024");
  }
  const auto content = lib_.image(id);
  const std::string dir = options_.cache_dir.empty() ? "" : options_.cache_dir + "/thumbs";
  const std::string file = dir.empty() ? "" : fmt::format("{}/{}-{}.jpg", dir, content->hash, size);
  if (!file.empty() && fs::exists(file)) {
    std::error_code ec;
    fs::last_write_time(file, fs::file_time_type::clock::now(), ec);  // recently used: pruned last
    return {200, "image/jpeg", read_file(file), {{"Cache-Control", "max-age=86400"}}};
  }
  const std::string original = indexed_file(id);
  std::string bytes;
  {
    const auto lease = reserve_pixels(as_bytes(original));
    bytes = as_string(thumbnail_jpeg(as_bytes(original), size, options_.max_pixels, 85));
  }
  if (!file.empty()) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (!ec) {
      write_file_atomic(file, bytes);
      prune_dir(dir, options_.thumb_cache_files, options_.thumb_cache_bytes);
    }
  }
  return {200, "image/jpeg", std::move(bytes), {{"Cache-Control", "max-age=86400"}}};
}

ApiResponse Api::index(const ApiRequest& r) {
  require_token(r);
  std::vector<std::string> roots;
  if (!r.files.empty()) {
    // Uploaded images are kept beside the library (Library::side_path) and indexed from there.
    const fs::path dir = lib_.side_path(".uploads");
    fs::create_directories(dir);
    for (const auto& [field, f] : r.files) {
      if (field != "image") continue;
      const std::string ext = fs::path(f.filename).extension().string();
      const auto bytes = std::span(reinterpret_cast<const uint8_t*>(f.content.data()), f.content.size());
      const std::string format = image_format(bytes);
      if (format.empty()) throw ApiError(400, fmt::format("'{}' is not a supported image", f.filename));
      const std::string name = fmt::format("{:016x}.{}", std::hash<std::string>{}(f.content), format == "jpeg" ? "jpg" : format);
      write_file_atomic((dir / name).string(), f.content);
      roots.push_back((dir / name).string());
    }
  } else {
    const json j = parse_body(r);
    if (!j.contains("paths") || !j["paths"].is_array() || j["paths"].empty())
      throw ApiError(400, "give \"paths\": [folders or files] or upload images as multipart field \"image\"");
    for (const auto& p : j["paths"]) {
      if (!p.is_string()) throw ApiError(400, "paths must be strings");
      roots.push_back(p.get<std::string>());
    }
  }
  if (roots.empty()) throw ApiError(400, "no images given");
  IndexOptions opt;
  opt.writer_name = "clipdex serve";
  opt.wait = false;  // a request does not wait an hour for a cron job
  opt.max_pixels = options_.max_pixels;
  const auto rep = lib_.index(model_, roots, opt);  // busy: 409 (server.cpp)
  return json_response({{"scanned", rep.scanned}, {"embedded", rep.embedded}, {"duplicates", rep.duplicates},
                        {"unchanged", rep.unchanged}, {"failed", rep.failed}, {"removed", rep.removed}});
}

ApiResponse Api::remove(const ApiRequest& r) {
  require_token(r);
  const int64_t id = content_id_param(r);
  const auto paths = lib_.remove(id, "clipdex serve");  // busy: 409 (server.cpp)
  return json_response({{"deleted", id}, {"paths", paths}});
}

ApiResponse Api::stats(const ApiRequest&) {
  const auto st = lib_.stats();
  const auto c = searcher_.cache();
  const double lookups = static_cast<double>(c.hits + c.misses);
  return json_response({{"images", st.images}, {"files", st.files}, {"failed", st.failed}, {"texts", st.texts},
                        {"model", model_.id()},
                        {"precision", model_.precision()},
                        {"kernels", model_.kernels()},
                        {"device", model_.device()},
                        {"adapter", model_.adapter()},
                        {"index_type", st.index_type}, {"index_size", st.index_size},
                        {"cache", {{"entries", c.entries}, {"hits", c.hits}, {"misses", c.misses},
                                   {"hit_rate", lookups > 0 ? c.hits / lookups : 0.0}}}});
}

ApiResponse Api::healthz(const ApiRequest&) { return json_response({{"status", "ok"}}); }

ApiResponse Api::metrics(const ApiRequest&) {
  const auto st = lib_.stats();
  const auto c = searcher_.cache();
  const std::string extra = fmt::format(
      "# TYPE clipdex_query_cache_hits_total counter\nclipdex_query_cache_hits_total {}\n"
      "# TYPE clipdex_query_cache_misses_total counter\nclipdex_query_cache_misses_total {}\n"
      "# TYPE clipdex_index_images gauge\nclipdex_index_images {}\n"
      "# TYPE clipdex_index_texts gauge\nclipdex_index_texts {}\n",
      c.hits, c.misses, st.images, st.texts);
  return {200, "text/plain; version=0.0.4", metrics_.render(extra), {}};
}

}  // namespace clipdex::server
