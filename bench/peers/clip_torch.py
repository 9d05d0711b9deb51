"""A compact PyTorch CLIP (ViT image tower + text tower) that loads open_clip-layout safetensors.

It follows the reference architecture (OpenAI CLIP model.py) so that PyTorch, ONNX Runtime and
OpenVINO run exactly the model clipdex runs; used only by bench/compare_peers.
"""
import json
import math

import torch
from torch import nn
from safetensors.torch import load_file


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    def __init__(self, width, heads, mlp, act):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(width, mlp))
        self.mlp.add_module("gelu", act())
        self.mlp.add_module("c_proj", nn.Linear(mlp, width))

    def forward(self, x, mask=None):
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, mlp, act):
        super().__init__()
        self.resblocks = nn.ModuleList([Block(width, heads, mlp, act) for _ in range(layers)])

    def forward(self, x, mask=None):
        for b in self.resblocks:
            x = b(x, mask)
        return x


class Visual(nn.Module):
    def __init__(self, image, patch, width, layers, heads, mlp, embed, act):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, patch, patch, bias=False)
        scale = width ** -0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((image // patch) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads, mlp, act)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, embed))

    def forward(self, x):
        x = self.conv1(x).flatten(2).permute(0, 2, 1)
        cls = self.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype, device=x.device)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x).permute(1, 0, 2)
        x = self.transformer(x).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class CLIP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        m = cfg["model_cfg"]
        v, t = m["vision_cfg"], m["text_cfg"]
        act = QuickGELU if m.get("quick_gelu") else nn.GELU
        vw = v["width"]
        self.visual = Visual(v["image_size"], v["patch_size"], vw, v["layers"], vw // v.get("head_width", 64),
                             int(vw * v.get("mlp_ratio", 4.0)), m["embed_dim"], act)
        tw = t["width"]
        self.context_length = t["context_length"]
        self.transformer = Transformer(tw, t["layers"], t["heads"], int(tw * t.get("mlp_ratio", 4.0)), act)
        self.token_embedding = nn.Embedding(t["vocab_size"], tw)
        self.positional_embedding = nn.Parameter(torch.empty(self.context_length, tw))
        self.ln_final = nn.LayerNorm(tw)
        self.text_projection = nn.Parameter(torch.empty(tw, m["embed_dim"]))
        self.logit_scale = nn.Parameter(torch.ones([]))
        mask = torch.empty(self.context_length, self.context_length).fill_(float("-inf")).triu_(1)
        self.register_buffer("attn_mask", mask, persistent=False)

    def encode_image(self, pixels):
        return self.visual(pixels)

    def encode_text(self, ids):
        x = self.token_embedding(ids) + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2), self.attn_mask).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), ids.argmax(dim=-1)] @ self.text_projection


def load(folder):
    cfg = json.load(open(f"{folder}/open_clip_config.json"))
    model = CLIP(cfg)
    state = {k: v.float() for k, v in load_file(f"{folder}/open_clip_model.safetensors").items()}
    if state["logit_scale"].dim() == 0:
        state["logit_scale"] = state["logit_scale"].reshape([])
    model.load_state_dict(state, strict=True)
    return model.eval(), cfg
