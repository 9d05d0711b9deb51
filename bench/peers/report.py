"""Turns bench/compare_peers results into a markdown table: absolute figures, ratios to the best
peer measured in the same run, and cosine agreement with PyTorch fp32. With several rounds, each
figure is the engine's median over them. Then, where bench/gemm_ceiling ran, what the CPU's
matrix products alone allow in each precision, beside the best peer in that precision."""
import json
import os
import statistics
import sys

import numpy as np
from safetensors.numpy import load_file


def cos(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float((a * b).sum(axis=1).min())


# The peers' modes by the precision of their products (OpenVINO's default is its own choice:
# bf16 where the CPU has it natively, counted with bf16; clip.cpp's f16 with the 16-bit modes).
PRECISION_PEERS = {
    "fp32": ["torch:fp32", "onnxruntime:fp32", "openvino:fp32", "clipcpp:f32"],
    "bf16": ["torch:bf16", "openvino:bf16", "openvino:default", "clipcpp:f16"],
    "int8": ["onnxruntime:int8", "openvino:int8", "openvino:int8-wo", "clipcpp:q8_0"],
}


def round_ratios(rows, batch):
    """Per round, clipdex in each precision over the best peer in that precision (and its best
    mode over every peer's best), at `batch`: the host's drift moves both sides of one round
    alike, so these spread less than ratios of medians taken over all rounds."""
    rounds, seen = [], {}
    for r in rows:  # a round ends where an engine comes round again
        if r["engine"] in seen:
            rounds.append(seen)
            seen = {}
        seen[r["engine"]] = r
    rounds.append(seen)
    if len(rounds) < 2:
        return
    print(f"\nPer round, clipdex / the best peer at b{batch} (median of the rounds last):\n")
    print("| ratio | " + " | ".join(f"round {i + 1}" for i in range(len(rounds))) + " | median |")
    print("|---|" + "---|" * (len(rounds) + 1))
    everyone = sorted({p for peers in PRECISION_PEERS.values() for p in peers})
    for label, mine, peers in [("best mode (int8) / every peer", "int8", everyone)] + \
            [(f"{p} / {p} peers", p, PRECISION_PEERS[p]) for p in PRECISION_PEERS]:
        cells = []
        for rnd in rounds:
            present = [rnd[p] for p in peers if p in rnd]
            if f"clipdex:{mine}" not in rnd or not present:
                cells.append(None)
                continue
            best = max(present, key=lambda r: r["images_per_second"][batch])
            cells.append((rnd[f"clipdex:{mine}"]["images_per_second"][batch] / best["images_per_second"][batch],
                          best["engine"]))
        got = [c[0] for c in cells if c]
        if not got:
            continue
        print(f"| {label} | " + " | ".join(f"{c[0]:.2f}x ({c[1]})" if c else "-" for c in cells) +
              f" | {statistics.median(got):.2f}x |")


def median_rows(rows):
    """One row per engine (in first-seen order), each figure the median over its rounds."""
    by_engine = {}
    for r in rows:
        by_engine.setdefault(r["engine"], []).append(r)
    merged = []
    for engine, runs in by_engine.items():
        m = dict(runs[-1])
        m["rounds"] = len(runs)
        m["images_per_second"] = {b: statistics.median(r["images_per_second"][b] for r in runs)
                                  for b in runs[0]["images_per_second"]}
        m["text_latency_ms"] = {q: statistics.median(r["text_latency_ms"][q] for r in runs)
                                for q in runs[0]["text_latency_ms"]}
        for key in ("load_seconds", "peak_rss_mb"):
            m[key] = statistics.median(r[key] for r in runs)
        merged.append(m)
    return merged


def print_ceilings(work, rows, batch):
    path = f"{work}/ceiling.jsonl"
    runs = [json.loads(l) for l in open(path) if l.startswith("{")] if os.path.exists(path) else []
    if not runs:
        return
    by_engine = {r["engine"]: r for r in rows}
    print(f"\nWhat the matrix products alone allow (bench/gemm_ceiling: oneDNN's GEMMs of the tower, "
          f"{runs[0]['images_per_pass']} images per thread's pass, medians of {len(runs)}), at b{batch}:\n")
    print("| precision | GEMMs GOP/s | ceiling images/s (every GEMM / clipdex's) | best peer | 1.2x best peer "
          "| clipdex | clipdex / its ceiling |")
    print("|---|---|---|---|---|---|---|")
    for precision, peers in PRECISION_PEERS.items():
        got = [r["precisions"][precision] for r in runs if "gop_per_second" in r["precisions"].get(precision, {})]
        if not got:
            continue
        gops = statistics.median(g["gop_per_second"] for g in got)
        full = statistics.median(g["images_per_second_full"] for g in got)
        ours = statistics.median(g["images_per_second_clipdex"] for g in got)
        present = [by_engine[p] for p in peers if p in by_engine]
        best = max(present, key=lambda r: r["images_per_second"][batch]) if present else None
        mine = by_engine.get(f"clipdex:{precision}")
        best_cell = f"{best['images_per_second'][batch]:.1f} ({best['engine']})" if best else "-"
        target = f"{1.2 * best['images_per_second'][batch]:.1f}" if best else "-"
        mine_cell = f"{mine['images_per_second'][batch]:.1f}" if mine else "-"
        share = f"{mine['images_per_second'][batch] / ours:.2f}" if mine else "-"
        print(f"| {precision} | {gops:.0f} | {full:.1f} / {ours:.1f} | {best_cell} | {target} | {mine_cell} | {share} |")


def main():
    work, threads = sys.argv[1], sys.argv[2]
    runs = [json.loads(l) for l in open(f"{work}/results.jsonl") if l.startswith("{")]
    rows = median_rows(runs)
    ref = load_file(f"{work}/torch:fp32.safetensors")
    peers = [r for r in rows if not r["engine"].startswith("clipdex")]
    batches = list(rows[0]["images_per_second"].keys())
    best_img = {b: max(p["images_per_second"][b] for p in peers) for b in batches}
    best_lat = min(p["text_latency_ms"]["p50"] for p in peers)
    best_load = min(p["load_seconds"] for p in peers)
    rounds = max(r["rounds"] for r in rows)
    print(f"threads: {threads}; CPU: {open(f'{work}/cpu.txt').read().strip()}; "
          f"{'medians of ' + str(rounds) + ' rounds' if rounds > 1 else 'one round'}\n")
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
    round_ratios(runs, batches[-1])
    print_ceilings(work, rows, batches[-1])


if __name__ == "__main__":
    main()
