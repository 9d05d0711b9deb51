"""Exports the PyTorch CLIP's two towers to ONNX (dynamic batch) for ONNX Runtime and OpenVINO."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import clip_torch  # noqa: E402


class ImageTower(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, pixels):
        return self.m.encode_image(pixels)


class TextTower(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, ids):
        return self.m.encode_text(ids)


def main():
    model_dir, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    model, cfg = clip_torch.load(model_dir)
    size = cfg["model_cfg"]["vision_cfg"]["image_size"]
    with torch.inference_mode():
        torch.onnx.export(ImageTower(model), torch.zeros(2, 3, size, size), f"{out}/image.onnx", opset_version=14,
                          input_names=["pixels"], output_names=["embeds"],
                          dynamic_axes={"pixels": {0: "batch"}, "embeds": {0: "batch"}})
        ids = torch.zeros(2, model.context_length, dtype=torch.int64)
        ids[:, 0], ids[:, 1] = 49406, 49407
        torch.onnx.export(TextTower(model), ids, f"{out}/text.onnx", opset_version=14,
                          input_names=["ids"], output_names=["embeds"],
                          dynamic_axes={"ids": {0: "batch"}, "embeds": {0: "batch"}})


if __name__ == "__main__":
    main()
