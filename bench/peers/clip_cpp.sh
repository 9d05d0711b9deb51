#!/usr/bin/env bash
# Builds the native peer clip.cpp (monatis/clip.cpp on ggml) outside the repository and converts
# the benchmark's random open_clip weights with clip.cpp's own script, so that bench/compare_peers
# can run it (engine `clipcpp` in run_peer.py).
#   bench/peers/clip_cpp.sh CLIP_CPP_SOURCE MODEL_DIR OUT_DIR
# CLIP_CPP_SOURCE: a checkout of monatis/clip.cpp with its ggml submodule filled in (clipdex never
# downloads it: bring it yourself, e.g. `git clone --recursive`). MODEL_DIR: open_clip folder from
# `clipdex model make-random`. OUT_DIR gets build/, hf/, libclip.so and model-{f32,f16,q8_0}.gguf.
set -euo pipefail
src=$(realpath "$1") model=$(realpath "$2") out=$3
here=$(cd "$(dirname "$0")" && pwd)
tokenizer=${CLIPDEX_HF_TOKENIZER:-$here/../../../shared/clip/hf-tokenizer}
mkdir -p "$out"
out=$(realpath "$out")
[ -f "$src/ggml/CMakeLists.txt" ] || { echo "clip_cpp.sh: $src/ggml is empty (the submodule is needed)" >&2; exit 2; }

cmake -S "$src" -B "$out/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DCLIP_NATIVE=ON \
  -DCLIP_BUILD_TESTS=OFF -DCLIP_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$out/build" --target clip -j "$(nproc)" >/dev/null
ln -sf "$(find "$out/build" -name 'libclip.so' | head -1)" "$out/libclip.so"

# clip.cpp's converter needs transformers (with the system's torch) and a GGUF v2 writer.
venv="$out/venv"
if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$venv"
  "$venv/bin/pip" install -q "numpy<2" "transformers==4.36.2" "gguf==0.4.4" safetensors pillow
fi
"$venv/bin/python" "$here/open_clip_to_hf.py" "$model" "$tokenizer" "$out/hf"
for ftype in f32 f16; do
  [ -f "$out/model-$ftype.gguf" ] && continue
  flag=""; [ $ftype = f32 ] && flag=--use-f32
  "$venv/bin/python" "$src/models/convert_hf_to_gguf.py" -m "$out/hf" $flag -o "$out/gguf" >/dev/null
  mv "$out/gguf/gguf_ggml-model-$ftype.gguf" "$out/model-$ftype.gguf"
done
# q8_0 through clip.cpp's own quantiser (its C API), from the f32 file.
[ -f "$out/model-q8_0.gguf" ] || "$venv/bin/python" - "$out" <<'PY'
import ctypes, sys
out = sys.argv[1]
lib = ctypes.CDLL(f"{out}/libclip.so")
lib.clip_model_quantize.restype = ctypes.c_bool
lib.clip_model_quantize.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
if not lib.clip_model_quantize(f"{out}/model-f32.gguf".encode(), f"{out}/model-q8_0.gguf".encode(), 8):
    sys.exit("clip.cpp: quantisation to q8_0 failed")
PY
echo "clip.cpp ready in $out"
