// safetensors reader: the fixture files parse, round trips are exact, hostile headers are rejected.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/half.h"
#include "core/safetensors.h"
#include "test_util.h"

using namespace clipdex;

namespace {

std::vector<uint8_t> make_file(const std::string& header, size_t data_bytes, uint64_t declared_len = 0) {
  std::vector<uint8_t> f(8 + header.size() + data_bytes, 0);
  uint64_t n = declared_len ? declared_len : header.size();
  for (int i = 0; i < 8; ++i) f[i] = static_cast<uint8_t>(n >> (8 * i));
  std::memcpy(f.data() + 8, header.data(), header.size());
  return f;
}

std::string parse_error(const std::vector<uint8_t>& bytes) {
  try {
    SafeTensors::parse(bytes);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(SafeTensors, ReadsFixtureModel) {
  auto st = SafeTensors::open(test::shared_path("fixtures/models/vit-tiny/open_clip_model.safetensors"));
  const auto& t = st.get("visual.conv1.weight");
  EXPECT_EQ(t.dtype, DType::F32);
  EXPECT_EQ(t.shape, (std::vector<int64_t>{128, 3, 32, 32}));
  EXPECT_EQ(st.metadata().at("format"), "pt");
  auto golden = SafeTensors::open(test::shared_path("fixtures/models/vit-tiny/golden.safetensors"));
  EXPECT_EQ(golden.get("text_ids").dtype, DType::I32);
  EXPECT_EQ(golden.get("text_ids").to_i32()[0], 49406);
}

TEST(SafeTensors, ReadsHalfPrecision) {
  auto f16 = SafeTensors::open(test::shared_path("fixtures/models/vit-b32-1layer-f16/open_clip_model.safetensors"));
  EXPECT_EQ(f16.get("visual.proj").dtype, DType::F16);
  auto bf16 = SafeTensors::open(test::shared_path("fixtures/models/rn-tiny/open_clip_model.safetensors"));
  const auto& scale = bf16.get("logit_scale");
  EXPECT_EQ(scale.dtype, DType::BF16);
  uint16_t raw;
  std::memcpy(&raw, scale.bytes.data(), 2);
  uint32_t bits = uint32_t{raw} << 16;
  float expected;
  std::memcpy(&expected, &bits, 4);
  EXPECT_EQ(scale.to_f32()[0], expected);
  EXPECT_TRUE(std::isfinite(expected) && expected != 0.0f);
}

TEST(SafeTensors, RoundTrip) {
  const std::string path = test::scratch_dir("st") + "/t.safetensors";
  std::vector<float> v = {1.5f, -2.25f, 3.0f, 0.0f, 1e-7f, 65504.0f};
  write_safetensors(path, {{"a", make_f32_tensor({2, 3}, v)}}, {{"k", "v"}});
  auto st = SafeTensors::open(path);
  EXPECT_EQ(st.get("a").to_f32(), v);
  EXPECT_EQ(st.metadata().at("k"), "v");
}

TEST(SafeTensors, HalfConversionsRoundTrip) {
  for (float f : {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f, 0.333251953125f})
    EXPECT_EQ(f16_to_f32(f32_to_f16(f)), f) << f;
  for (float f : {0.0f, 1.0f, -2.5f, 3.140625f}) EXPECT_EQ(bf16_to_f32(f32_to_bf16(f)), f) << f;
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0x0001), 5.9604645e-08f);
}

TEST(SafeTensors, BulkHalfConversionIsExactForEveryValue) {
  std::vector<uint8_t> all(65536 * 2 + 6);  // odd tail: the vector path and the scalar tail
  for (uint32_t h = 0; h < 65539; ++h) {
    const uint16_t v = static_cast<uint16_t>(h);
    std::memcpy(&all[2 * h], &v, 2);
  }
  std::vector<float> out(65539);
  f16_to_f32_array(all.data(), out.data(), out.size());
  for (uint32_t h = 0; h < 65539; ++h) {
    const float want = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(want)) EXPECT_TRUE(std::isnan(out[h])) << h;
    else EXPECT_EQ(std::memcmp(&out[h], &want, 4), 0) << h;
  }
}

TEST(SafeTensors, RejectsHostileFiles) {
  const std::string ok = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_EQ(parse_error(make_file(ok, 8)), "");
  EXPECT_NE(parse_error({1, 2, 3}).find("not a safetensors file"), std::string::npos);
  EXPECT_NE(parse_error(make_file(ok, 8, 1'000'000)).find("past the end"), std::string::npos);
  EXPECT_NE(parse_error(make_file("{not json", 0)).find("not valid JSON"), std::string::npos);
  EXPECT_NE(parse_error(make_file("[1,2]", 0)).find("not a JSON object"), std::string::npos);
  EXPECT_NE(parse_error(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", 8))
                .find("past the data"),
            std::string::npos);
  EXPECT_NE(parse_error(make_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8))
                .find("needs 12 bytes"),
            std::string::npos);
  EXPECT_NE(parse_error(make_file(R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8))
                .find("unsupported dtype"),
            std::string::npos);
  EXPECT_NE(parse_error(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8))
                .find("begin"),
            std::string::npos);
  EXPECT_NE(parse_error(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                  R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                  12))
                .find("overlap"),
            std::string::npos);
  EXPECT_NE(parse_error(make_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8))
                .find("non-negative"),
            std::string::npos);
  EXPECT_NE(parse_error(make_file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],)"
                                  R"("data_offsets":[0,8]}})",
                                  8))
                .find("too large"),
            std::string::npos);
  EXPECT_NE(parse_error(make_file(R"({"__metadata__":{"a":1}})", 0)).find("not a string"), std::string::npos);
  EXPECT_NE(parse_error(make_file(R"({"a":{"dtype":"F32","shape":[2]}})", 8)).find("needs dtype"), std::string::npos);
}

TEST(SafeTensors, MissingTensorNamesIt) {
  auto st = SafeTensors::parse(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8));
  try {
    st.get("visual.proj");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("visual.proj"), std::string::npos);
  }
}
