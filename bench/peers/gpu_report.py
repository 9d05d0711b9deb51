"""The GPU check's table: clipdex (CUDA backend) and PyTorch on the same GPU and model, with the
issue's targets marked. Usage: gpu_report.py clipdex_gpu.json torch_gpu.json"""
import json
import sys


def main():
    ours = json.load(open(sys.argv[1]))
    try:
        peer = json.load(open(sys.argv[2]))
    except (OSError, ValueError):
        peer = {"modes": []}
    bench = ours.get("bench", {})
    checks = ours.get("checks", [])
    failed = [c for c in checks if not c.get("ok")]
    print(f"GPU: {bench.get('device', '?')}; PyTorch {peer.get('torch', '?')} on {peer.get('gpu', '?')}\n")
    print(f"Correctness: {len(checks) - len(failed)}/{len(checks)} checks passed")
    for c in failed:
        print(f"  FAILED: {c}")
    if "agreement" in peer:
        print("Agreement with PyTorch fp32 (TF32 off):", json.dumps(peer["agreement"]))
    batches = sorted({b for r in bench.get("clipdex", []) for b in r["images_per_s"]}, key=int)
    print("\n| engine | " + " | ".join(f"img/s b{b}" for b in batches) + " | text b1 p50 |")
    print("|---" * (len(batches) + 2) + "|")
    rows = [(f"clipdex {r['precision']} (from host fp32 pixels)", r) for r in bench.get("clipdex", [])]
    rows += [(f"clipdex {r['precision']} (pixels on the GPU)", r) for r in bench.get("clipdex_model_only", [])]
    rows += [(f"PyTorch {r['mode']}", r) for r in peer.get("modes", [])]
    for name, r in rows:
        if "error" in r:
            print(f"| {name} | " + " | ".join("-" for _ in batches) + f" | {r['error'][:80]} |")
            continue
        cells = [f"{r['images_per_s'][b]:,.0f}" if b in r.get("images_per_s", {}) else "-" for b in batches]
        text = f"{r['text_b1_p50_ms']:.2f} ms" if "text_b1_p50_ms" in r else "-"
        print(f"| {name} | " + " | ".join(cells) + f" | {text} |")
    for fs in bench.get("flat_search", []):
        print(f"\nGPU flat search {fs['vectors']:,} x {fs['dim']}, {fs['queries']} queries, k {fs['k']}: "
              f"p50 {fs['p50_ms']:.2f} ms")
    # Targets: b1024 >= 1.2x PyTorch fp16 eager and >= 1.0x torch.compile; text b1 <= 2 ms.
    best = max((r["images_per_s"].get("1024", 0) for r in bench.get("clipdex_model_only", [])), default=0)
    best_host = max((r["images_per_s"].get("1024", 0) for r in bench.get("clipdex", [])), default=0)
    eager = next((r for r in peer.get("modes", []) if r.get("mode") == "fp16 eager"), None)
    comp = next((r for r in peer.get("modes", []) if r.get("mode") == "fp16 torch.compile"), None)
    print("\nTargets (model alone, pixels on the GPU, as PyTorch's rows are measured):")
    if eager and "1024" in eager.get("images_per_s", {}):
        ratio = best / eager["images_per_s"]["1024"]
        print(f"  b1024 vs PyTorch fp16 eager: {ratio:.2f}x (target >= 1.2x): {'met' if ratio >= 1.2 else 'NOT met'}")
    if comp and "1024" in comp.get("images_per_s", {}):
        ratio = best / comp["images_per_s"]["1024"]
        print(f"  b1024 vs torch.compile fp16: {ratio:.2f}x (target >= 1.0x): {'met' if ratio >= 1.0 else 'NOT met'}")
    pinned = next((r for r in peer.get("modes", []) if r.get("mode", "").startswith("fp16 eager, from pinned")), None)
    if pinned and "1024" in pinned.get("images_per_s", {}):
        ratio = best_host / pinned["images_per_s"]["1024"]
        print(f"  from host memory, b1024 vs PyTorch fp16 eager from pinned memory: {ratio:.2f}x")
    for r in bench.get("clipdex_model_only", []):
        print(f"  {r['precision']}: one upload of the batch's fp32 pixels, ms: {json.dumps(r.get('upload_ms', {}))}")
    text = min((r.get("text_b1_p50_ms", 1e9) for r in bench.get("clipdex", [])), default=1e9)
    print(f"  text b1 p50 {text:.2f} ms (target <= 2 ms): {'met' if text <= 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
