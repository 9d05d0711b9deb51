"""Embedding throughput of the Python package against the CLI, same machine, same run.

    python bench/python_throughput.py [--model DIR] [--images N] [--texts N] [--cli build/src/cli/clipdex]

Both embed the same N image files and M texts with the same model in fp32 (more texts than images:
a text takes well under a millisecond, and the run must be long against process-start noise). The CLI's figure is
(N - 1) / (time for N - time for 1), so its process start and model load drop out; the Python
figure times only the embed call. Best of --repeat runs; the ratio python / CLI should be ~1.
"""

import argparse
import json
import os
import pathlib
import platform
import subprocess
import time

import clipdex

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def cpu_name():
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def cli_seconds(cli, model, lines):
    env = dict(os.environ, CLIPDEX_PRECISION="fp32")
    stdin = "".join(json.dumps(line) + "\n" for line in lines)
    start = time.perf_counter()
    subprocess.run([cli, "embed", "--model", model], input=stdin, text=True, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def best(fn, repeat):
    return min(fn() for _ in range(repeat))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=str(SHARED / "fixtures/models/vit-tiny/hf"))
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--texts", type=int, default=8192)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cli", default=str(REPO / "build/src/cli/clipdex"))
    args = parser.parse_args()

    photos = sorted(p for p in (SHARED / "fixtures/images").iterdir() if p.suffix in (".jpg", ".png"))
    files = [str(photos[i % len(photos)]) for i in range(args.images)]
    texts = [f"a photo of thing number {i}" for i in range(args.texts)]
    model = clipdex.Model(args.model, precision="fp32")
    print(f"CPU: {cpu_name()}; model {args.model} (dim {model.dim}, {model.kernels}); {args.images} images, {args.texts} texts, best of {args.repeat}")
    for kind, items, lines, call in [
        ("images", files, [{"image": f} for f in files], lambda: model.embed_images(files)),
        ("texts", texts, [{"text": t} for t in texts], lambda: model.embed_texts(texts)),
    ]:
        one = best(lambda: cli_seconds(args.cli, args.model, lines[:1]), args.repeat)
        full = best(lambda: cli_seconds(args.cli, args.model, lines), args.repeat)
        cli_rate = (len(items) - 1) / max(full - one, 1e-9)

        def timed():
            start = time.perf_counter()
            call()
            return time.perf_counter() - start

        py_rate = len(items) / best(timed, args.repeat)
        print(f"{kind:7s} CLI {cli_rate:9.1f}/s   Python {py_rate:9.1f}/s   Python/CLI {py_rate / cli_rate:.2f}")


if __name__ == "__main__":
    main()
