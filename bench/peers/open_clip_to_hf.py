"""Writes an open_clip-layout ViT CLIP (open_clip_config.json + open_clip_model.safetensors) as a
Hugging Face CLIPModel folder (config.json, model.safetensors, tokenizer and preprocessor files).

Used only by bench/peers/clip_cpp.sh: clip.cpp's own converter reads Hugging Face folders, so the
benchmark's random ViT-B/32 goes through this first and then through clip.cpp's script unchanged.
Usage: open_clip_to_hf.py OPEN_CLIP_DIR HF_TOKENIZER_DIR OUT_DIR
"""
import json
import os
import shutil
import sys

import numpy as np
from safetensors.numpy import load_file, save_file


def split_qkv(state, src, dst):
    """open_clip keeps q, k, v in one in_proj matrix; Hugging Face keeps three."""
    w, b = state[f"{src}.attn.in_proj_weight"], state[f"{src}.attn.in_proj_bias"]
    out = {}
    for i, name in enumerate(("q_proj", "k_proj", "v_proj")):
        rows = w.shape[0] // 3
        out[f"{dst}.self_attn.{name}.weight"] = w[i * rows:(i + 1) * rows]
        out[f"{dst}.self_attn.{name}.bias"] = b[i * rows:(i + 1) * rows]
    return out


def blocks(state, src_prefix, dst_prefix, layers):
    out = {}
    renames = {"ln_1": "layer_norm1", "ln_2": "layer_norm2", "attn.out_proj": "self_attn.out_proj",
               "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2"}
    for i in range(layers):
        src, dst = f"{src_prefix}.{i}", f"{dst_prefix}.{i}"
        out.update(split_qkv(state, src, dst))
        for a, b in renames.items():
            for p in ("weight", "bias"):
                out[f"{dst}.{b}.{p}"] = state[f"{src}.{a}.{p}"]
    return out


def convert(state, cfg):
    v, t = cfg["vision_cfg"], cfg["text_cfg"]
    out = {
        "vision_model.embeddings.patch_embedding.weight": state["visual.conv1.weight"],
        "vision_model.embeddings.class_embedding": state["visual.class_embedding"],
        "vision_model.embeddings.position_embedding.weight": state["visual.positional_embedding"],
        "vision_model.pre_layrnorm.weight": state["visual.ln_pre.weight"],
        "vision_model.pre_layrnorm.bias": state["visual.ln_pre.bias"],
        "vision_model.post_layernorm.weight": state["visual.ln_post.weight"],
        "vision_model.post_layernorm.bias": state["visual.ln_post.bias"],
        "visual_projection.weight": state["visual.proj"].T,
        "text_model.embeddings.token_embedding.weight": state["token_embedding.weight"],
        "text_model.embeddings.position_embedding.weight": state["positional_embedding"],
        "text_model.final_layer_norm.weight": state["ln_final.weight"],
        "text_model.final_layer_norm.bias": state["ln_final.bias"],
        "text_projection.weight": state["text_projection"].T,
        "logit_scale": state["logit_scale"].reshape(()),
    }
    out.update(blocks(state, "visual.transformer.resblocks", "vision_model.encoder.layers", v["layers"]))
    out.update(blocks(state, "transformer.resblocks", "text_model.encoder.layers", t["layers"]))
    return {k: np.ascontiguousarray(a, dtype=np.float32) for k, a in out.items()}


def hf_config(cfg):
    v, t = cfg["vision_cfg"], cfg["text_cfg"]
    act = "quick_gelu" if cfg.get("quick_gelu", False) else "gelu"
    embed = cfg["embed_dim"]
    return {
        "architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": embed,
        "logit_scale_init_value": 2.6592,
        "text_config": {"hidden_size": t["width"], "intermediate_size": int(t["width"] * t.get("mlp_ratio", 4)),
                        "num_attention_heads": t["heads"], "num_hidden_layers": t["layers"],
                        "max_position_embeddings": t["context_length"], "vocab_size": t["vocab_size"],
                        "hidden_act": act, "layer_norm_eps": 1e-5, "eos_token_id": 49407,
                        "bos_token_id": 49406, "pad_token_id": 1, "projection_dim": embed},
        "vision_config": {"hidden_size": v["width"], "intermediate_size": int(v["width"] * v.get("mlp_ratio", 4)),
                          "num_attention_heads": v["width"] // v.get("head_width", 64),
                          "num_hidden_layers": v["layers"], "image_size": v["image_size"],
                          "patch_size": v["patch_size"], "num_channels": 3, "hidden_act": act,
                          "layer_norm_eps": 1e-5, "projection_dim": embed},
    }


PREPROCESSOR = {
    "crop_size": 224, "do_center_crop": True, "do_normalize": True, "do_resize": True,
    "feature_extractor_type": "CLIPFeatureExtractor", "image_processor_type": "CLIPImageProcessor",
    "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
    "resample": 3, "size": 224,
}


def main():
    src, tokenizer, out = sys.argv[1:4]
    cfg = json.load(open(f"{src}/open_clip_config.json"))["model_cfg"]
    state = load_file(f"{src}/open_clip_model.safetensors")
    os.makedirs(out, exist_ok=True)
    save_file(convert(state, cfg), f"{out}/model.safetensors", metadata={"format": "pt"})
    json.dump(hf_config(cfg), open(f"{out}/config.json", "w"), indent=1)
    json.dump(PREPROCESSOR, open(f"{out}/preprocessor_config.json", "w"), indent=1)
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(f"{tokenizer}/{name}", f"{out}/{name}")


if __name__ == "__main__":
    main()
