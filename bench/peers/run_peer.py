"""Measures one engine (torch, onnxruntime, openvino, clipcpp) in one precision mode on a ViT CLIP
in open_clip layout. Modes: torch fp32|bf16 (CPU autocast); onnxruntime fp32|int8 (dynamic QInt8
weights, per-row dynamic activations); openvino fp32|default (the plugin's own choice: bf16 on
AMX)|bf16|int8-wo (NNCF weight-only int8)|int8 (NNCF post-training quantisation on random
images); clipcpp f32|f16|q8_0 (monatis/clip.cpp on ggml, through its C API; the GGUF files and
libclip.so come from bench/peers/clip_cpp.sh).

Run by bench/compare_peers, one process per engine so that load time and peak RSS are its own.
Prints one JSON object; writes the engine's embeddings of the shared inputs for agreement checks.
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np
from safetensors.numpy import load_file, save_file


def timed_throughput(run, batch, pixels, seconds):
    x = pixels[:batch]
    run(x)  # warm-up
    iters, t0 = 0, time.perf_counter()
    while iters < 2 or time.perf_counter() - t0 < seconds:
        run(x)
        iters += 1
    return batch * iters / (time.perf_counter() - t0)


def latencies(run, ids, seconds):
    run(ids)
    out, total = [], 0.0
    while len(out) < 20 or (total < seconds and len(out) < 200):
        t0 = time.perf_counter()
        run(ids)
        dt = time.perf_counter() - t0
        out.append(dt * 1000)
        total += dt
    out.sort()
    return {"p50": out[len(out) // 2], "p99": out[min(len(out) - 1, len(out) * 99 // 100)]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("engine", choices=["torch", "onnxruntime", "openvino", "clipcpp"])
    p.add_argument("--model", required=True)
    p.add_argument("--onnx", required=True, help="folder holding image.onnx and text.onnx")
    p.add_argument("--inputs", required=True)
    p.add_argument("--outputs", required=True)
    p.add_argument("--mode", default="fp32")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batches", default="1,8,32")
    p.add_argument("--seconds", type=float, default=3)
    p.add_argument("--clipcpp", help="folder holding clip.cpp's libclip.so and model-MODE.gguf files")
    a = p.parse_args()
    # Only the result goes to stdout: libraries (NNCF) print progress there.
    result_out, sys.stdout = sys.stdout, sys.stderr
    inputs = load_file(a.inputs)
    batches = [int(b) for b in a.batches.split(",")]
    pixels = np.random.default_rng(1).standard_normal((max(batches), 3, 224, 224)).astype(np.float32)
    query = inputs["text_ids"][:1].astype(np.int64)

    sys.path.insert(0, os.path.dirname(__file__))
    t0 = time.perf_counter()
    if a.engine == "torch":
        import torch
        import clip_torch
        torch.set_num_threads(a.threads)
        model, _ = clip_torch.load(a.model)
        dtype = torch.bfloat16 if a.mode == "bf16" else torch.float32
        model = model.to(dtype)  # bf16: weights and activations (autocast trips on the reference's layer norm)
        def image(x):
            with torch.inference_mode():
                return model.encode_image(torch.from_numpy(x).to(dtype)).float().numpy()
        def text(ids):
            with torch.inference_mode():
                return model.encode_text(torch.from_numpy(ids)).float().numpy()
    elif a.engine == "onnxruntime":
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = a.threads
        so.inter_op_num_threads = 1
        paths = {t: f"{a.onnx}/{t}.onnx" for t in ("image", "text")}
        if a.mode == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic
            for t in paths:
                q = f"{a.onnx}/{t}.int8.onnx"
                if not os.path.exists(q):
                    quantize_dynamic(paths[t], q, weight_type=QuantType.QInt8)
                paths[t] = q
        si = ort.InferenceSession(paths["image"], so, providers=["CPUExecutionProvider"])
        st = ort.InferenceSession(paths["text"], so, providers=["CPUExecutionProvider"])
        image = lambda x: si.run(None, {"pixels": x})[0]
        text = lambda ids: st.run(None, {"ids": ids})[0]
    elif a.engine == "clipcpp":
        import clip_cpp
        image, text = clip_cpp.load(a.clipcpp, a.mode, a.threads)
    else:
        import openvino as ov
        core = ov.Core()
        cfg = {"INFERENCE_NUM_THREADS": a.threads}
        if a.mode in ("fp32", "bf16"):
            cfg["INFERENCE_PRECISION_HINT"] = "f32" if a.mode == "fp32" else "bf16"
        mi, mt = core.read_model(f"{a.onnx}/image.onnx"), core.read_model(f"{a.onnx}/text.onnx")
        if a.mode in ("int8", "int8-wo"):
            import nncf
            if a.mode == "int8-wo":
                mi, mt = nncf.compress_weights(mi), nncf.compress_weights(mt)
            else:
                rng = np.random.default_rng(3)
                calib_img = [rng.standard_normal((1, 3, 224, 224)).astype(np.float32) for _ in range(16)]
                calib_txt = [inputs["text_ids"][i:i + 1].astype(np.int64) for i in range(len(inputs["text_ids"]))]
                mi = nncf.quantize(mi, nncf.Dataset(calib_img), model_type=nncf.ModelType.TRANSFORMER, subset_size=16)
                mt = nncf.quantize(mt, nncf.Dataset(calib_txt), model_type=nncf.ModelType.TRANSFORMER,
                                   subset_size=len(calib_txt))
        ci = core.compile_model(mi, "CPU", cfg)
        ct = core.compile_model(mt, "CPU", cfg)
        image = lambda x: ci(x)[0]
        text = lambda ids: ct(ids)[0]
    load_seconds = time.perf_counter() - t0

    result = {"engine": f"{a.engine}:{a.mode}", "load_seconds": load_seconds, "images_per_second": {},
              "text_latency_ms": None}
    # The embeddings for the agreement check first, from the freshly loaded model: clip.cpp's
    # image results go wrong after it has encoded a larger batch (cosine 0.74, measured).
    save_file({"image_embeds": np.ascontiguousarray(image(inputs["pixels"]), dtype=np.float32),
               "text_embeds": np.ascontiguousarray(text(inputs["text_ids"].astype(np.int64)), dtype=np.float32)},
              a.outputs)
    for b in batches:
        result["images_per_second"][str(b)] = timed_throughput(image, b, pixels, a.seconds)
    result["text_latency_ms"] = latencies(text, query, a.seconds)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(result), file=result_out)


if __name__ == "__main__":
    main()
