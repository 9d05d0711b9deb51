"""PyTorch on the same GPU, the same random model clipdex's gpu_check wrote: agreement of
clipdex's fp16 outputs with PyTorch fp32 (TF32 off), then images/s at several batch sizes and
one-caption text latency in fp16 and bf16, eager and (if it works there) torch.compile.

Run by scripts/gpu-check.sh on the GPU machine; prints one JSON object.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clip_torch  # noqa: E402


def cos_rows(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.min(np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)))


def images_per_s(fn, x, seconds):
    fn(x)
    torch.cuda.synchronize()
    iters, t0 = 0, time.perf_counter()
    while iters < 3 or time.perf_counter() - t0 < seconds:
        fn(x)
        iters += 1
    torch.cuda.synchronize()
    return x.shape[0] * iters / (time.perf_counter() - t0)


def text_p50_ms(fn, ids):
    fn(ids)
    torch.cuda.synchronize()
    out = []
    for _ in range(200):
        t0 = time.perf_counter()
        fn(ids).float().cpu()  # the caller needs the vector on the host, as clipdex returns it
        out.append((time.perf_counter() - t0) * 1000)
    out.sort()
    return out[len(out) // 2]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--agreement", required=True, help="folder with agreement.json from gpu_check")
    p.add_argument("--batches", default="1,32,256,1024")
    p.add_argument("--seconds", type=float, default=2)
    p.add_argument("--compile-batches", default="256,1024")
    p.add_argument("--compile-budget", type=float, default=150, help="seconds allowed for torch.compile runs")
    a = p.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda")
    model, _ = clip_torch.load(a.model)
    model = model.to(dev)
    result = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0), "modes": []}

    agree = json.load(open(os.path.join(a.agreement, "agreement.json")))
    n = agree["n"]
    pixels = torch.from_numpy(np.fromfile(os.path.join(a.agreement, agree["pixels_file"]), np.float32)
                              .reshape(n, 3, 224, 224)).to(dev)
    ids = torch.tensor(agree["ids"], dtype=torch.long, device=dev).reshape(n, 77)
    with torch.inference_mode():
        ref_img = model.encode_image(pixels).cpu().numpy()
        ref_txt = model.encode_text(ids).cpu().numpy()
        half = model.half()
        torch_fp16_img = half.encode_image(pixels.half()).float().cpu().numpy()
        model = model.float()
    d = ref_img.shape[1]
    result["agreement"] = {
        "clipdex_fp16_vs_torch_fp32_image_min_cos": cos_rows(np.array(agree["image"]).reshape(n, d), ref_img),
        "clipdex_fp16_vs_torch_fp32_text_min_cos": cos_rows(np.array(agree["text"]).reshape(n, d), ref_txt),
        "torch_fp16_vs_torch_fp32_image_min_cos": cos_rows(torch_fp16_img, ref_img),
    }

    batches = [int(b) for b in a.batches.split(",")]
    gen = torch.Generator(device=dev).manual_seed(1)
    x32 = torch.randn(max(batches), 3, 224, 224, device=dev, generator=gen)
    caption = torch.zeros(1, 77, dtype=torch.long, device=dev)
    caption[0, :7] = torch.tensor([49406, 320, 1125, 539, 320, 2368, 49407])
    for name, dtype in (("fp16", torch.float16), ("bf16", torch.bfloat16)):
        m = model.to(dtype)
        row = {"mode": f"{name} eager", "images_per_s": {}}
        with torch.inference_mode():
            for b in batches:
                row["images_per_s"][str(b)] = images_per_s(m.encode_image, x32[:b].to(dtype), a.seconds)
            row["text_b1_p50_ms"] = text_p50_ms(m.encode_text, caption)
        result["modes"].append(row)
        print(json.dumps(row), file=sys.stderr)
    # As a pipeline feeds it: fp32 pixels in pinned host memory, copied up and cast each batch
    # (clipdex's own numbers always include that upload).
    m = model.to(torch.float16)
    host = x32.cpu().pin_memory()
    row = {"mode": "fp16 eager, from pinned host memory", "images_per_s": {}}
    with torch.inference_mode():
        for b in batches:
            xb = host[:b]
            row["images_per_s"][str(b)] = images_per_s(
                lambda x: m.encode_image(x.to(dev, non_blocking=True).half()).float().cpu(), xb, a.seconds)
    result["modes"].append(row)
    print(json.dumps(row), file=sys.stderr)
    t_start = time.perf_counter()
    try:
        row = {"mode": "fp16 torch.compile", "images_per_s": {}}
        enc_img = torch.compile(model.encode_image)
        enc_txt = torch.compile(model.encode_text)
        with torch.inference_mode():
            for b in [int(b) for b in a.compile_batches.split(",")]:
                if time.perf_counter() - t_start > a.compile_budget:
                    row.setdefault("skipped", []).append(b)
                    continue
                row["images_per_s"][str(b)] = images_per_s(enc_img, x32[:b].half(), a.seconds)
            if time.perf_counter() - t_start < a.compile_budget:
                row["text_b1_p50_ms"] = text_p50_ms(enc_txt, caption)
        row["compile_seconds_total"] = time.perf_counter() - t_start
        result["modes"].append(row)
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        result["modes"].append({"mode": "fp16 torch.compile", "error": f"{type(e).__name__}: {e}"[:500]})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
