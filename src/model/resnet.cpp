// ModifiedResNet image tower (OpenAI CLIP RN50 family): a 3-convolution stem with average
// pooling, bottleneck stages whose stride-2 blocks downsample with average pooling
// (anti-aliased), and attention pooling over the final feature map. Activations are kept
// channel-last ([n, h, w, c]) so every convolution is one GEMM over gathered patches; batch
// norm is folded into the convolutions at load.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "model/towers.h"

namespace clipdex::model {
namespace {

constexpr float kBatchNormEps = 1e-5f;

struct FeatureMap {
  int64_t n = 0, h = 0, w = 0, c = 0;
  Tensor data;  // [n, h, w, c]
};

// A convolution (square kernel, stride, padding k/2) with batch norm folded in.
struct Conv {
  int64_t k = 1, stride = 1, in = 0, out = 0;
  LinearWeights lin;  // weight [out, k*k*in] in (ky, kx, c) order

  static Conv load(Checkpoint& ck, HostBackend& be, const std::string& conv, const std::string& bn, int64_t in,
                   int64_t out, int64_t k, int64_t stride, bool keep_precise = false) {
    Conv cv{k, stride, in, out, {}};
    cv.lin.keep_precise = keep_precise;
    const Tensor w = ck.take(conv + ".weight", {out, in, k, k});
    const Tensor gamma = ck.take(bn + ".weight", {out}), beta = ck.take(bn + ".bias", {out});
    const Tensor mean = ck.take(bn + ".running_mean", {out}), var = ck.take(bn + ".running_var", {out});
    cv.lin.weight = Tensor({out, k * k * in});
    cv.lin.bias = Tensor({out});
    for (int64_t o = 0; o < out; ++o) {
      const double scale = gamma.data[o] / std::sqrt(static_cast<double>(var.data[o]) + kBatchNormEps);
      cv.lin.bias.data[o] = static_cast<float>(beta.data[o] - mean.data[o] * scale);
      for (int64_t c = 0; c < in; ++c)
        for (int64_t ky = 0; ky < k; ++ky)
          for (int64_t kx = 0; kx < k; ++kx)
            cv.lin.weight.data[((o * k + ky) * k + kx) * in + c] =
                static_cast<float>(w.data[((o * in + c) * k + ky) * k + kx] * scale);
    }
    be.prepare(cv.lin);
    return cv;
  }

  FeatureMap run(HostBackend& be, const FeatureMap& x, Activation act) const {
    const int64_t pad = k / 2;
    FeatureMap y{x.n, (x.h + 2 * pad - k) / stride + 1, (x.w + 2 * pad - k) / stride + 1, out, {}};
    const int64_t rows = y.n * y.h * y.w;
    y.data = Tensor({y.n, y.h, y.w, out});
    if (k == 1 && stride == 1) {
      be.linear_f32(x.data.ptr(), rows, lin, y.data.ptr(), act);
      return y;
    }
    const int64_t cols = k * k * in;
    Tensor patches({rows, cols});
    for (int64_t b = 0; b < y.n; ++b)
      for (int64_t oy = 0; oy < y.h; ++oy)
        for (int64_t ox = 0; ox < y.w; ++ox) {
          float* dst = patches.ptr() + ((b * y.h + oy) * y.w + ox) * cols;
          for (int64_t ky = 0; ky < k; ++ky)
            for (int64_t kx = 0; kx < k; ++kx, dst += in) {
              const int64_t iy = oy * stride + ky - pad, ix = ox * stride + kx - pad;
              if (iy < 0 || iy >= x.h || ix < 0 || ix >= x.w) {
                std::fill(dst, dst + in, 0.0f);
              } else {
                const float* src = x.data.ptr() + ((b * x.h + iy) * x.w + ix) * in;
                std::copy(src, src + in, dst);
              }
            }
        }
    be.linear_f32(patches.ptr(), rows, lin, y.data.ptr(), act);
    return y;
  }
};

FeatureMap avg_pool(const FeatureMap& x, int64_t s) {
  if (s == 1) return x;
  FeatureMap y{x.n, x.h / s, x.w / s, x.c, {}};
  y.data = Tensor({y.n, y.h, y.w, y.c});
  const float inv = 1.0f / static_cast<float>(s * s);
  for (int64_t b = 0; b < y.n; ++b)
    for (int64_t oy = 0; oy < y.h; ++oy)
      for (int64_t ox = 0; ox < y.w; ++ox) {
        float* dst = y.data.ptr() + ((b * y.h + oy) * y.w + ox) * y.c;
        for (int64_t dy = 0; dy < s; ++dy)
          for (int64_t dx = 0; dx < s; ++dx) {
            const float* src = x.data.ptr() + ((b * x.h + oy * s + dy) * x.w + ox * s + dx) * x.c;
            for (int64_t c = 0; c < x.c; ++c) dst[c] += src[c];
          }
        for (int64_t c = 0; c < y.c; ++c) dst[c] *= inv;
      }
  return y;
}

struct Bottleneck {
  Conv conv1, conv2, conv3;
  bool has_downsample = false;
  Conv downsample;
  int64_t stride = 1;

  static Bottleneck load(Checkpoint& ck, HostBackend& be, const std::string& p, int64_t inplanes, int64_t planes,
                         int64_t stride) {
    Bottleneck b;
    b.stride = stride;
    b.conv1 = Conv::load(ck, be, p + ".conv1", p + ".bn1", inplanes, planes, 1, 1);
    b.conv2 = Conv::load(ck, be, p + ".conv2", p + ".bn2", planes, planes, 3, 1);
    b.conv3 = Conv::load(ck, be, p + ".conv3", p + ".bn3", planes, planes * 4, 1, 1);
    b.has_downsample = stride > 1 || inplanes != planes * 4;
    if (b.has_downsample)
      b.downsample = Conv::load(ck, be, p + ".downsample.0", p + ".downsample.1", inplanes, planes * 4, 1, 1);
    return b;
  }

  FeatureMap run(HostBackend& be, const FeatureMap& x) const {
    FeatureMap out = conv1.run(be, x, Activation::Relu);
    out = avg_pool(conv2.run(be, out, Activation::Relu), stride);
    out = conv3.run(be, out, Activation::None);
    const FeatureMap identity = has_downsample ? downsample.run(be, avg_pool(x, stride), Activation::None) : x;
    for (int64_t i = 0; i < out.data.numel(); ++i) out.data.data[i] = std::max(0.0f, out.data.data[i] + identity.data.data[i]);
    return out;
  }
};

class ModifiedResNet final : public ImageTower {
 public:
  ModifiedResNet(Checkpoint& ck, HostBackend& be, const ModelConfig& cfg) : cfg_(cfg.vision), embed_dim_(cfg.embed_dim) {
    const int64_t w = cfg_.width;
    stem_[0] = Conv::load(ck, be, "visual.conv1", "visual.bn1", 3, w / 2, 3, 2, /*keep_precise=*/true);
    stem_[1] = Conv::load(ck, be, "visual.conv2", "visual.bn2", w / 2, w / 2, 3, 1);
    stem_[2] = Conv::load(ck, be, "visual.conv3", "visual.bn3", w / 2, w, 3, 1);
    int64_t inplanes = w;
    for (int stage = 0; stage < 4; ++stage) {
      const int64_t planes = w << stage;
      for (int i = 0; i < cfg_.resnet_layers[stage]; ++i) {
        const std::string p = "visual.layer" + std::to_string(stage + 1) + "." + std::to_string(i);
        blocks_.push_back(Bottleneck::load(ck, be, p, inplanes, planes, (stage > 0 && i == 0) ? 2 : 1));
        inplanes = planes * 4;
      }
    }
    const int64_t c = cfg_.resnet_embed_width(), g = cfg_.grid();
    positional_embedding_ = ck.take("visual.attnpool.positional_embedding", {g * g + 1, c});
    q_proj_ = load_linear(ck, be, "visual.attnpool.q_proj", c, c);
    // k and v share one GEMM: weights stacked [2c, c] so the output rows are k | v.
    const Tensor kw = ck.take("visual.attnpool.k_proj.weight", {c, c}), kb = ck.take("visual.attnpool.k_proj.bias", {c});
    const Tensor vw = ck.take("visual.attnpool.v_proj.weight", {c, c}), vb = ck.take("visual.attnpool.v_proj.bias", {c});
    kv_proj_.weight = Tensor({2 * c, c});
    std::copy(kw.data.begin(), kw.data.end(), kv_proj_.weight.data.begin());
    std::copy(vw.data.begin(), vw.data.end(), kv_proj_.weight.data.begin() + c * c);
    kv_proj_.bias = Tensor({2 * c});
    std::copy(kb.data.begin(), kb.data.end(), kv_proj_.bias.data.begin());
    std::copy(vb.data.begin(), vb.data.end(), kv_proj_.bias.data.begin() + c);
    be.prepare(kv_proj_);
    c_proj_ = load_linear(ck, be, "visual.attnpool.c_proj", embed_dim_, c, true, /*keep_precise=*/true);
  }

  Tensor encode(Backend& backend, const float* pixels, int64_t n) const override {
    HostBackend& be = host_backend(backend);
    const int64_t S = cfg_.image_size;
    FeatureMap x{n, S, S, 3, Tensor({n, S, S, 3})};
    for (int64_t b = 0; b < n; ++b)
      for (int64_t ch = 0; ch < 3; ++ch)
        for (int64_t i = 0; i < S * S; ++i) x.data.data[(b * S * S + i) * 3 + ch] = pixels[(b * 3 + ch) * S * S + i];
    for (const auto& conv : stem_) x = conv.run(be, x, Activation::Relu);
    x = avg_pool(x, 2);
    for (const auto& block : blocks_) x = block.run(be, x);
    return attention_pool(be, x);
  }

 private:
  // Tokens: the mean of the feature map, then every position; plus positional embedding.
  // The mean token queries all tokens; c_proj maps the result to the embedding.
  Tensor attention_pool(HostBackend& be, const FeatureMap& x) const {
    const int64_t c = x.c, hw = x.h * x.w, tokens = hw + 1, n = x.n;
    if (tokens != positional_embedding_.dim(0)) throw_input("feature map {}x{} does not match the attention pool", x.h, x.w);
    Tensor t({n * tokens, c});
    for (int64_t b = 0; b < n; ++b) {
      float* mean = t.ptr() + b * tokens * c;
      const float* src = x.data.ptr() + b * hw * c;
      for (int64_t i = 0; i < hw; ++i)
        for (int64_t j = 0; j < c; ++j) mean[j] += src[i * c + j];
      for (int64_t j = 0; j < c; ++j) mean[j] /= static_cast<float>(hw);
      std::copy(src, src + hw * c, mean + c);
      for (int64_t i = 0; i < tokens * c; ++i) mean[i] += positional_embedding_.data[i];
    }
    SequenceLayout seqs;
    Tensor first({n, c});
    for (int64_t b = 0; b <= n; ++b) seqs.offsets.push_back(b * tokens);
    for (int64_t b = 0; b < n; ++b) std::copy_n(t.ptr() + b * tokens * c, c, first.ptr() + b * c);
    Tensor q({n, c}), kv({n * tokens, 2 * c}), attn({n, c}), out({n, embed_dim_});
    be.linear_f32(first.ptr(), n, q_proj_, q.ptr());
    be.linear_f32(t.ptr(), n * tokens, kv_proj_, kv.ptr());
    be.attention_single_query(q.ptr(), kv.ptr(), seqs, c, cfg_.heads(), attn.ptr());
    be.linear_f32(attn.ptr(), n, c_proj_, out.ptr());
    return out;
  }

  VisionConfig cfg_;
  int64_t embed_dim_;
  Conv stem_[3];
  std::vector<Bottleneck> blocks_;
  Tensor positional_embedding_;
  LinearWeights q_proj_, kv_proj_, c_proj_;
};

}  // namespace

std::unique_ptr<ImageTower> load_resnet(Checkpoint& ck, HostBackend& be, const ModelConfig& cfg) {
  return std::make_unique<ModifiedResNet>(ck, be, cfg);
}

}  // namespace clipdex::model
