#!/usr/bin/env bash
# Checks that an adapter written by `clipdex finetune` loads in Python's peft (0.10, with
# transformers' CLIPModel) and gives the embeddings clipdex gives with it. Not part of CI: it
# needs PyPI (a virtualenv with peft 0.10.0, transformers 4.40.2 and the torch they pull in).
#   scripts/check-peft.sh [--work DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${TMPDIR:-/tmp}/clipdex-peft
[ "${1:-}" = "--work" ] && work=$2
clipdex=build/src/cli/clipdex
shared=$(cd ../shared && pwd)
model=$shared/fixtures/models/vit-tiny/hf
mkdir -p "$work"
venv=$work/venv
if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$venv"
  "$venv/bin/pip" install -q "numpy<2" "peft==0.10.0" "transformers==4.40.2" "safetensors<0.5" "accelerate<0.30"
fi

# A fresh adapter on three kinds of module, rsLoRA, a few steps on the fixture photographs.
: > "$work/pairs.jsonl"
for pair in "astronaut:an astronaut next to a flag" "chelsea:a tabby cat" "coffee:a cup of coffee" \
            "motorcycle_right:a red motorcycle" "rocket:a rocket launch" "camera:a man with a camera"; do
  name=${pair%%:*}; text=${pair#*:}
  file=$(ls "$shared/fixtures/images/$name".* | head -1)
  printf '{"image": "%s", "text": "%s"}\n' "$file" "$text" >> "$work/pairs.jsonl"
done
rm -rf "$work/adapter" "$work/adapter.checkpoint"
"$clipdex" finetune --model "$model" --pairs "$work/pairs.jsonl" --out "$work/adapter" --rank 4 --alpha 8 \
  --targets q_proj,v_proj,fc1 --rslora --steps 6 --batch-size 3 --lr 5e-3 --seed 1 >/dev/null

# clipdex's embeddings with the adapter: texts, and an image from its exactly decoded pixels.
printf '{"text": "a photo of a cat"}\n{"text": "a rocket on the launch pad"}\n' > "$work/texts.jsonl"
"$clipdex" tokenize --vocab "$model" --context 77 < "$work/texts.jsonl" > "$work/ids.jsonl"
"$clipdex" embed --model "$model" --adapter "$work/adapter" --precision fp32 < "$work/texts.jsonl" > "$work/text_embeds.jsonl"
image=$shared/fixtures/images/chelsea.png
"$clipdex" preprocess "$image" --size 224 --out "$work/pixels.safetensors"
printf '{"image": "%s"}\n' "$image" | "$clipdex" embed --model "$model" --adapter "$work/adapter" --precision fp32 \
  --exact-decode > "$work/image_embeds.jsonl"

"$venv/bin/python" - "$work" "$model" <<'PY'
import json, sys
import numpy as np
import torch
from peft import PeftModel
from safetensors.numpy import load_file
from transformers import CLIPModel

work, model_dir = sys.argv[1], sys.argv[2]
base = CLIPModel.from_pretrained(model_dir).eval()
model = PeftModel.from_pretrained(base, f"{work}/adapter").eval()
config = model.peft_config["default"]
print(f"peft loaded the adapter: r={config.r}, lora_alpha={config.lora_alpha}, use_rslora={config.use_rslora}, "
      f"targets={sorted(config.target_modules)}")
ids = torch.tensor([json.loads(l)["ids"] for l in open(f"{work}/ids.jsonl")])
pixels = torch.from_numpy(load_file(f"{work}/pixels.safetensors")["pixels"])[None]
with torch.no_grad():
    text = model.get_text_features(input_ids=ids).numpy()
    image = model.get_image_features(pixel_values=pixels).numpy()
mine_text = np.array([json.loads(l)["embedding"] for l in open(f"{work}/text_embeds.jsonl")])
mine_image = np.array([json.loads(l)["embedding"] for l in open(f"{work}/image_embeds.jsonl")])
rel = lambda a, b: float(np.max(np.linalg.norm(a - b, axis=-1) / np.linalg.norm(b, axis=-1)))
t, i = rel(mine_text, text), rel(mine_image, image)
print(f"clipdex vs peft with the adapter: texts rel {t:.2e}, image rel {i:.2e}")
sys.exit(0 if t <= 1e-4 and i <= 1e-3 else 1)
PY
