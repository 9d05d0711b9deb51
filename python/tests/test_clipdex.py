"""The Python package against the CLI on the fixtures: embeddings (texts, files, bytes, NumPy RGB),
a library indexed and searched, zero-shot classification, errors, and threads that run while
clipdex works (the GIL is released)."""

import json
import sys
import threading
import time

import numpy as np
import pytest

import clipdex
from conftest import IMAGES, MODEL, PHOTOS


def cli_embed(cli, lines, normalize=False):
    args = ["embed", "--precision", "fp32", "--model", MODEL] + (["--normalize"] if normalize else [])
    out = cli(*args, stdin="".join(json.dumps(line) + "\n" for line in lines))
    return np.array([json.loads(row)["embedding"] for row in out.splitlines()], dtype=np.float32)


def test_model_properties(model):
    assert model.dim == 64
    assert model.precision == "fp32"
    assert model.id
    assert "vit-tiny" in repr(model)


def test_text_embeddings_equal_the_cli(model, cli):
    texts = ["a photo of a cat", "a rocket on the launch pad", "ein Hund", ""]
    got = model.embed_texts(texts)
    assert got.dtype == np.float32 and got.shape == (len(texts), model.dim)
    np.testing.assert_allclose(got, cli_embed(cli, [{"text": t} for t in texts]), atol=1e-6)
    unit = model.embed_texts(texts, normalize=True)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(unit, cli_embed(cli, [{"text": t} for t in texts], normalize=True), atol=1e-6)


def test_image_embeddings_equal_the_cli_from_paths_and_bytes(model, cli):
    files = [IMAGES / name for name in PHOTOS]
    want = cli_embed(cli, [{"image": str(f)} for f in files])
    np.testing.assert_allclose(model.embed_images(files), want, atol=1e-6)  # os.PathLike
    np.testing.assert_allclose(model.embed_images([str(f) for f in files]), want, atol=1e-6)
    mixed = [f.read_bytes() if i % 2 else f for i, f in enumerate(files)]  # rows keep input order
    np.testing.assert_allclose(model.embed_images(mixed), want, atol=1e-6)


def test_rgb_arrays_are_read_in_place(model, cli, tmp_path):
    # The array written as an uncompressed BMP (exactly these pixels) is what the CLI embeds.
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, size=(48, 40, 3), dtype=np.uint8)
    bmp = tmp_path / "noise.bmp"
    write_bmp(bmp, pixels)
    want = cli_embed(cli, [{"image": str(bmp)}])
    np.testing.assert_allclose(model.embed_images([pixels]), want, atol=1e-5)
    # Padded rows: a view into a wider array (row stride > width * 3) embeds the same.
    wide = np.zeros((48, 50, 3), dtype=np.uint8)
    wide[:, :40] = pixels
    view = wide[:, :40]
    assert not view.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(model.embed_images([view]), want, atol=1e-5)
    with pytest.raises(ValueError):
        model.embed_images([pixels[:, :, :2]])  # not RGB
    with pytest.raises(ValueError):
        model.embed_images([pixels[:, ::2]])  # pixels not packed
    with pytest.raises(TypeError):
        model.embed_images([pixels.astype(np.float32)])
    with pytest.raises(TypeError):
        model.embed_images([42])


def write_bmp(path, pixels):
    """A 24-bit bottom-up BMP of an RGB uint8 array."""
    h, w, _ = pixels.shape
    row = (w * 3 + 3) // 4 * 4
    body = bytearray()
    for y in range(h - 1, -1, -1):
        line = pixels[y, :, ::-1].tobytes()  # BGR
        body += line + b"\0" * (row - len(line))
    header = b"BM" + (54 + len(body)).to_bytes(4, "little") + b"\0\0\0\0" + (54).to_bytes(4, "little")
    info = (40).to_bytes(4, "little") + w.to_bytes(4, "little") + h.to_bytes(4, "little", signed=True)
    info += (1).to_bytes(2, "little") + (24).to_bytes(2, "little") + b"\0" * 4 + len(body).to_bytes(4, "little")
    info += b"\0" * 16
    path.write_bytes(header + info + bytes(body))


def test_library_index_and_search_equal_the_cli(model, cli, photos, tmp_path):
    db = tmp_path / "lib.db"
    lib = clipdex.Library(db, model=model)
    progress = []
    report = lib.index([photos], progress=lambda done, total: progress.append((done, total)))
    assert report["embedded"] == len(PHOTOS) and report["failed"] == 0
    assert lib.images == len(PHOTOS) == len(lib)
    assert progress and progress[-1][0] == progress[-1][1]

    want = json.loads(cli("search", "a photo of a rocket", "--minus", "night", "-k", "5", "--json", "--db", db))["results"]
    got = lib.search("a photo of a rocket", k=5, minus=["night"])
    assert [p for p, _ in got] == [r["path"] for r in want]
    np.testing.assert_allclose([s for _, s in got], [r["score"] for r in want], atol=1e-6)

    jpeg = lib.search_hits("a photo", formats=["jpeg"])
    assert [h.path for h in jpeg] == [str(photos / "rocket.jpg")]
    assert jpeg[0].format == "jpeg" and jpeg[0].width > 0
    assert all(h.id != jpeg[0].id for h in lib.search_hits(like=[jpeg[0].id], k=3))

    # Reopened without a model: the library's own is used, with the same answers.
    again = clipdex.Library(db, create=False)
    assert again.model.id == model.id
    assert again.search("a photo of a rocket", k=5, minus=["night"]) == got
    assert again.index([photos])["unchanged"] == len(PHOTOS)

    # Image -> text: stored captions ranked by cosine with the image.
    captions = ["a rocket", "a cat", "a cup of coffee"]
    lib.add_texts(captions)
    image = model.embed_images([photos / "rocket.jpg"], normalize=True)[0]
    cosines = model.embed_texts(captions, normalize=True) @ image
    got = lib.texts_for_image(photos / "rocket.jpg", k=3)
    assert [t for t, _ in got] == [captions[i] for i in np.argsort(-cosines)]
    np.testing.assert_allclose([s for _, s in got], np.sort(cosines)[::-1], atol=1e-5)


def test_classify_equals_the_cli(model, cli):
    rocket = IMAGES / "rocket.jpg"
    want = json.loads(cli("classify", "--json", "--no-cache", "--precision", "fp32", "--model", MODEL,
                          "--labels", "rocket,cat,coffee", rocket))["predictions"]
    got = clipdex.classify(model, rocket, ["rocket", "cat", "coffee"], top=3)
    assert [label for label, _ in got] == [p["label"] for p in want]
    np.testing.assert_allclose([p for _, p in got], [p["probability"] for p in want], atol=1e-6)


def test_progress_can_stop_indexing(model, photos, tmp_path):
    lib = clipdex.Library(tmp_path / "lib.db", model=model)
    with pytest.raises(clipdex.Cancelled):
        lib.index([photos], batch_size=2, progress=lambda done, total: False)
    committed = lib.images
    assert 0 < committed < len(PHOTOS)

    def boom(done, total):
        raise KeyError("from the callback")

    with pytest.raises(KeyError):
        lib.index([photos], batch_size=2, progress=boom)
    report = lib.index([photos], batch_size=2)
    assert lib.images == len(PHOTOS)
    assert report["unchanged"] >= committed


def test_errors_are_clear_exceptions(model, tmp_path):
    with pytest.raises(clipdex.InputError):
        clipdex.Model(tmp_path / "missing")
    with pytest.raises(clipdex.InputError, match="precision"):
        clipdex.Model(MODEL, precision="fp8")
    with pytest.raises(ValueError):  # InputError is a ValueError
        model.embed_images([b"not an image"])
    with pytest.raises(clipdex.InputError):
        clipdex.Library(tmp_path / "missing.db", create=False)
    empty = clipdex.Library(tmp_path / "empty.db")
    with pytest.raises(clipdex.InputError, match="model"):
        empty.search("anything")  # no model given and none remembered
    with pytest.raises(clipdex.InputError):
        empty.search("x", since="yesterday", model=model)
    with pytest.raises(TypeError):
        model.embed_texts("not a list")  # a str is not a list of texts


def test_threads_run_while_clipdex_works(model):
    """Another Python thread makes progress during an embedding call: the GIL is released.

    With a 10 s switch interval a thread holding the GIL is never pre-empted, so the counter can
    only move during the call if the call let go of the GIL."""
    files = [IMAGES / name for name in PHOTOS] * 8
    counter = 0
    done = threading.Event()

    def count():
        nonlocal counter
        while not done.is_set():
            counter += 1
            time.sleep(0.0001)  # lets go of the GIL between increments

    old = sys.getswitchinterval()
    sys.setswitchinterval(10.0)
    try:
        worker = threading.Thread(target=count)
        worker.start()
        while counter == 0:
            done.wait(0.001)
        before = counter
        model.embed_images(files)
        during = counter - before
    finally:
        done.set()
        worker.join()
        sys.setswitchinterval(old)
    assert during > 0


def test_one_model_many_threads(model):
    texts = ["a photo of a dog", "a bowl of soup", "a city at night"]
    want = model.embed_texts(texts)
    results = [None] * 4

    def work(i):
        for _ in range(3):
            results[i] = model.embed_texts(texts)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, want)


def test_docs_example_runs(cli, photos, tmp_path):
    """examples/search_photos.py (docs/LIBRARY.md): its top hit is clipdex search's."""
    import os
    import subprocess

    from conftest import REPO

    db = tmp_path / "lib.db"
    env = dict(os.environ, CLIPDEX_PRECISION="fp32")
    run = subprocess.run([sys.executable, REPO / "examples/search_photos.py", MODEL, photos, db, "a photo of a rocket"],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    rows = [line.split("\t") for line in run.stdout.splitlines()]
    assert len(rows) == 5
    want = json.loads(cli("search", "a photo of a rocket", "-k", "1", "--json", "--db", db))["results"][0]
    assert rows[0][1] == want["path"]
    assert abs(float(rows[0][0]) - want["score"]) < 1e-5
    jpeg = subprocess.run([sys.executable, REPO / "examples/search_photos.py", MODEL, photos, db, "a photo", "--format", "jpeg"],
                          capture_output=True, text=True, env=env)
    assert [line.split("\t")[1] for line in jpeg.stdout.splitlines()] == [str(photos / "rocket.jpg")]


def test_adapter_is_merged_as_the_cli_merges_it(cli):
    """Model(adapter=...) gives `clipdex embed --adapter`'s numbers (the C++ tests check those
    against peft's)."""
    from conftest import SHARED

    adapter = SHARED / "fixtures/lora/vit-tiny-qv-r4"
    adapted = clipdex.Model(MODEL, precision="fp32", adapter=adapter)
    assert adapted.adapter == str(adapter.resolve())
    texts = ["a photo of an astronaut", "a tabby cat"]
    out = cli("embed", "--precision", "fp32", "--model", MODEL, "--adapter", adapter,
              stdin="".join(json.dumps({"text": t}) + "\n" for t in texts))
    want = np.array([json.loads(row)["embedding"] for row in out.splitlines()], dtype=np.float32)
    np.testing.assert_allclose(adapted.embed_texts(texts), want, atol=1e-6)
    assert not np.allclose(clipdex.Model(MODEL, precision="fp32").embed_texts(texts), want, atol=1e-3)
    with pytest.raises(clipdex.InputError, match="adapter"):
        clipdex.Model(MODEL, adapter=SHARED / "fixtures/lora/missing")


def test_shards_merge_into_one_library(model, photos, tmp_path):
    whole = clipdex.Library(tmp_path / "whole.db", model=model)
    whole.index([photos])
    parts = []
    for i in range(3):
        part = clipdex.Library(tmp_path / f"part{i}.db", model=model)
        part.index([photos], shard=f"{i}/3")
        parts.append(tmp_path / f"part{i}.db")
    merged = clipdex.Library(tmp_path / "merged.db", model=model)
    report = merged.merge(parts)
    assert report["files_added"] == len(PHOTOS) and report["images_added"] == len(PHOTOS)
    got, want = merged.search("a photo of a rocket", k=8), whole.search("a photo of a rocket", k=8)
    assert [p for p, _ in got] == [p for p, _ in want]
    np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-6)
    assert merged.merge(parts)["files_unchanged"] == len(PHOTOS)
    with pytest.raises(clipdex.InputError):
        merged.index([photos], shard="3/3")


def test_finetune_equals_the_cli_and_can_stop(cli, tmp_path):
    """clipdex.finetune reports the CLI's per-step losses and writes the same adapter; on_step
    returning False stops with a checkpoint, and calling again resumes."""
    from conftest import SHARED

    run = SHARED / "fixtures/lora/train-vit-tiny-qv-r4"
    photos = ["astronaut", "chelsea", "coffee", "motorcycle_right"]
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"image": str(IMAGES / f"{p}.png"), "text": f"a photo of {p}"}) + "\n"
                             for p in photos))
    options = dict(init=run, steps=4, batch_size=4, shuffle=False, lr=1e-3, weight_decay=0.01)
    out = cli("finetune", "--model", MODEL, "--pairs", pairs, "--out", tmp_path / "cli", "--init", run, "--steps", 4,
              "--batch-size", 4, "--no-shuffle", "--lr", 1e-3, "--weight-decay", 0.01, "--json")
    cli_losses = [json.loads(line)["loss"] for line in out.splitlines() if '"step"' in line]

    losses = []
    report = clipdex.finetune(MODEL, pairs, tmp_path / "py", on_step=lambda step, steps, epoch, loss, s: losses.append(loss),
                              **options)
    assert report["steps"] == 4 and report["resumed_at"] == 0
    np.testing.assert_allclose(losses, cli_losses, rtol=1e-6)
    assert (tmp_path / "py/adapter_model.safetensors").read_bytes() == (tmp_path / "cli/adapter_model.safetensors").read_bytes()
    assert clipdex.Model(MODEL, adapter=tmp_path / "py").adapter == str((tmp_path / "py").resolve())

    with pytest.raises(clipdex.Cancelled):
        clipdex.finetune(MODEL, pairs, tmp_path / "stopped", on_step=lambda step, *rest: step < 2, checkpoint_every=0,
                         **options)
    resumed = clipdex.finetune(MODEL, pairs, tmp_path / "stopped", checkpoint_every=0, **options)
    assert resumed["resumed_at"] == 2 and resumed["steps"] == 2
    assert (tmp_path / "stopped/adapter_model.safetensors").read_bytes() == (tmp_path / "py/adapter_model.safetensors").read_bytes()
