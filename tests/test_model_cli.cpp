// The model subcommands end to end: embed, model info, make-random, and fetch against a local
// hub on loopback (interrupted transfer, resume, 404).
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/safetensors.h"
#include "model/clip_model.h"
#include "model/hub_fetch.h"
#include "test_util.h"

using namespace clipdex;
namespace fs = std::filesystem;

namespace {

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> v;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) v.push_back(nlohmann::json::parse(line));
  return v;
}

double rel_error(const std::vector<float>& a, const std::vector<float>& g) {
  double num = 0, den = 0;
  for (size_t i = 0; i < g.size(); ++i) num += (a[i] - g[i]) * (a[i] - g[i]), den += g[i] * g[i];
  return std::sqrt(num / den);
}

}  // namespace

TEST(EmbedCli, TextAndImageLinesMatchTheReference) {
  const std::string model = test::shared_path("fixtures/models/vit-tiny");
  const auto golden = SafeTensors::open(model + "/golden.safetensors");
  const std::string input = "{\"text\": \"a photo of a cat\"}\n{\"image\": \"" +
                            test::shared_path("fixtures/images/chelsea.png") + "\"}\n{\"image\": \"/missing.png\"}\n";
  auto r = test::run_cli("embed --model " + model + " --vocab " + test::shared_path("clip/bpe_simple_vocab_16e6.txt.gz"), input);
  EXPECT_EQ(r.exit_code, 1);  // one failed line: a partial failure
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 3u);
  const auto text = lines[0]["embedding"].get<std::vector<float>>();
  const auto golden_text = golden.get("text_embeds").to_f32();  // row 0 is "a photo of a cat"
  EXPECT_LE(rel_error(text, std::vector<float>(golden_text.begin(), golden_text.begin() + 64)), 1e-4);
  EXPECT_LE(rel_error(lines[1]["embedding"].get<std::vector<float>>(), golden.get("image_chelsea_embeds").to_f32()), 2e-3);
  EXPECT_TRUE(lines[2].contains("error"));

  // --normalize gives unit vectors; the vocabulary is found beside an HF model.
  auto n = test::run_cli("embed --normalize --model " + model + "/hf", "{\"text\": \"a photo of a cat\"}\n");
  ASSERT_EQ(n.exit_code, 0);
  const auto unit = json_lines(n.out)[0]["embedding"].get<std::vector<float>>();
  double norm = 0;
  for (float x : unit) norm += x * x;
  EXPECT_NEAR(norm, 1.0, 1e-5);
  EXPECT_NE(test::run_cli("embed --model " + model, "{\"text\": \"x\"}\n").exit_code, 0);  // no vocab beside it
}

TEST(ModelCli, InfoDescribesTheModel) {
  auto r = test::run_cli("model info --json " + test::shared_path("fixtures/models/vit-tiny/hf"));
  ASSERT_EQ(r.exit_code, 0);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["layout"], "huggingface");
  EXPECT_EQ(j["image_tower"], "ViT");
  EXPECT_EQ(j["embed_dim"], 64);
  EXPECT_EQ(j["dtype"], "F32");
  EXPECT_GT(j["parameters"].get<int64_t>(), 1000000);
  EXPECT_NE(test::run_cli("model info /nonexistent").exit_code, 0);
}

TEST(ModelCli, MakeRandomWritesALoadableModel) {
  const std::string dir = test::scratch_dir("random-rn50");
  auto r = test::run_cli("model make-random --arch RN50 --dtype bf16 --seed 3 --out " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto m = model::Model::load(dir);
  EXPECT_EQ(m->info().dtype, "BF16");
  EXPECT_EQ(m->embed_dim(), 1024);
  EXPECT_EQ(m->config().vision.resnet_layers, (std::array<int, 4>{3, 4, 6, 3}));
  std::vector<int32_t> ids(77, 0);
  ids[0] = 49406, ids[1] = 320, ids[2] = 49407;
  const auto e = m->encode_texts(ids.data(), 1, 77);
  for (float x : e) ASSERT_TRUE(std::isfinite(x));
}

namespace {

// A minimal hub on loopback serving the vit-tiny fixture in hub layout (with safetensors, or
// as a repository that has only the PyTorch .bin).
class LocalHub {
 public:
  explicit LocalHub(bool pickle_only = false) {
    const std::string root = test::shared_path("fixtures/models/vit-tiny");
    files_ = {{"open_clip_config.json", root + "/open_clip_config.json"},
              {"vocab.json", root + "/hf/vocab.json"},
              {"merges.txt", root + "/hf/merges.txt"}};
    if (pickle_only)
      files_["open_clip_pytorch_model.bin"] = test::shared_path("fixtures/checkpoints/vit-tiny/open_clip_pytorch_model.bin");
    else
      files_["open_clip_model.safetensors"] = root + "/open_clip_model.safetensors";
    server_.Get(R"(/test/tiny-clip/resolve/main/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      auto it = files_.find(req.matches[1]);
      if (it == files_.end()) {
        res.status = 404;
        return;
      }
      if (req.has_header("Range")) ++range_requests;
      auto body = std::make_shared<std::string>(read_file(it->second));
      const bool cut = it->first == "open_clip_model.safetensors" && interrupt_next.exchange(false);
      res.set_content_provider(body->size(), "application/octet-stream",
                               [body, cut](size_t offset, size_t length, httplib::DataSink& sink) {
                                 if (cut) {  // send a third, then drop the connection
                                   sink.write(body->data() + offset, std::min(length, body->size() / 3));
                                   return false;
                                 }
                                 sink.write(body->data() + offset, length);
                                 return true;
                               });
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LocalHub() {
    server_.stop();
    thread_.join();
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::atomic<bool> interrupt_next{false};
  std::atomic<int> range_requests{0};

 private:
  std::map<std::string, std::string> files_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace

TEST(ModelFetch, DownloadsResumesAfterAnInterruptionAndLoads) {
  LocalHub hub;
  model::FetchOptions opt;
  opt.endpoint = hub.endpoint();
  opt.cache_dir = test::scratch_dir("hub-cache");
  opt.progress = false;

  // The first transfer breaks off; with no retries the command fails and keeps the partial file.
  hub.interrupt_next = true;
  opt.retries = 0;
  EXPECT_THROW(model::fetch_model("test/tiny-clip", opt), IoError);
  const fs::path dir = fs::path(opt.cache_dir) / "models--test--tiny-clip" / "main";
  ASSERT_TRUE(fs::exists(dir / "open_clip_model.safetensors.part"));
  EXPECT_GT(fs::file_size(dir / "open_clip_model.safetensors.part"), 0u);

  // Running again resumes with a Range request and completes.
  const std::string path = model::fetch_model("test/tiny-clip", opt);
  EXPECT_EQ(path, dir.string());
  EXPECT_GE(hub.range_requests.load(), 1);
  EXPECT_EQ(read_file(path + "/open_clip_model.safetensors"),
            read_file(test::shared_path("fixtures/models/vit-tiny/open_clip_model.safetensors")));
  EXPECT_FALSE(fs::exists(dir / "open_clip_model.safetensors.part"));
  const auto m = model::Model::load(path);
  EXPECT_EQ(m->embed_dim(), 64);
  EXPECT_EQ(model::find_vocab_beside(path), path);

  // Retries inside one run recover from a broken transfer too.
  opt.cache_dir = test::scratch_dir("hub-cache-2");
  opt.retries = 2;
  hub.interrupt_next = true;
  EXPECT_NO_THROW(model::fetch_model("test/tiny-clip", opt));

  // A repository without weights is a clear error; so is a hostile name.
  try {
    model::fetch_model("test/missing", opt);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("has none of"), std::string::npos);
  }
  EXPECT_THROW(model::fetch_model("../../etc", opt), InputError);
}

TEST(ModelFetch, CliPrintsTheLocalPath) {
  LocalHub hub;
  const std::string cache = test::scratch_dir("hub-cli");
  auto r = test::run_cli("model fetch test/tiny-clip --cache " + cache + " --endpoint " + hub.endpoint());
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, cache + "/models--test--tiny-clip/main\n");
  EXPECT_NE(test::run_cli("model fetch test/missing --cache " + cache + " --endpoint " + hub.endpoint()).exit_code, 0);
}

TEST(ModelFetch, TakesThePytorchBinWhenARepositoryHasNoSafetensors) {
  LocalHub hub(/*pickle_only=*/true);
  model::FetchOptions opt;
  opt.endpoint = hub.endpoint();
  opt.cache_dir = test::scratch_dir("hub-bin");
  opt.progress = false;
  const std::string dir = model::fetch_model("test/tiny-clip", opt);
  EXPECT_TRUE(fs::exists(dir + "/open_clip_pytorch_model.bin"));
  EXPECT_FALSE(fs::exists(dir + "/open_clip_model.safetensors"));
  const auto m = model::Model::load(dir);
  EXPECT_EQ(m->info().container, "pytorch");
  const auto reference = model::Model::load(test::shared_path("fixtures/models/vit-tiny"));
  std::vector<int32_t> ids(77, 0);
  ids[0] = 49406, ids[1] = 320, ids[2] = 49407;
  EXPECT_EQ(m->encode_texts(ids.data(), 1, 77), reference->encode_texts(ids.data(), 1, 77));

  // The tokenizer alone, for weights that carry none; a complete folder is used offline.
  opt.cache_dir = test::scratch_dir("hub-tok");
  opt.tokenizer_only = true;
  const std::string tok = model::fetch_model("test/tiny-clip", opt);
  EXPECT_TRUE(fs::exists(tok + "/vocab.json") && fs::exists(tok + "/merges.txt"));
  EXPECT_FALSE(fs::exists(tok + "/open_clip_pytorch_model.bin"));
  opt.endpoint = "http://127.0.0.1:9";  // nothing listens there
  EXPECT_EQ(model::fetch_model("test/tiny-clip", opt), tok);
  opt.tokenizer_only = false;
  opt.cache_dir = test::scratch_dir("hub-offline");
  try {
    model::fetch_model("test/tiny-clip", opt);
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot reach"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("CLIPDEX_MODEL"), std::string::npos) << e.what();
  }
}
