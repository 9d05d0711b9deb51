"""Turns bench/compare_peers results into a markdown table: absolute figures, ratios to the best
peer measured in the same run, and cosine agreement with PyTorch fp32."""
import json
import sys

import numpy as np
from safetensors.numpy import load_file


def cos(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float((a * b).sum(axis=1).min())


def main():
    work, threads = sys.argv[1], sys.argv[2]
    rows = [json.loads(l) for l in open(f"{work}/results.jsonl") if l.startswith("{")]
    ref = load_file(f"{work}/torch:fp32.safetensors")
    peers = [r for r in rows if not r["engine"].startswith("clipdex")]
    batches = list(rows[0]["images_per_second"].keys())
    best_img = {b: max(p["images_per_second"][b] for p in peers) for b in batches}
    best_lat = min(p["text_latency_ms"]["p50"] for p in peers)
    best_load = min(p["load_seconds"] for p in peers)
    print(f"threads: {threads}; CPU: {open(f'{work}/cpu.txt').read().strip()}\n")
    head = "| engine | " + " | ".join(f"images/s b{b}" for b in batches) + \
           " | text p50 ms | text p99 ms | load s | peak RSS MB | min cosine vs torch (image / text) |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        e = load_file(f"{work}/{r['engine']}.safetensors")
        cells = [f"{r['images_per_second'][b]:.2f} ({r['images_per_second'][b] / best_img[b]:.2f}x)" for b in batches]
        lat = r["text_latency_ms"]
        cells += [f"{lat['p50']:.1f} ({lat['p50'] / best_lat:.2f}x)", f"{lat['p99']:.1f}",
                  f"{r['load_seconds']:.2f} ({r['load_seconds'] / best_load:.2f}x)", f"{r['peak_rss_mb']:.0f}",
                  f"{cos(e['image_embeds'], ref['image_embeds']):.7f} / {cos(e['text_embeds'], ref['text_embeds']):.7f}"]
        print(f"| {r['engine']} | " + " | ".join(cells) + " |")
    print("\nRatios are to the best peer mode (PyTorch, ONNX Runtime, OpenVINO, clip.cpp, any precision) in the same run.")
    for r in rows:
        if r.get("kernels"):
            print(f"- {r['engine']}: {r['kernels']}")


if __name__ == "__main__":
    main()
