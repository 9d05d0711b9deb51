#!/usr/bin/env python3
"""Development check: compares `clipdex preprocess` with Pillow on random images.

The reference transform (PIL resize of the shorter side with int(N*long/short), centre crop
with round-half-even offsets, convert("RGB"), /255, normalise) is written out below; it needs
`pip install pillow==9.4.0 numpy safetensors` in a virtualenv.

    python3 scripts/check_preprocess_parity.py build/src/cli/clipdex 200
"""
import os
import random
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image
from safetensors.numpy import load_file

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32).reshape(3, 1, 1)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32).reshape(3, 1, 1)


def reference(im, n):
    w, h = im.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = n, int(n * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    im = im.resize((new_w, new_h), Image.BICUBIC)
    top = int(round((new_h - n) / 2.0))
    left = int(round((new_w - n) / 2.0))
    im = im.crop((left, top, left + n, top + n)).convert("RGB")
    x = np.asarray(im, dtype=np.uint8).transpose(2, 0, 1).astype(np.float32) / np.float32(255)
    return (x - MEAN) / STD


def random_image(rng):
    w, h = rng.randint(1, 700), rng.randint(1, 700)
    mode = rng.choice(["RGB", "RGBA", "L", "LA", "P", "1"])
    data = np.random.default_rng(rng.randint(0, 1 << 30)).integers(0, 256, (h, w, 4), dtype=np.uint8)
    # Smooth some images so that resampling sees gradients, not only noise.
    if rng.random() < 0.5:
        data = np.cumsum(data, axis=1, dtype=np.uint32).astype(np.uint8)
    im = Image.fromarray(data, "RGBA")
    if mode == "P":
        return im.convert("RGB").quantize(colors=rng.randint(2, 256))
    return im.convert(mode)


def main():
    binary = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    rng = random.Random(7)
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(count):
            im = random_image(rng)
            n = rng.choice([224, 160, 32, 7, 336])
            src = os.path.join(tmp, "in.png")
            out = os.path.join(tmp, "out.safetensors")
            im.save(src)
            subprocess.run([binary, "preprocess", src, "--size", str(n), "--out", out], check=True)
            mine = load_file(out)["pixels"]
            ref = reference(Image.open(src), n)
            diff = float(np.abs(mine - ref).max())
            if diff > 1e-5:
                bad += 1
                print(f"MISMATCH {im.mode} {im.size} -> {n}: max diff {diff}")
    print(f"{count - bad} / {count} random images match")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
