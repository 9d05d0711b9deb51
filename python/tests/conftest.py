"""Fixtures for the Python package's tests: the shared fixture models and photos (../shared, read
in place) and the clipdex CLI the package is compared with (CLIPDEX_BINARY, else build/)."""

import os
import pathlib
import shutil
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(os.environ.get("CLIPDEX_SHARED_DIR", REPO.parent / "shared"))
MODEL = SHARED / "fixtures/models/vit-tiny/hf"
IMAGES = SHARED / "fixtures/images"
PHOTOS = sorted(p.name for p in IMAGES.iterdir() if p.suffix in (".jpg", ".png"))

# `auto` picks bf16 where the CPU runs it natively (AVX512_BF16, AMX), and these tests compare
# scores with the CLI's fp32 ones exactly: models the tests load without naming a precision (a
# library reopened with its own model) must run fp32 too, as in the C++ tests.
os.environ.setdefault("CLIPDEX_PRECISION", "fp32")


@pytest.fixture(scope="session")
def cli():
    binary = pathlib.Path(os.environ.get("CLIPDEX_BINARY", REPO / "build/src/cli/clipdex"))
    if not binary.exists():
        pytest.fail(f"the clipdex CLI is needed for parity checks: build it or set CLIPDEX_BINARY ({binary})")

    def run(*args, stdin=""):
        env = dict(os.environ, CLIPDEX_PRECISION="fp32", OMP_WAIT_POLICY="passive")
        done = subprocess.run([str(binary), *map(str, args)], input=stdin, capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run


@pytest.fixture(scope="session")
def model():
    import clipdex

    return clipdex.Model(MODEL, precision="fp32")


@pytest.fixture
def photos(tmp_path):
    """A folder holding a copy of the fixture photos."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in PHOTOS:
        shutil.copy(IMAGES / name, folder / name)
    return folder
