// Architecture from tensor shapes alone, following OpenAI CLIP's build_model().
#include <cmath>
#include <set>

#include "core/error.h"
#include "model/infer_config.h"

namespace clipdex::model {

ModelConfig infer_config(const Checkpoint& ck) {
  if (ck.layout() != Layout::OpenClip)
    throw_input("{}: a Hugging Face checkpoint needs its config.json beside it", ck.path());
  ModelConfig m;
  m.architecture = "inferred";
  m.quick_gelu = true;  // OpenAI's build_model always uses QuickGELU
  const auto tp = ck.shape("text_projection");
  const auto te = ck.shape("token_embedding.weight");
  const auto pe = ck.shape("positional_embedding");
  const auto lnf = ck.shape("ln_final.weight");
  if (tp.size() != 2 || te.size() != 2 || pe.size() != 2 || lnf.size() != 1)
    throw_input("{}: text tower tensors have unexpected ranks", ck.path());
  m.embed_dim = static_cast<int>(tp[1]);
  m.text.vocab_size = static_cast<int>(te[0]);
  m.text.context_length = static_cast<int>(pe[0]);
  m.text.width = static_cast<int>(lnf[0]);
  m.text.heads = m.text.width / 64;
  m.text.mlp_width = m.text.width * 4;
  m.text.layers = count_layers(ck, "transformer.resblocks", "attn.in_proj_weight");
  auto& v = m.vision;
  if (ck.has("visual.proj")) {
    v.kind = VisionKind::ViT;
    const auto conv = ck.shape("visual.conv1.weight");
    const auto pos = ck.shape("visual.positional_embedding");
    v.width = static_cast<int>(conv[0]);
    v.patch_size = static_cast<int>(conv[3]);
    v.layers = count_layers(ck, "visual.transformer.resblocks", "attn.in_proj_weight");
    v.mlp_width = v.width * 4;
    const int grid = static_cast<int>(std::lround(std::sqrt(static_cast<double>(pos[0] - 1))));
    v.image_size = grid * v.patch_size;
  } else if (ck.has("visual.attnpool.positional_embedding")) {
    v.kind = VisionKind::ResNet;
    for (int stage = 0; stage < 4; ++stage)
      v.resnet_layers[stage] = count_layers(ck, "visual.layer" + std::to_string(stage + 1), "conv1.weight");
    v.width = static_cast<int>(ck.shape("visual.layer1.0.conv1.weight")[0]);
    const auto pos = ck.shape("visual.attnpool.positional_embedding");
    v.image_size = static_cast<int>(std::lround(std::sqrt(static_cast<double>(pos[0] - 1)))) * 32;
  } else {
    throw_input("{}: cannot tell the image tower (no visual.proj or visual.attnpool)", ck.path());
  }
  m.preprocess.size = v.image_size;
  return m;
}

}  // namespace clipdex::model
