"""Writes N large JPEG photographs for the end-to-end indexing benchmark: each source photo
resized (Lanczos) to WIDTHxHEIGHT, in its four mirror/flip variants, quality 92, 4:2:0 — the size
and encoding of a phone camera's 12 MP photo. Sources: any JPEGs, e.g. Debian's mate-backgrounds
(/usr/share/backgrounds/mate).
Usage: make_photos.py OUT_DIR N SOURCE.jpg... [--size 4000x3000]
"""
import argparse
import itertools
import os

from PIL import Image, ImageOps


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("count", type=int)
    p.add_argument("sources", nargs="+")
    p.add_argument("--size", default="4000x3000")
    a = p.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    os.makedirs(a.out, exist_ok=True)
    variants = [lambda im: im, ImageOps.mirror, ImageOps.flip, lambda im: ImageOps.flip(ImageOps.mirror(im))]
    made = 0
    for variant, src in itertools.product(variants, sorted(a.sources)):
        if made == a.count:
            break
        im = ImageOps.fit(Image.open(src).convert("RGB"), (w, h), Image.LANCZOS)
        variant(im).save(f"{a.out}/photo{made:03d}.jpg", quality=92, subsampling=2)
        made += 1
    print(f"{made} photos of {w}x{h} in {a.out}")


if __name__ == "__main__":
    main()
