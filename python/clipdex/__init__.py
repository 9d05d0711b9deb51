"""clipdex: CLIP image-text retrieval.

    import clipdex
    model = clipdex.Model("models/clip-vit-base-patch32")
    vectors = model.embed_texts(["a red car", "a cat"], normalize=True)   # numpy float32 [2, dim]

    photos = clipdex.Library("photos.db", model=model)
    photos.index(["/home/me/Pictures"], progress=lambda done, total: print(done, "/", total))
    for path, score in photos.search("a red car on a beach", k=20, since="2023-06"):
        print(f"{score:.3f} {path}")

Every call that computes or reads files releases the GIL: a Model and a Library may be used
from many Python threads at once. Errors are clipdex.Error subclasses (InputError is also a
ValueError, IoError an OSError).
"""

from ._clipdex import (
    Cancelled,
    Error,
    ImageHit,
    InputError,
    IoError,
    Library,
    LibraryBusy,
    Model,
    PartialFailure,
    classify,
    finetune,
)

__all__ = [
    "Cancelled",
    "Error",
    "ImageHit",
    "InputError",
    "IoError",
    "Library",
    "LibraryBusy",
    "Model",
    "PartialFailure",
    "classify",
    "finetune",
]
__version__ = "0.1.0"
