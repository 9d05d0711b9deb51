// PyTorch checkpoints read natively: the fixture .bin / .pt files against their goldens through
// `clipdex embed` and `clipdex index`, hand-made archives for the format's corners (the folder
// named after the file, strided views, F64 / I64 storages, ZIP64), and hostile files that must
// be refused without running anything.
#include <sys/wait.h>
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/safetensors.h"
#include "core/tensor_file.h"
#include "model/clip_model.h"
#include "test_util.h"

using namespace clipdex;
namespace fs = std::filesystem;

namespace {

const char* kPwned = "/tmp/clipdex-pwned-public";

std::string vocab() { return test::shared_path("clip/bpe_simple_vocab_16e6.txt.gz"); }

double rel_error(const std::vector<float>& a, const std::vector<float>& g) {
  double num = 0, den = 0;
  for (size_t i = 0; i < g.size(); ++i) num += (double(a[i]) - g[i]) * (double(a[i]) - g[i]), den += double(g[i]) * g[i];
  return std::sqrt(num / den);
}

std::vector<float> row(const std::vector<float>& m, size_t r, size_t d) {
  return {m.begin() + static_cast<std::ptrdiff_t>(r * d), m.begin() + static_cast<std::ptrdiff_t>((r + 1) * d)};
}

std::vector<std::vector<float>> embed_lines(const std::string& args, const std::string& input, int& exit_code) {
  const auto r = test::run_cli("embed " + args, input);
  exit_code = r.exit_code;
  std::vector<std::vector<float>> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line)["embedding"].get<std::vector<float>>());
  return out;
}

struct Case {
  std::string model;   // under fixtures/checkpoints
  std::string golden;  // under fixtures/
};

// Every fixture checkpoint, with the golden outputs for exactly its weights.
const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {"vit-tiny", "models/vit-tiny/golden.safetensors"},
      {"vit-tiny/hf", "models/vit-tiny/golden.safetensors"},
      {"rn-tiny", "models/rn-tiny/golden.safetensors"},
      {"vit-tiny/vit-tiny.pt", "checkpoints/vit-tiny/vit-tiny.pt.golden.safetensors"},
      {"vit-b32-1layer-f16/vit-b32-1layer-f16.pt", "checkpoints/vit-b32-1layer-f16/vit-b32-1layer-f16.pt.golden.safetensors"},
  };
  return c;
}

}  // namespace

TEST(TorchCheckpoint, StateDictsHoldTheSameTensorsAsTheSafetensorsFixtures) {
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"checkpoints/vit-tiny/open_clip_pytorch_model.bin", "models/vit-tiny/open_clip_model.safetensors"},
      {"checkpoints/vit-tiny/hf/pytorch_model.bin", "models/vit-tiny/hf/model.safetensors"},
      {"checkpoints/rn-tiny/open_clip_pytorch_model.bin", "models/rn-tiny/open_clip_model.safetensors"},
  };
  for (const auto& [bin, st] : pairs) {
    const auto a = TensorFile::open(test::shared_path("fixtures/" + bin));
    const auto b = TensorFile::open(test::shared_path("fixtures/" + st));
    EXPECT_EQ(a.container(), "pytorch");
    EXPECT_EQ(b.container(), "safetensors");
    size_t compared = 0;
    for (const auto& [name, t] : b.tensors()) {
      ASSERT_TRUE(a.contains(name)) << bin << ": " << name;
      const auto& u = a.get(name);
      EXPECT_EQ(u.shape, t.shape) << name;
      EXPECT_EQ(u.dtype, t.dtype) << name;
      EXPECT_EQ(u.to_f32(), t.to_f32()) << bin << ": " << name;
      ++compared;
    }
    EXPECT_GT(compared, 20u) << bin;
  }
}

TEST(TorchCheckpoint, TorchScriptModulesBecomeStateDictNames) {
  const auto f = TensorFile::open(test::shared_path("fixtures/checkpoints/vit-tiny/vit-tiny.pt"));
  EXPECT_EQ(f.container(), "torchscript");
  for (const char* name : {"visual.transformer.resblocks.0.attn.in_proj_weight", "visual.conv1.weight",
                           "transformer.resblocks.1.mlp.c_proj.bias", "token_embedding.weight", "logit_scale"})
    EXPECT_TRUE(f.contains(name)) << name;
  EXPECT_EQ(f.get("visual.conv1.weight").dtype, DType::F16);
  const auto m = model::Model::load(test::shared_path("fixtures/checkpoints/vit-tiny/vit-tiny.pt"));
  EXPECT_EQ(m->info().container, "torchscript");
  EXPECT_EQ(m->info().config_source, "inferred");  // as OpenAI's build_model: shapes and QuickGELU
  EXPECT_TRUE(m->config().quick_gelu);
}

TEST(TorchCheckpoint, EveryFixtureCheckpointMatchesItsGoldenThroughEmbed) {
  for (const auto& c : cases()) {
    const auto golden = SafeTensors::open(test::shared_path("fixtures/" + c.golden));
    const auto texts = nlohmann::json::parse(golden.metadata().at("texts")).get<std::vector<std::string>>();
    const auto text_golden = golden.get("text_embeds").to_f32();
    const size_t d = text_golden.size() / texts.size();
    std::string input;
    for (const auto& t : texts) input += nlohmann::json{{"text", t}}.dump() + "\n";
    std::vector<std::string> images;
    for (const auto& file : test::fixture_image_files()) {
      const std::string stem = fs::path(file).stem().string();
      if (!golden.contains("image_" + stem + "_embeds")) continue;
      images.push_back(stem);
      input += nlohmann::json{{"image", test::shared_path("fixtures/images/" + file)}}.dump() + "\n";
    }
    ASSERT_GE(images.size(), 7u) << c.model;
    int rc = -1;
    const auto out = embed_lines("--model " + test::shared_path("fixtures/checkpoints/" + c.model) + " --vocab " + vocab(), input, rc);
    ASSERT_EQ(rc, 0) << c.model;
    ASSERT_EQ(out.size(), texts.size() + images.size()) << c.model;
    for (size_t i = 0; i < texts.size(); ++i)
      EXPECT_LE(rel_error(out[i], row(text_golden, i, d)), 1e-4) << c.model << " text " << i << ": " << texts[i];
    for (size_t i = 0; i < images.size(); ++i)
      EXPECT_LE(rel_error(out[texts.size() + i], golden.get("image_" + images[i] + "_embeds").to_f32()), 2e-3)
          << c.model << " image " << images[i];
  }
}

TEST(TorchCheckpoint, IndexAndSearchWithATorchScriptModelMatchTheGoldens) {
  // Scores of a text query over the indexed fixture images are the golden cosines.
  const auto& c = cases()[4];
  const auto golden = SafeTensors::open(test::shared_path("fixtures/" + c.golden));
  const auto texts = nlohmann::json::parse(golden.metadata().at("texts")).get<std::vector<std::string>>();
  const auto text_golden = golden.get("text_embeds").to_f32();
  const size_t d = text_golden.size() / texts.size();
  const std::string dir = test::scratch_dir("torch-index"), db = dir + "/lib.db";
  const std::string images = test::shared_path("fixtures/images");
  ASSERT_EQ(test::run_cli("index " + images + " --quiet --db " + db + " --model " +
                          test::shared_path("fixtures/checkpoints/" + c.model) + " --vocab " + vocab())
                .exit_code,
            0);
  const auto r = test::run_cli("search --db " + db + " --json -k 20 '" + texts[0] + "'");
  ASSERT_EQ(r.exit_code, 0);
  const auto results = nlohmann::json::parse(r.out)["results"];
  auto cosine = [&](const std::vector<float>& a, const std::vector<float>& b) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < a.size(); ++i) ab += double(a[i]) * b[i], aa += double(a[i]) * a[i], bb += double(b[i]) * b[i];
    return ab / std::sqrt(aa * bb);
  };
  size_t checked = 0;
  for (const auto& hit : results) {
    const std::string stem = fs::path(hit["path"].get<std::string>()).stem().string();
    if (!golden.contains("image_" + stem + "_embeds")) continue;
    EXPECT_NEAR(hit["score"].get<double>(), cosine(row(text_golden, 0, d), golden.get("image_" + stem + "_embeds").to_f32()), 2e-3)
        << stem;
    ++checked;
  }
  EXPECT_GE(checked, 7u);
}

TEST(TorchCheckpoint, ConvertedModelsGiveIdenticalEmbeddings) {
  for (const auto& c : cases()) {
    const std::string in = test::shared_path("fixtures/checkpoints/" + c.model);
    const std::string out = test::scratch_dir("convert") + "/model";
    const auto r = test::run_cli("model convert " + in + " " + out + " --vocab " + vocab());
    ASSERT_EQ(r.exit_code, 0) << c.model;
    const auto a = model::Model::load(in), b = model::Model::load(out);
    EXPECT_EQ(b->info().container, "safetensors");
    EXPECT_EQ(a->config().signature(), b->config().signature()) << c.model;
    const auto golden = SafeTensors::open(test::shared_path("fixtures/" + c.golden));
    const auto ids = golden.get("text_ids").to_i32();
    const int64_t n = golden.get("text_ids").shape[0];
    EXPECT_EQ(a->encode_texts(ids.data(), n, 77), b->encode_texts(ids.data(), n, 77)) << c.model;
    const auto pixels = golden.get("random_pixels").to_f32();
    const int64_t m = golden.get("random_pixels").shape[0];
    EXPECT_EQ(a->encode_images(pixels.data(), m), b->encode_images(pixels.data(), m)) << c.model;
    // The folder loads on its own: the tokenizer went with it.
    EXPECT_FALSE(model::find_vocab_beside(out).empty()) << c.model;
  }
}

TEST(TorchCheckpoint, ModelsWithoutATokenizerFindOneOrSayHowToGetIt) {
  const std::string pt = test::shared_path("fixtures/checkpoints/vit-tiny/vit-tiny.pt");
  const std::string home = test::scratch_dir("vocab-home");
  const std::string env = "env -u CLIPDEX_VOCAB XDG_CACHE_HOME=" + home + " HOME=" + home + " ";
  // None anywhere: exit 2 with the exact command that gets one.
  const std::string err = home + "/err.txt";
  const std::string cmd = env + CLIPDEX_BINARY + std::string(" embed --model ") + pt + " < /dev/null 2>" + err;
  EXPECT_EQ(WEXITSTATUS(std::system(cmd.c_str())), 2);
  EXPECT_NE(read_file(err).find("clipdex model fetch openai/clip-vit-base-patch32 --tokenizer-only"), std::string::npos)
      << read_file(err);
  // CLIPDEX_VOCAB names one.
  const std::string out = home + "/out.txt";
  const std::string with_env = "env CLIPDEX_VOCAB=" + vocab() + " XDG_CACHE_HOME=" + home + " " + CLIPDEX_BINARY +
                               " model info --json " + pt + " >" + out;
  ASSERT_EQ(std::system(with_env.c_str()), 0);
  EXPECT_EQ(nlohmann::json::parse(read_file(out))["vocab"], vocab());
  // The tokenizer files `model fetch --tokenizer-only` leaves in the cache are found there.
  const fs::path cached = fs::path(home) / "clipdex/models--openai--clip-vit-base-patch32/main";
  fs::create_directories(cached);
  fs::copy_file(test::shared_path("clip/hf-tokenizer/vocab.json"), cached / "vocab.json");
  fs::copy_file(test::shared_path("clip/hf-tokenizer/merges.txt"), cached / "merges.txt");
  const std::string from_cache = env + CLIPDEX_BINARY + " model info --json " + pt + " >" + out;
  ASSERT_EQ(std::system(from_cache.c_str()), 0);
  EXPECT_EQ(nlohmann::json::parse(read_file(out))["vocab"], cached.string());
  EXPECT_EQ(nlohmann::json::parse(read_file(out))["container"], "torchscript");
}

TEST(TorchCheckpoint, HostileFilesAreRefusedAndNothingRuns) {
  std::error_code ec;
  fs::remove(kPwned, ec);
  const std::vector<std::pair<std::string, std::string>> files = {
      {"exec.bin", "global posix.system is not allowed"},
      {"exec-nested.bin", "global posix.system is not allowed"},
      {"exec-legacy.bin", "global posix.system is not allowed"},
      {"truncated.bin", "ZIP"},
      {"oversize.bin", "reads element"},
      {"deep.bin", "not a state dict"},
  };
  for (const auto& [file, message] : files) {
    const std::string path = test::shared_path("fixtures/checkpoints/hostile/" + file);
    try {
      TensorFile::open(path);
      ADD_FAILURE() << file << " was accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << file << ": " << e.what();
    }
    // Through the CLI: a clear error and exit 2, as a folder's weights file too.
    const std::string dir = test::scratch_dir("hostile") + "/model";
    fs::create_directories(dir);
    fs::copy_file(path, dir + "/open_clip_pytorch_model.bin");
    EXPECT_EQ(test::run_cli("embed --model " + dir + " --vocab " + vocab(), "{\"text\": \"x\"}\n").exit_code, 2) << file;
    EXPECT_EQ(test::run_cli("model info " + path).exit_code, 2) << file;
  }
  EXPECT_FALSE(fs::exists(kPwned)) << "a hostile pickle ran a command";
}

// ---- Hand-made archives for the corners of the format -------------------------------------

namespace {

void put_le(std::string& s, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// A stored-only ZIP writer, optionally with ZIP64 end records (as PyTorch writes for big files).
std::string make_zip(const std::vector<std::pair<std::string, std::string>>& records, bool zip64) {
  std::string out, dir;
  for (const auto& [name, data] : records) {
    const uint64_t offset = out.size();
    const uint32_t crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
    std::string h;
    put_le(h, 0x04034b50, 4), put_le(h, 20, 2), put_le(h, 0, 2), put_le(h, 0, 2), put_le(h, 0, 4);
    put_le(h, crc, 4), put_le(h, data.size(), 4), put_le(h, data.size(), 4), put_le(h, name.size(), 2), put_le(h, 0, 2);
    out += h + name + data;
    std::string c;
    put_le(c, 0x02014b50, 4), put_le(c, 20, 2), put_le(c, 20, 2), put_le(c, 0, 2), put_le(c, 0, 2), put_le(c, 0, 4);
    put_le(c, crc, 4), put_le(c, data.size(), 4), put_le(c, data.size(), 4), put_le(c, name.size(), 2);
    put_le(c, 0, 2), put_le(c, 0, 2), put_le(c, 0, 2), put_le(c, 0, 2), put_le(c, 0, 4), put_le(c, offset, 4);
    dir += c + name;
  }
  const uint64_t dir_offset = out.size();
  out += dir;
  if (zip64) {
    const uint64_t end64 = out.size();
    put_le(out, 0x06064b50, 4), put_le(out, 44, 8), put_le(out, 45, 2), put_le(out, 45, 2), put_le(out, 0, 4);
    put_le(out, 0, 4), put_le(out, records.size(), 8), put_le(out, records.size(), 8), put_le(out, dir.size(), 8);
    put_le(out, dir_offset, 8);
    put_le(out, 0x07064b50, 4), put_le(out, 0, 4), put_le(out, end64, 8), put_le(out, 1, 4);
  }
  put_le(out, 0x06054b50, 4), put_le(out, 0, 2), put_le(out, 0, 2);
  put_le(out, zip64 ? 0xFFFF : records.size(), 2), put_le(out, zip64 ? 0xFFFF : records.size(), 2);
  put_le(out, zip64 ? 0xFFFFFFFFu : dir.size(), 4), put_le(out, zip64 ? 0xFFFFFFFFu : dir_offset, 4), put_le(out, 0, 2);
  return out;
}

// Pickle opcodes for a state dict, as torch.save writes them (protocol 2).
struct PickleWriter {
  std::string s = "\x80\x02";
  void global(const std::string& m, const std::string& n) { s += "c" + m + "\n" + n + "\n"; }
  void str(const std::string& v) { s += "X", put_le(s, v.size(), 4), s += v; }
  void integer(int64_t v) { s += "J", put_le(s, static_cast<uint64_t>(v), 4); }
  void ints(const std::vector<int64_t>& v) {
    s += "(";
    for (auto x : v) integer(x);
    s += "t";
  }
  void tensor(const std::string& name, const std::string& storage_type, const std::string& key, int64_t numel,
              int64_t offset, const std::vector<int64_t>& size, const std::vector<int64_t>& stride) {
    str(name);
    global("torch._utils", "_rebuild_tensor_v2");
    s += "((";
    str("storage");
    global("torch", storage_type);
    str(key);
    str("cpu");
    integer(numel);
    s += "tQ";
    integer(offset);
    ints(size);
    ints(stride);
    s += "\x89";
    global("collections", "OrderedDict");
    s += ")Rt";  // backward hooks, then the argument tuple
    s += "R";
    s += "s";
  }
};

std::string raw(const std::vector<double>& v) { return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 8); }
std::string raw(const std::vector<int64_t>& v) { return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 8); }
std::string raw(const std::vector<float>& v) { return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4); }

std::string write_archive(const std::string& name, const std::string& bytes) {
  const std::string path = test::scratch_dir("torch-made") + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

}  // namespace

TEST(TorchCheckpoint, ViewsStridesDtypesAndNewerArchiveLayouts) {
  PickleWriter p;
  p.global("collections", "OrderedDict");
  p.s += ")R";
  p.tensor("transposed", "DoubleStorage", "0", 6, 0, {3, 2}, {1, 3});  // a .t() of a [2, 3] tensor
  p.tensor("ids", "LongStorage", "1", 4, 0, {4}, {1});
  p.tensor("tail", "FloatStorage", "2", 5, 3, {2}, {1});  // a view at storage offset 3
  p.tensor("scalar", "FloatStorage", "2", 5, 1, {}, {});
  p.s += ".";
  const std::vector<std::pair<std::string, std::string>> records = {
      {"my_model/data.pkl", p.s},
      {"my_model/.format_version", "1"},
      {"my_model/.storage_alignment", "64"},
      {"my_model/byteorder", "little"},
      {"my_model/data/0", raw(std::vector<double>{1, 2, 3, 4, 5, 6})},
      {"my_model/data/1", raw(std::vector<int64_t>{7, -8, 9, 10})},
      {"my_model/data/2", raw(std::vector<float>{0.5f, 1.5f, 2.5f, 3.5f, 4.5f})},
      {"my_model/version", "3\n"},
      {"my_model/.data/serialization_id", "1234"},
  };
  for (const bool zip64 : {false, true}) {
    const auto f = TensorFile::open(write_archive(zip64 ? "zip64.bin" : "plain.bin", make_zip(records, zip64)));
    ASSERT_EQ(f.tensors().size(), 4u);
    EXPECT_EQ(f.get("transposed").shape, (std::vector<int64_t>{3, 2}));
    EXPECT_EQ(f.get("transposed").to_f32(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
    EXPECT_EQ(f.get("ids").dtype, DType::I64);
    EXPECT_EQ(f.get("ids").to_i32(), (std::vector<int32_t>{7, -8, 9, 10}));
    EXPECT_EQ(f.get("tail").to_f32(), (std::vector<float>{3.5f, 4.5f}));
    EXPECT_EQ(f.get("scalar").to_f32(), (std::vector<float>{1.5f}));
  }

  // A storage whose declared size differs from its record, a container mutated as another type,
  // and a big-endian archive are each refused by name.
  auto refused = [&](std::vector<std::pair<std::string, std::string>> recs, const std::string& message) {
    try {
      TensorFile::open(write_archive("bad.bin", make_zip(recs, false)));
      ADD_FAILURE() << "accepted; expected: " << message;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  };
  auto short_storage = records;
  short_storage[6].second = raw(std::vector<float>{1, 2, 3});
  refused(short_storage, "declares 5 elements");
  auto big_endian = records;
  big_endian[3].second = "big";
  refused(big_endian, "big-endian");
  PickleWriter q;
  q.s += "]";  // a list ...
  q.str("k");
  q.str("v");
  q.s += "s.";  // ... given a dict item
  refused({{"m/data.pkl", q.s}}, "SETITEM on a list");
  PickleWriter r;
  r.global("builtins", "eval");
  r.s += ".";
  refused({{"m/data.pkl", r.s}}, "global builtins.eval is not allowed");
}
