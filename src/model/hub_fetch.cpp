#include "model/hub_fetch.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <regex>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/paths.h"

namespace clipdex::model {
namespace {

namespace fs = std::filesystem;

enum class Result { Done, NotFound };

struct Transfer {
  CURL* curl = nullptr;
  FILE* out = nullptr;
  std::string name;
  long long offset = 0;  // bytes already on disk when this attempt started
  bool progress = false;
  bool checked_status = false;
  bool keep_body = true;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now(), last{};
};

// Only a successful response body lands in the file; a 200 answer to a range request (the
// server ignored the range) restarts the file from the beginning.
size_t write_cb(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (!t->checked_status) {
    t->checked_status = true;
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    t->keep_body = status == 200 || status == 206;
    if (status == 200 && t->offset > 0) {
      if (std::fflush(t->out) != 0 || ::ftruncate(::fileno(t->out), 0) != 0 || std::fseek(t->out, 0, SEEK_SET) != 0)
        return 0;
      t->offset = 0;
    }
  }
  if (!t->keep_body) return size * n;
  return std::fwrite(data, size, n, t->out) * size;
}

int progress_cb(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  const auto tick = std::chrono::steady_clock::now();
  if (!t->progress || tick - t->last < std::chrono::milliseconds(200)) return 0;
  t->last = tick;
  const double secs = std::chrono::duration<double>(tick - t->start).count();
  const double done = static_cast<double>(t->offset + now), all = static_cast<double>(t->offset + total);
  const int pct = total > 0 ? static_cast<int>(100.0 * done / all) : 0;
  std::fprintf(stderr, "\r%-28s %3d%% %8.1f / %.1f MB  %6.1f MB/s", t->name.c_str(), pct, done / 1e6, all / 1e6,
               secs > 0 ? now / 1e6 / secs : 0.0);
  return 0;
}

std::string default_cache() {
  const std::string dir = user_cache_dir();
  return dir.empty() ? ".clipdex-cache" : dir;
}

// One attempt: GET with a Range header when part of the file is already there.
// Returns the HTTP status and the curl result.
std::pair<long, CURLcode> attempt(const std::string& url, const fs::path& part, const std::string& name, bool progress) {
  const long long have = fs::exists(part) ? static_cast<long long>(fs::file_size(part)) : 0;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) throw Error("libcurl failed to initialise");
  std::unique_ptr<FILE, decltype(&std::fclose)> out(std::fopen(part.c_str(), have ? "ab" : "wb"), &std::fclose);
  if (!out) throw_io("cannot write '{}'", part.string());
  Transfer t;
  t.curl = curl.get();
  t.out = out.get();
  t.name = name;
  t.offset = have;
  t.progress = progress && ::isatty(2);
  curl_slist* headers = nullptr;
  if (const char* token = std::getenv("HF_TOKEN"); token && *token)
    headers = curl_slist_append(headers, (std::string("Authorization: Bearer ") + token).c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_guard(headers, &curl_slist_free_all);
  const std::string range = fmt::format("{}-", have);
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_USERAGENT, "clipdex/0.1");
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
  if (have) curl_easy_setopt(curl.get(), CURLOPT_RANGE, range.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFOFUNCTION, progress_cb);
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(curl.get(), CURLOPT_NOPROGRESS, 0L);
  long status = 0;
  const CURLcode rc = curl_easy_perform(curl.get());
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (t.progress) std::fprintf(stderr, "\n");
  if (std::fclose(out.release()) != 0) throw_io("cannot write '{}'", part.string());
  return {status, rc};
}

// No answer at all from the endpoint: retrying will not help, the user needs another route.
bool unreachable(CURLcode rc) {
  return rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_COULDNT_CONNECT ||
         rc == CURLE_OPERATION_TIMEDOUT;
}

// What a repository may hold, in the order fetch looks for it.
struct WeightSet {
  const char* weights;
  const char* config;
  bool config_required;  // Hugging Face weights are unusable without config.json
  const char* extra;     // optional file fetched too
};
constexpr WeightSet kWeightSets[] = {
    {"open_clip_model.safetensors", "open_clip_config.json", false, nullptr},
    {"model.safetensors", "config.json", true, "preprocessor_config.json"},
    {"open_clip_pytorch_model.bin", "open_clip_config.json", false, nullptr},
    {"pytorch_model.bin", "config.json", true, "preprocessor_config.json"},
};

// A model folder that an earlier fetch completed: used as it is, without the network.
bool complete_in_cache(const fs::path& dir, bool tokenizer_only) {
  auto has = [&](const char* name) { return fs::exists(dir / name); };
  bool weights = tokenizer_only;
  for (const auto& w : kWeightSets) weights = weights || (has(w.weights) && has(w.config));
  return weights && ((has("vocab.json") && has("merges.txt")) || has("sentencepiece.bpe.model"));
}

Result download(const std::string& url, const fs::path& dest, const FetchOptions& opt) {
  if (fs::exists(dest)) return Result::Done;
  const fs::path part = dest.string() + ".part";
  const std::string name = dest.filename().string();
  for (int tries = 0;; ++tries) {
    const auto [status, rc] = attempt(url, part, name, opt.progress);
    if (status == 404) {
      fs::remove(part);
      return Result::NotFound;
    }
    if (status == 416) {  // nothing left to fetch: the part file is complete
      fs::rename(part, dest);
      return Result::Done;
    }
    if (rc == CURLE_OK && (status == 200 || status == 206)) {
      fs::rename(part, dest);
      return Result::Done;
    }
    if (status == 401 || status == 403)
      throw_io("{}: access denied (HTTP {}); set HF_TOKEN for gated repositories", url, status);
    if (status == 0 && unreachable(rc)) {
      std::error_code ec;
      if (fs::exists(part, ec) && fs::file_size(part, ec) == 0) fs::remove(part, ec);
      throw_io("cannot reach {} ({}). Without network access, get the weights another way: point HF_ENDPOINT "
               "(or --endpoint) at a reachable hub mirror; or copy a model folder downloaded elsewhere onto this "
               "machine and pass --model DIR; or set CLIPDEX_MODEL=DIR for scripts/quickstart.sh",
               url, curl_easy_strerror(rc));
    }
    if (tries >= opt.retries)
      throw_io("{}: download failed ({}, HTTP {}); run the command again to resume", url, curl_easy_strerror(rc),
               status);
  }
}

}  // namespace

std::string fetch_model(const std::string& repo, const FetchOptions& opt) {
  static const std::regex repo_re(R"(^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$)");
  static const std::regex rev_re(R"(^[A-Za-z0-9][A-Za-z0-9._/-]*$)");
  if (!std::regex_match(repo, repo_re) || repo.find("..") != std::string::npos)
    throw_input("'{}' is not a hub repository name (expected org/name)", repo);
  if (!std::regex_match(opt.revision, rev_re) || opt.revision.find("..") != std::string::npos)
    throw_input("'{}' is not a valid revision", opt.revision);
  std::string endpoint = opt.endpoint;
  if (endpoint.empty()) endpoint = std::getenv("HF_ENDPOINT") ? std::getenv("HF_ENDPOINT") : "https://huggingface.co";
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();

  std::string folder = "models--" + repo;
  folder.replace(folder.find('/'), 1, "--");
  std::string rev = opt.revision;
  std::replace(rev.begin(), rev.end(), '/', '_');
  const fs::path dir = fs::path(opt.cache_dir.empty() ? default_cache() : opt.cache_dir) / folder / rev;
  fs::create_directories(dir);
  if (complete_in_cache(dir, opt.tokenizer_only)) return dir.string();

  static bool curl_ready = (curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);
  if (!curl_ready) throw Error("libcurl failed to initialise");
  auto get = [&](const std::string& file) {
    return download(fmt::format("{}/{}/resolve/{}/{}", endpoint, repo, opt.revision, file), dir / file, opt);
  };
  if (opt.tokenizer_only) {  // CLIP's BPE files, or an XLM-R SentencePiece model
    if (get("vocab.json") == Result::Done && get("merges.txt") == Result::Done) return dir.string();
    if (get("sentencepiece.bpe.model") == Result::Done || get("tokenizer.json") == Result::Done) return dir.string();
    throw_input("{} has neither vocab.json + merges.txt nor sentencepiece.bpe.model / tokenizer.json", repo);
  }
  // The first weights file the repository has, safetensors before PyTorch pickles (as open_clip
  // prefers), then its config.
  bool found = false;
  for (const auto& w : kWeightSets) {
    if (get(w.weights) != Result::Done) continue;
    if (get(w.config) == Result::NotFound && w.config_required)
      throw_input("{}: {} has no {} beside it", repo, w.weights, w.config);
    if (w.extra) get(w.extra);
    found = true;
    break;
  }
  if (!found)
    throw_input("{} (revision {}) has none of open_clip_model.safetensors, model.safetensors, "
                "open_clip_pytorch_model.bin, pytorch_model.bin",
                repo, opt.revision);
  // CLIP's BPE files, else an XLM-R tokenizer (multilingual towers ship SentencePiece).
  const bool vocab = get("vocab.json") == Result::Done;
  const bool merges = get("merges.txt") == Result::Done;
  if (!vocab || !merges) {
    const bool sentencepiece = get("sentencepiece.bpe.model") == Result::Done;
    if (!sentencepiece && get("tokenizer.json") == Result::NotFound)
      std::fprintf(stderr, "clipdex: %s has no tokenizer files; pass --vocab when using it\n", repo.c_str());
  }
  return dir.string();
}

}  // namespace clipdex::model
