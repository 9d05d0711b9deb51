"""clip.cpp (monatis/clip.cpp on ggml) as a benchmark peer, called through its C API with ctypes.

The folder holds libclip.so and model-{f32,f16,q8_0}.gguf, made by bench/peers/clip_cpp.sh from
the benchmark's own random weights. Inputs are the same preprocessed pixels (NCHW here, HWC for
clip.cpp) and token ids (cut after the end-of-text token: clip.cpp pools the last position) that
every other engine gets; outputs are unnormalised embeddings, as theirs are.
"""
import ctypes

import numpy as np

MAX_BATCH = 8


class ImageF32(ctypes.Structure):
    _fields_ = [("nx", ctypes.c_int), ("ny", ctypes.c_int), ("data", ctypes.POINTER(ctypes.c_float)),
                ("size", ctypes.c_size_t)]


class ImageF32Batch(ctypes.Structure):
    _fields_ = [("data", ctypes.POINTER(ImageF32)), ("size", ctypes.c_size_t)]


class Tokens(ctypes.Structure):
    _fields_ = [("data", ctypes.POINTER(ctypes.c_int32)), ("size", ctypes.c_size_t)]


class VisionHparams(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int32) for n in ("image_size", "patch_size", "hidden_size", "n_intermediate",
                                             "projection_dim", "n_head", "n_layer")] + [("eps", ctypes.c_float)]


def load(folder, mode, threads):
    lib = ctypes.CDLL(f"{folder}/libclip.so")
    lib.clip_model_load.restype = ctypes.c_void_p
    lib.clip_model_load.argtypes = [ctypes.c_char_p, ctypes.c_int]
    lib.clip_get_vision_hparams.restype = ctypes.POINTER(VisionHparams)
    lib.clip_get_vision_hparams.argtypes = [ctypes.c_void_p]
    lib.clip_image_batch_encode.restype = ctypes.c_bool
    lib.clip_image_batch_encode.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ImageF32Batch),
                                            ctypes.POINTER(ctypes.c_float), ctypes.c_bool]
    lib.clip_text_encode.restype = ctypes.c_bool
    lib.clip_text_encode.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(Tokens),
                                     ctypes.POINTER(ctypes.c_float), ctypes.c_bool]
    ctx = lib.clip_model_load(f"{folder}/model-{mode}.gguf".encode(), 0)
    if not ctx:
        raise RuntimeError(f"clip.cpp could not load {folder}/model-{mode}.gguf")
    dim = lib.clip_get_vision_hparams(ctx).contents.projection_dim

    def encode(hwc, out):
        n, h, w, _ = hwc.shape
        items = (ImageF32 * n)()
        for i in range(n):
            items[i] = ImageF32(w, h, hwc[i].ctypes.data_as(ctypes.POINTER(ctypes.c_float)), h * w * 3)
        batch = ImageF32Batch(items, n)
        if not lib.clip_image_batch_encode(ctx, threads, ctypes.byref(batch),
                                           out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), False):
            raise RuntimeError("clip.cpp image encode failed")

    def image(pixels):
        hwc = np.ascontiguousarray(pixels.transpose(0, 2, 3, 1), dtype=np.float32)
        out = np.empty((len(hwc), dim), dtype=np.float32)
        # clip.cpp's graph lives in a fixed 24 MB buffer that holds fewer than 16 ViT-B/32 images (larger
        # batches abort in ggml): bigger batches go through in parts, as a user of it must.
        for b in range(0, len(hwc), MAX_BATCH):
            encode(hwc[b:b + MAX_BATCH], out[b:b + MAX_BATCH])
        return out

    def text(ids):
        out = np.empty((len(ids), dim), dtype=np.float32)
        for i, row in enumerate(ids):
            kept = np.ascontiguousarray(row[:int(np.argmax(row)) + 1], dtype=np.int32)
            tokens = Tokens(kept.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), len(kept))
            if not lib.clip_text_encode(ctx, threads, ctypes.byref(tokens),
                                        out[i].ctypes.data_as(ctypes.POINTER(ctypes.c_float)), False):
                raise RuntimeError("clip.cpp text encode failed")
        return out

    return image, text
