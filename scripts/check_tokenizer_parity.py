#!/usr/bin/env python3
"""Development check: compares `clipdex tokenize` with the reference CLIP tokenizer on random text.

The reference pipeline (OpenAI CLIP simple_tokenizer: ftfy.fix_text, html.unescape twice,
whitespace collapse, lower-case, regex split, byte-level BPE) is written out below from its
published description; it needs `pip install ftfy==6.3.1 regex` in a virtualenv.

    python3 scripts/check_tokenizer_parity.py build/src/cli/clipdex ../shared/clip/bpe_simple_vocab_16e6.txt.gz
"""
import gzip
import html
import json
import random
import subprocess
import sys

import ftfy
import regex as re


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class Reference:
    def __init__(self, path):
        self.byte_encoder = bytes_to_unicode()
        merges = gzip.open(path).read().decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]
        merges = [tuple(m.split()) for m in merges]
        vocab = list(self.byte_encoder.values())
        vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m) for m in merges]
        vocab += ["<|startoftext|>", "<|endoftext|>"]
        self.encoder = {v: i for i, v in enumerate(vocab)}
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.cache = {"<|startoftext|>": "<|startoftext|>", "<|endoftext|>": "<|endoftext|>"}
        self.pat = re.compile(
            r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            re.IGNORECASE)

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = list(token[:-1]) + [token[-1] + "</w>"]
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            out, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            word = out
        result = " ".join(word)
        self.cache[token] = result
        return result

    def encode(self, text):
        text = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
        text = re.sub(r"\s+", " ", text).strip().lower()
        ids = []
        for token in re.findall(self.pat, text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(token).split(" "))
        return ids


POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    " \t\n\r\u00a0\u2003\u3000\u200b\u00ad",
    "'\"&;#<>!?.,:-_()[]{}@$%^*+=/\\|~`",
    "\u2018\u2019\u201c\u201d\u2026\u2014\ufb01\ufb02\uff21\uff41\uff11\uff01\u0130\u03a3\u00df",
    "\u00e9\u0301\u00e8\u00fc\u00f1\u00e7\u4e00\u6771\u30bf\u0421\u043e\u0627\u03ba\u00bd\u2162\u2460",
    "\x85\x93\x1b\x00\x07\x7f\ufeff\u206a\ufffc\U0001f436\U0001f431",
]
FRAGMENTS = ["&amp;", "&lt;", "&AMP;", "&EACUTE;", "&#65;", "&#x263a;", "&nbsp", "&eacute", "&amp;amp;",
             "'s", "'LL", "<|endoftext|>", "\x1b[31m", "&#0;", "&#128;", "&SZLIG;"]


def random_text(rng):
    parts = []
    for _ in range(rng.randint(0, 12)):
        if rng.random() < 0.2:
            parts.append(rng.choice(FRAGMENTS))
        else:
            pool = rng.choice(POOLS)
            parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 6))))
    return "".join(parts)


def main():
    binary, vocab = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
    rng = random.Random(20261127)
    ref = Reference(vocab)
    texts = [random_text(rng) for _ in range(count)]
    stdin = "".join(json.dumps({"text": t}) + "\n" for t in texts)
    out = subprocess.run([binary, "tokenize", "--vocab", vocab], input=stdin, capture_output=True, text=True)
    lines = out.stdout.splitlines()
    mismatches = 0
    for text, line in zip(texts, lines):
        got = json.loads(line).get("ids")
        want = ref.encode(text)
        if got != want:
            mismatches += 1
            if mismatches <= 10:
                print("MISMATCH", json.dumps(text), "\n  clipdex  ", got, "\n  reference", want)
    print(f"{count - mismatches} / {count} random texts match")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
