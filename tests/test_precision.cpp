// The reduced-precision kernels and their run-time choice: every backend against the portable
// OpenBLAS path on random layers (shapes with ragged blocks), every precision against the
// reference implementation's goldens on the fixture models, retrieval on the fixture eval set,
// and what a library remembers. Passes on any x86-64 CPU: modes the CPU lacks natively run
// emulated in oneDNN, and the test says which path it checked.
#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <filesystem>
#include <map>
#include <sstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/half.h"
#include "core/safetensors.h"
#include "core/thread_pool.h"
#include "kernels/backend.h"
#include "kernels/bf16_rows.h"
#include "kernels/cpu_features.h"
#include "kernels/fast_math.h"
#include "model/clip_model.h"
#include "test_util.h"

using namespace clipdex;
using kernels::Activation;
using kernels::Precision;

namespace {

double cosine(const float* a, const float* b, int64_t d) {
  double ab = 0, aa = 0, bb = 0;
  for (int64_t i = 0; i < d; ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

double min_row_cosine(const std::vector<float>& a, const std::vector<float>& b, int64_t d) {
  double worst = 1.0;
  for (size_t r = 0; r < a.size() / d; ++r) worst = std::min(worst, cosine(&a[r * d], &b[r * d], d));
  return worst;
}

kernels::LinearWeights random_layer(int64_t out, int64_t in, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f / std::sqrt(static_cast<float>(in)));
  kernels::LinearWeights w;
  w.weight = kernels::Tensor({out, in});
  w.bias = kernels::Tensor({out});
  for (auto& v : w.weight.data) v = dist(rng);
  for (auto& v : w.bias.data) v = dist(rng);
  return w;
}

// The minimum agreement each precision promises (docs/PRECISION.md).
double required_cosine(Precision p) { return p == Precision::Fp32 ? 0.99999 : p == Precision::Bf16 ? 0.999 : 0.99; }

}  // namespace

TEST(FastMath, ExpAndErfMatchLibm) {
  double exp_err = 0, erf_err = 0, coarse_err = 0;
  for (float x = -87.0f; x < 88.0f; x += 0.0137f)
    exp_err = std::max(exp_err, std::abs(kernels::fast_exp(x) - std::exp(double(x))) / std::exp(double(x)));
  for (float x = -8.0f; x < 8.0f; x += 0.00113f) {
    erf_err = std::max(erf_err, std::abs(kernels::fast_erf(x) - std::erf(double(x))));
    coarse_err = std::max(coarse_err, std::abs(kernels::fast_erf_coarse(x) - std::erf(double(x))));
  }
  EXPECT_LT(exp_err, 5e-7);
  EXPECT_LT(erf_err, 1e-6);
  EXPECT_LT(coarse_err, 2e-6);  // for bf16 outputs, whose unit is 4e-3 of the value
  EXPECT_EQ(kernels::fast_exp(-1000.0f) > 0.0f, true);  // saturates instead of going to 0 / denormal
  EXPECT_TRUE(std::isfinite(kernels::fast_exp(1000.0f)));
  for (float huge : {1e30f, std::numeric_limits<float>::infinity()}) {  // its power overflows: still +-1
    EXPECT_EQ(kernels::fast_erf(huge), 1.0f);
    EXPECT_EQ(kernels::fast_erf(-huge), -1.0f);
    EXPECT_EQ(kernels::fast_erf_coarse(huge), 1.0f);
    EXPECT_EQ(kernels::fast_erf_coarse(-huge), -1.0f);
  }
}

TEST(FastMath, ActivationsMatchTheirDefinitions) {
  std::vector<float> x;
  for (float v = -12.0f; v < 12.0f; v += 0.01f) x.push_back(v);
  for (auto act : {Activation::Gelu, Activation::QuickGelu, Activation::Relu}) {
    auto y = x;
    kernels::apply_activation(y.data(), static_cast<int64_t>(y.size()), act);
    for (size_t i = 0; i < x.size(); ++i) {
      const double v = x[i];
      const double want = act == Activation::Gelu        ? 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)))
                          : act == Activation::QuickGelu ? v / (1 + std::exp(-1.702 * v))
                                                         : std::max(v, 0.0);
      ASSERT_NEAR(y[i], want, 2e-6 * std::max(1.0, std::abs(want))) << int(act) << " at " << v;
    }
  }
}

// Rounding to bf16 through the CPU's conversion (AVX512_BF16) gives f32_to_bf16's bits for every
// value but denormals (flushed to a zero of their sign there): random bit patterns, ties to even
// and odd, the float range's ends, infinities and NaNs; and the rows made a chunk at a time
// (write_bf16_row) around the chunk's size, whichever path this CPU takes.
TEST(Bf16Rounding, TheCpusConversionMatchesTheDefinition) {
  std::vector<uint32_t> bits = {0x00000000u, 0x80000000u, 0x3f808000u, 0x3f818000u, 0x7f7fffffu, 0xff7fffffu,
                                0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7f800001u, 0xffa00000u, 0x00800000u,
                                0x00000001u, 0x807fffffu, 0x3f7fffffu};
  std::mt19937 rng(5);
  for (int i = 0; i < 200000; ++i) bits.push_back(static_cast<uint32_t>(rng()));
  std::vector<float> values(bits.size());
  for (size_t i = 0; i < bits.size(); ++i) values[i] = std::bit_cast<float>(bits[i]);
  const auto denormal = [](uint32_t b) { return (b & 0x7f800000u) == 0 && (b & 0x007fffffu) != 0; };
  std::vector<uint16_t> got(values.size());
  kernels::narrow_to_bf16(values.data(), values.size(), got.data());
  for (size_t i = 0; i < values.size(); ++i) {
    const uint16_t want = denormal(bits[i]) && kernels::has_bf16_conversion()
                              ? static_cast<uint16_t>((bits[i] >> 16) & 0x8000u)
                              : f32_to_bf16(values[i]);
    ASSERT_EQ(got[i], want) << std::hex << "bits 0x" << bits[i];
  }
  for (int64_t n : {1, 15, 16, 17, 511, 512, 513, 1300}) {
    std::vector<uint16_t> row(static_cast<size_t>(n));
    kernels::write_bf16_row(n, row.data(), [&](int64_t j) { return values[static_cast<size_t>(j)] * 0.5f + 1.0f; });
    for (int64_t j = 0; j < n; ++j) {
      const float v = values[static_cast<size_t>(j)] * 0.5f + 1.0f;
      if (std::isnan(v)) continue;
      ASSERT_EQ(row[static_cast<size_t>(j)], f32_to_bf16(v)) << "n=" << n << " at " << j;
    }
  }
}

// Every precision's linear layer against the portable fp32 path, for row counts that hit the
// single-row, partial-block and many-block cases, with and without bias and activation.
TEST(PrecisionKernels, LinearAgreesWithThePortablePath) {
  const auto portable = kernels::make_cpu_backend();
  std::cout << "[ cpu ] " << kernels::cpu_features().model << " (" << kernels::cpu_features().summary()
            << "), oneDNN ISA " << kernels::cpu_features().onednn_isa << "\n";
  for (Precision asked : {Precision::Fp32, Precision::Bf16, Precision::Int8}) {
    // bf16 runs as fp32 where the CPU has no bf16 kernel (AVX2 only): then that is what is checked.
    const auto be = kernels::make_backend(asked);
    const Precision p = be->precision();
    std::cout << "[ kernels ] " << be->kernels() << "\n";
    for (auto [out, in] : {std::pair<int64_t, int64_t>{200, 130}, {64, 64}, {1536, 512}}) {
      auto reference = random_layer(out, in, 11);
      auto layer = random_layer(out, in, 11);
      be->prepare(layer);
      for (int64_t m : {1, 7, 33, 257}) {
        std::mt19937 rng(static_cast<uint32_t>(m));
        std::normal_distribution<float> dist(0.0f, 1.0f);
        std::vector<float> x(static_cast<size_t>(m * in));
        for (auto& v : x) v = dist(rng);
        for (auto act : {Activation::None, Activation::Gelu}) {
          std::vector<float> want(static_cast<size_t>(m * out)), got(want.size(), -1.0f);
          portable->linear_f32(x.data(), m, reference, want.data(), act);
          be->linear_f32(x.data(), m, layer, got.data(), act);
          EXPECT_GE(min_row_cosine(got, want, out), required_cosine(p))
              << to_string(p) << " " << out << "x" << in << " m=" << m << " act=" << int(act);
        }
        // The residual form, y += x·Wᵀ + b: what it added must be the same product.
        std::vector<float> want(static_cast<size_t>(m * out)), stream(want.size());
        portable->linear_f32(x.data(), m, reference, want.data(), Activation::None);
        for (auto& v : stream) v = dist(rng);
        auto added = stream;
        be->linear({x.data()}, m, layer, {added.data()}, Activation::None, /*accumulate=*/true);
        for (size_t i = 0; i < added.size(); ++i) added[i] -= stream[i];
        EXPECT_GE(min_row_cosine(added, want, out), required_cosine(p))
            << to_string(p) << " accumulate " << out << "x" << in << " m=" << m;
      }
    }
  }
}

// Activations that only GEMMs read (Role::GemmInput: layer-norm, attention and MLP outputs) are
// bf16 on the bf16 and int8 backends: each op that writes one rounds once, each GEMM reads it as
// it is. Layer norm -> linear + GELU -> residual linear, and attention -> linear, through such
// buffers agree with the portable fp32 ops; the portable backend also takes bf16 views.
TEST(PrecisionKernels, GemmInputBuffersAgreeWithFp32) {
  const auto portable = kernels::make_cpu_backend();
  const auto widened = [](kernels::View v, int64_t n) {
    std::vector<float> out(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      out[i] = v.type == kernels::ElementType::BF16 ? bf16_to_f32(v.bf16()[i]) : v.f32()[i];
    return out;
  };
  const int64_t m = 37, width = 96, hidden = 384, heads = 4;
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(m * width), qkv(m * 3 * width), gamma(width), beta(width);
  for (auto* v : {&x, &qkv, &gamma, &beta})
    for (auto& e : *v) e = dist(rng);
  kernels::SequenceLayout seqs{{0, 20, 37}};
  // The fp32 reference, op by op.
  auto fc_ref = random_layer(hidden, width, 21), proj_ref = random_layer(width, hidden, 22);
  std::vector<float> h(m * width), mid(m * hidden), y(m * width), attn(m * width);
  portable->layer_norm_f32(x.data(), m, width, gamma.data(), beta.data(), 1e-5f, h.data());
  portable->linear_f32(h.data(), m, fc_ref, mid.data(), Activation::Gelu);
  portable->linear_f32(mid.data(), m, proj_ref, y.data(), Activation::None);
  portable->attention_f32(qkv.data(), seqs, width, heads, false, attn.data());

  std::vector<std::unique_ptr<kernels::HostBackend>> backends;
  backends.push_back(kernels::make_cpu_backend());
  for (Precision p : {Precision::Fp32, Precision::Bf16, Precision::Int8}) backends.push_back(kernels::make_backend(p));
  for (auto& be : backends) {
    const Precision p = be->precision();
    auto fc = random_layer(hidden, width, 21), proj = random_layer(width, hidden, 22);
    be->prepare(fc);
    be->prepare(proj);
    const auto gh = be->alloc(m * width, kernels::Role::GemmInput), gmid = be->alloc(m * hidden, kernels::Role::GemmInput),
               gattn = be->alloc(m * width, kernels::Role::GemmInput);
    const bool reduced = gh.view.type == kernels::ElementType::BF16;
    std::cout << "[ gemm input ] " << be->kernels() << ": " << (reduced ? "bf16" : "fp32") << "\n";
    EXPECT_EQ(reduced, be->name() != "cpu-fp32" && p != Precision::Fp32) << be->name();
    const auto gamma_b = be->upload(gamma.data(), width), beta_b = be->upload(beta.data(), width),
               x_b = be->upload(x.data(), m * width), qkv_b = be->upload(qkv.data(), m * 3 * width);
    be->layer_norm(x_b.view, m, width, gamma_b.view, beta_b.view, 1e-5f, gh.view);
    // Layer norm's own rounding: bf16 keeps 8 significant bits.
    const auto got_h = widened(gh.view, m * width);
    for (size_t i = 0; i < h.size(); ++i) ASSERT_NEAR(got_h[i], h[i], (reduced ? 0x1p-8f : 1e-6f) * (std::fabs(h[i]) + 1e-3f)) << i;
    be->linear(gh.view, m, fc, gmid.view, Activation::Gelu);
    EXPECT_GE(min_row_cosine(widened(gmid.view, m * hidden), mid, hidden), required_cosine(p)) << be->kernels();
    {  // layer norm and linear as one op (fused in int8: each row normalised and quantised at once)
      const auto h2 = be->alloc(m * width, kernels::Role::GemmInput), mid2 = be->alloc(m * hidden, kernels::Role::GemmInput);
      be->layer_norm_linear(x_b.view, m, width, gamma_b.view, beta_b.view, 1e-5f, h2.view, fc, mid2.view,
                            Activation::Gelu);
      EXPECT_GE(min_row_cosine(widened(mid2.view, m * hidden), mid, hidden), required_cosine(p)) << be->kernels();
    }
    std::vector<float> stream(m * width, 0.0f);
    be->linear(gmid.view, m, proj, {stream.data()}, Activation::None, /*accumulate=*/true);
    EXPECT_GE(min_row_cosine(stream, y, width), required_cosine(p)) << be->kernels();
    be->attention(qkv_b.view, seqs, width, heads, false, gattn.view);
    EXPECT_GE(min_row_cosine(widened(gattn.view, m * width), attn, width), reduced ? 0.9999 : 0.999999) << be->kernels();
  }
  // The portable backend given bf16 views by hand: widened in, rounded out.
  std::vector<uint16_t> h16(h.size()), mid16(mid.size());
  for (size_t i = 0; i < h.size(); ++i) h16[i] = f32_to_bf16(h[i]);
  portable->linear({h16.data(), kernels::ElementType::BF16}, m, fc_ref, {mid16.data(), kernels::ElementType::BF16},
                   Activation::Gelu);
  EXPECT_GE(min_row_cosine(widened({mid16.data(), kernels::ElementType::BF16}, m * hidden), mid, hidden), 0.999);
}

// The patch embedding's input: pixels cut into patches, into an fp32 buffer as they are and into
// a bf16 GemmInput buffer (the bf16 and int8 backends) rounded once.
TEST(PrecisionKernels, PatchRowsFillGemmInputBuffers) {
  const kernels::PatchGeometry g{2, 8, 4};
  std::vector<float> pixels(static_cast<size_t>(g.images * 3 * g.size * g.size));
  std::mt19937 rng(4);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (auto& v : pixels) v = dist(rng);
  const int64_t count = g.patches() * g.patch_values();
  std::vector<float> want(static_cast<size_t>(count));
  // Patch (img, gy, gx), column (c, ky, kx) = pixel (img, c, gy * p + ky, gx * p + kx).
  for (int64_t img = 0; img < g.images; ++img)
    for (int64_t gy = 0; gy < g.grid(); ++gy)
      for (int64_t gx = 0; gx < g.grid(); ++gx)
        for (int64_t c = 0; c < 3; ++c)
          for (int64_t ky = 0; ky < g.patch; ++ky)
            for (int64_t kx = 0; kx < g.patch; ++kx)
              want[((img * g.grid() + gy) * g.grid() + gx) * g.patch_values() + (c * g.patch + ky) * g.patch + kx] =
                  pixels[((img * 3 + c) * g.size + gy * g.patch + ky) * g.size + gx * g.patch + kx];
  for (Precision p : {Precision::Fp32, Precision::Bf16}) {
    const auto be = kernels::make_backend(p);
    const auto px = be->upload(pixels.data(), static_cast<int64_t>(pixels.size()));
    const auto cols = be->alloc(count, kernels::Role::GemmInput);
    be->patch_rows(px.view, g, cols.view);
    for (int64_t i = 0; i < count; ++i) {
      const float got = cols.view.type == kernels::ElementType::BF16 ? bf16_to_f32(cols.view.bf16()[i]) : cols.view.f32()[i];
      const float expected = cols.view.type == kernels::ElementType::BF16 ? bf16_to_f32(f32_to_bf16(want[i])) : want[i];
      ASSERT_EQ(got, expected) << to_string(p) << " value " << i;
    }
  }
}

// A backend makes a matmul per row count it meets and starts its set afresh past a bound: a run
// through more row counts than that (every batch size up to 1,100 rows) stays correct throughout.
TEST(PrecisionKernels, ManyRowCountsStayCorrect) {
  const ThreadPool::Limit one_thread(1);  // one task per call: each m is a row count of its own
  const auto portable = kernels::make_cpu_backend();
  const auto be = kernels::make_backend(Precision::Fp32);
  auto reference = random_layer(64, 48, 5);
  auto layer = random_layer(64, 48, 5);
  be->prepare(layer);
  std::mt19937 rng(9);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(1100 * 48);
  for (auto& v : x) v = dist(rng);
  double worst = 1.0;
  for (int64_t m = 1; m <= 1100; ++m) {
    std::vector<float> want(static_cast<size_t>(m * 64)), got(want.size());
    portable->linear_f32(x.data(), m, reference, want.data(), Activation::None);
    be->linear_f32(x.data(), m, layer, got.data(), Activation::None);
    worst = std::min(worst, min_row_cosine(got, want, 64));
  }
  EXPECT_GE(worst, required_cosine(Precision::Fp32));
}

TEST(PrecisionKernels, AutoPicksAMeasuredModeAndNeverInt8) {
  const Precision p = kernels::resolve_auto_precision();
  EXPECT_TRUE(p == Precision::Fp32 || p == Precision::Bf16);
  // Without native bf16 the emulated path is slower than fp32 (measured), so it is not even timed.
  if (!kernels::cpu_features().avx512_bf16) {
    EXPECT_EQ(p, Precision::Fp32);
  }
  std::cout << "[ auto ] " << to_string(p) << " on " << kernels::cpu_features().summary() << "\n";
}

// Each precision against the reference implementation's float64 goldens.
TEST(PrecisionParity, EveryModeAgreesWithTheReferenceOnTheFixtureModels) {
  for (const std::string name : {"vit-tiny", "vit-b32-1layer-f16", "rn-tiny"}) {
    const auto golden = SafeTensors::open(test::shared_path("fixtures/models/" + name + "/golden.safetensors"));
    const auto pixels = golden.get("random_pixels").to_f32();
    const auto ids = golden.get("text_ids").to_i32();
    const auto want_img = golden.get("random_pixels_embeds").to_f32();
    const auto want_txt = golden.get("text_embeds").to_f32();
    for (bool portable : {true, false}) {
      for (Precision p : {Precision::Fp32, Precision::Bf16, Precision::Int8}) {
        if (portable && p != Precision::Fp32) continue;
        model::LoadOptions opt;
        opt.precision = p;
        opt.portable_kernels = portable;
        const auto m = model::Model::load(test::shared_path("fixtures/models/" + name), opt);
        const int64_t d = m->embed_dim();
        const double img = min_row_cosine(m->encode_images(pixels.data(), 3), want_img, d);
        const double txt = min_row_cosine(m->encode_texts(ids.data(), 6, 77), want_txt, d);
        std::cout << "[ agreement ] " << name << " " << m->info().kernels << (portable ? " (portable)" : "")
                  << ": min cos image " << img << ", text " << txt << "\n";
        EXPECT_GE(img, required_cosine(p)) << name << " " << to_string(p);
        EXPECT_GE(txt, required_cosine(p)) << name << " " << to_string(p);
        EXPECT_TRUE(m->info().precision == to_string(p) ||
                    (p == Precision::Bf16 && m->info().kernels.find("bf16 asked for") != std::string::npos))
            << m->info().kernels;
      }
    }
  }
}

// A batch larger than one tower pass (at most 32 images on any CPU) runs in several passes, on
// a CPU with more than one pool thread each thread its own share (model/passes.h): each image's
// embedding is the one it gets alone, in every mode, and matches the goldens.
TEST(PrecisionParity, ImagesBeyondOnePassEmbedAsAlone) {
  const std::string path = test::shared_path("fixtures/models/vit-tiny");
  const auto golden = SafeTensors::open(path + "/golden.safetensors");
  const auto three = golden.get("random_pixels").to_f32();
  const auto want = golden.get("random_pixels_embeds").to_f32();
  const int64_t n = 37, values = static_cast<int64_t>(three.size()) / 3;
  std::vector<float> pixels;
  for (int64_t i = 0; i < n; ++i)
    pixels.insert(pixels.end(), three.begin() + (i % 3) * values, three.begin() + (i % 3 + 1) * values);
  for (const bool portable : {false, true}) {
    for (Precision p : {Precision::Fp32, Precision::Bf16, Precision::Int8}) {
      if (portable && p != Precision::Fp32) continue;
      model::LoadOptions opt;
      opt.precision = p;
      opt.portable_kernels = portable;
      const auto m = model::Model::load(path, opt);
      const int64_t d = m->embed_dim();
      const auto all = m->encode_images(pixels.data(), n);
      const std::string mode = to_string(p) + (portable ? " (portable)" : "");
      for (int64_t i = 0; i < n; ++i) {
        const auto alone = m->encode_images(pixels.data() + i * values, 1);
        EXPECT_GE(cosine(&all[i * d], alone.data(), d), 0.99999) << mode << " image " << i;
        EXPECT_GE(cosine(&all[i * d], &want[(i % 3) * d], d), required_cosine(p)) << mode << " image " << i;
      }
    }
  }
}

// Texts likewise: a batch of 37 captions (per-thread passes on a CPU with several pool threads)
// embeds each caption as it does alone, in every mode, and matches the goldens.
TEST(PrecisionParity, TextsInPassesEmbedAsAlone) {
  const std::string path = test::shared_path("fixtures/models/vit-tiny");
  const auto golden = SafeTensors::open(path + "/golden.safetensors");
  const auto six = golden.get("text_ids").to_i32();
  const auto want = golden.get("text_embeds").to_f32();
  const int64_t n = 37, context = 77, distinct = static_cast<int64_t>(six.size()) / context;
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < n; ++i)
    ids.insert(ids.end(), six.begin() + (i % distinct) * context, six.begin() + (i % distinct + 1) * context);
  for (Precision p : {Precision::Fp32, Precision::Bf16, Precision::Int8}) {
    model::LoadOptions opt;
    opt.precision = p;
    const auto m = model::Model::load(path, opt);
    const int64_t d = m->embed_dim();
    const auto all = m->encode_texts(ids.data(), n, context);
    for (int64_t i = 0; i < n; ++i) {
      const auto alone = m->encode_texts(ids.data() + i * context, 1, context);
      EXPECT_GE(cosine(&all[i * d], alone.data(), d), 0.99999) << to_string(p) << " text " << i;
      EXPECT_GE(cosine(&all[i * d], &want[(i % distinct) * d], d), required_cosine(p)) << to_string(p) << " text " << i;
    }
  }
}

// The XLM-R text tower (its own embedding lookup; in bf16 and int8 a bf16 word table read by
// Checkpoint::take_bf16 in pieces — six for this fixture's table) in every mode against
// open_clip's goldens.
TEST(PrecisionParity, XlmrTextTowerAgreesInEveryMode) {
  const std::string path = test::shared_path("fixtures/multilingual/xlmr-vit-tiny");
  const auto golden = SafeTensors::open(path + "/golden.safetensors");
  const auto ids = golden.get("text_ids").to_i32();
  const auto want = golden.get("text_embeds").to_f32();
  for (Precision p : {Precision::Fp32, Precision::Bf16, Precision::Int8}) {
    model::LoadOptions opt;
    opt.precision = p;
    const auto m = model::Model::load(path, opt);
    const double txt = min_row_cosine(m->encode_texts(ids.data(), 8, 77), want, m->embed_dim());
    std::cout << "[ agreement ] xlmr-vit-tiny " << m->info().kernels << ": min cos text " << txt << "\n";
    EXPECT_GE(txt, required_cosine(p)) << to_string(p);
  }
}

TEST(PrecisionParity, ModelIdSeparatesInt8Only) {
  const std::string path = test::shared_path("fixtures/models/vit-tiny");
  auto load = [&](Precision p) {
    model::LoadOptions opt;
    opt.precision = p;
    return model::Model::load(path, opt)->model_id();
  };
  EXPECT_EQ(load(Precision::Fp32), load(Precision::Bf16));
  EXPECT_EQ(load(Precision::Int8), load(Precision::Fp32) + "+int8");
}

// Retrieval, not only cosine: Recall@K from `clipdex eval` on the fixture eval set within one
// point of fp32. The fixture models have random weights, so some captions' scores tie to within
// the reduced mode's error, and a decision may flip only there. Each such near-tie (scores from
// `clipdex embed` in both modes) widens the allowance by one caption, so a flip of a clear
// decision fails the test.
TEST(PrecisionCli, RecallOnTheFixtureEvalSetMatchesFp32) {
  const std::string dir = test::scratch_dir("precision-eval");
  test::write_fixture_caption_set(dir + "/c.jsonl");
  const std::string images = test::shared_path("fixtures/images");
  const std::string model = test::shared_path("fixtures/models/vit-tiny/hf");
  const auto& files = test::fixture_image_files();
  const auto& captions = test::fixture_image_captions();
  std::string embed_in;
  for (const auto& f : files) embed_in += nlohmann::json{{"image", images + "/" + f}}.dump() + "\n";
  std::vector<std::string> texts;
  for (const auto& [a, b] : captions)
    for (const auto& c : {a, b}) {
      embed_in += nlohmann::json{{"text", c}}.dump() + "\n";
      texts.push_back(c);
    }
  // Unit embeddings per mode from `clipdex embed`: rows are the images, then the captions.
  auto embed = [&](const std::string& p) { return test::embed_with_cli(model, embed_in, p); };
  const size_t n_img = files.size(), n_cap = texts.size();
  auto scores = [&](const std::vector<std::vector<float>>& v) {  // [caption][image]
    std::vector<std::vector<double>> s(n_cap, std::vector<double>(n_img));
    for (size_t c = 0; c < n_cap; ++c)
      for (size_t i = 0; i < n_img; ++i) s[c][i] = cosine(v[n_img + c].data(), v[i].data(), int64_t(v[i].size()));
    return s;
  };
  const auto v = embed("fp32");
  ASSERT_EQ(v.size(), n_img + n_cap);
  const auto s32 = scores(v);

  std::map<std::string, nlohmann::json> result;
  for (const std::string p : {"fp32", "bf16", "int8"}) {
    const auto r = test::run_cli("eval retrieval --json --precision " + p + " --model " + model + " --captions " + dir +
                                 "/c.jsonl --images " + images);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    result[p] = nlohmann::json::parse(r.out);
  }
  for (const std::string p : {"bf16", "int8"}) {
    // A decision can flip only where two fp32 scores are closer than the mode moved them.
    const auto sp = scores(embed(p));
    double moved = 0;
    for (size_t c = 0; c < n_cap; ++c)
      for (size_t i = 0; i < n_img; ++i) moved = std::max(moved, std::abs(sp[c][i] - s32[c][i]));
    for (int k : {1, 5}) {
      // text → image: caption c finds image c/2 in its top k unless k others outscore it.
      size_t near_ties = 0;
      for (size_t c = 0; c < n_cap; ++c) {
        std::vector<double> others;
        for (size_t i = 0; i < n_img; ++i)
          if (i != c / 2) others.push_back(s32[c][i]);
        std::sort(others.rbegin(), others.rend());
        if (std::abs(s32[c][c / 2] - others[static_cast<size_t>(k - 1)]) < 2 * moved) ++near_ties;
      }
      const std::string ks = std::to_string(k);
      const double got = result[p]["text_to_image"]["recall"][ks].get<double>();
      const double want = result["fp32"]["text_to_image"]["recall"][ks].get<double>();
      std::cout << "[ recall ] " << p << " text->image R@" << k << " " << got << " (fp32 " << want << "; scores moved <= " << moved
                << ", " << near_ties << " of " << n_cap << " captions within twice that)\n";
      EXPECT_LE(std::abs(got - want), std::max(1.0, 100.0 * double(near_ties) / double(n_cap)) + 1e-9)
          << p << " R@" << k;
    }
  }
}

// A library indexed in int8 is searched in int8 unless told otherwise, and refuses fp32 vectors
// with a message that names the fix.
TEST(PrecisionCli, LibraryRemembersInt8AndRefusesMixing) {
  const std::string dir = test::scratch_dir("precision-lib");
  const std::string db = dir + "/lib.db";
  const std::string model = test::shared_path("fixtures/models/vit-tiny/hf");
  const std::string images = test::shared_path("fixtures/images");
  ASSERT_EQ(test::run_cli("index " + images + " --quiet --precision int8 --db " + db + " --model " + model).exit_code, 0);
  const auto plain = test::run_cli("search \"a cat\" --json --db " + db);
  EXPECT_EQ(plain.exit_code, 0) << plain.out;
  const auto fp32 = test::run_cli("search \"a cat\" --precision fp32 --db " + db);
  EXPECT_EQ(fp32.exit_code, 2);
  const auto more = test::run_cli("index " + images + " --quiet --precision fp32 --db " + db);
  EXPECT_EQ(more.exit_code, 2);
  const auto info = test::run_cli("model info --json --precision int8 " + model);
  ASSERT_EQ(info.exit_code, 0);
  const auto j = nlohmann::json::parse(info.out);
  EXPECT_EQ(j["precision"], "int8");
  EXPECT_NE(j["kernels"].get<std::string>().find("int8"), std::string::npos);
}

// Reduced-scale JPEG decode (the default) against --exact-decode on the repository's sample
// photographs: the embeddings agree to cosine >= 0.995, the bound docs/PRECISION.md states.
TEST(PrecisionCli, ReducedDecodeEmbeddingsAgreeWithExactDecode) {
  std::string input;
  int photos = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(CLIPDEX_SOURCE_DIR) + "/samples"))
    if (entry.path().extension() == ".jpg") {
      input += nlohmann::json{{"image", entry.path().string()}}.dump() + "\n";
      ++photos;
    }
  ASSERT_GE(photos, 10);
  const std::string model = test::shared_path("fixtures/models/vit-tiny/hf");
  const auto fast = test::embed_with_cli(model, input);
  const auto exact = test::embed_with_cli(model, input, "fp32", "--exact-decode");
  ASSERT_EQ(fast.size(), exact.size());
  double worst = 1.0;
  int rows = 0;
  for (size_t i = 0; i < fast.size(); ++i, ++rows)
    worst = std::min(worst, cosine(fast[i].data(), exact[i].data(), int64_t(fast[i].size())));
  EXPECT_EQ(rows, photos);
  std::cout << "[ decode ] reduced vs exact JPEG decode, " << rows << " photos: min cos " << worst << "\n";
  EXPECT_GE(worst, 0.995);
  EXPECT_LT(worst, 1.0);  // the samples are 512 px: they do decode at half scale
}
