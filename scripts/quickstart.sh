#!/usr/bin/env bash
# The main job end to end: get a model, index a folder of photos, search it.
#   scripts/quickstart.sh [IMAGE_DIR]
# Images: IMAGE_DIR, else the sample photographs in samples/ (CC0; see samples/README.md).
# Model:  $CLIPDEX_MODEL (a model folder or weights file) if set; else openai/clip-vit-base-patch32,
#         downloaded once by `clipdex model fetch` into ~/.cache/clipdex (honours HF_ENDPOINT).
# Program: $CLIPDEX if set, else build/src/cli/clipdex, else clipdex on PATH.
# Exit codes: 0 done, 2 bad arguments, 3 no model could be had (the message says how to get one).
set -euo pipefail
cd "$(dirname "$0")/.."

clipdex=${CLIPDEX:-build/src/cli/clipdex}
if [ ! -x "$clipdex" ]; then
  clipdex=$(command -v clipdex || true)
  [ -n "$clipdex" ] || { echo "quickstart: clipdex is not built yet: run scripts/setup.sh first" >&2; exit 2; }
fi

images=${1:-samples}
[ -d "$images" ] || { echo "quickstart: '$images' is not a folder of images" >&2; exit 2; }

repo=openai/clip-vit-base-patch32
model=${CLIPDEX_MODEL:-}
if [ -z "$model" ]; then
  echo "== model: $repo (downloaded once, then read from the cache)"
  if ! model=$("$clipdex" model fetch "$repo"); then
    cat >&2 <<EOF

quickstart: no model weights. The download of $repo did not work (see the error above),
and CLIPDEX_MODEL is not set. Three ways to get weights:
  1. From a reachable mirror of the Hugging Face hub:
       HF_ENDPOINT=https://your-mirror $clipdex model fetch $repo
  2. Copy a model folder downloaded elsewhere (model.safetensors + config.json + vocab.json +
     merges.txt, or open_clip_model.safetensors + open_clip_config.json) onto this machine and
     pass it to any command with --model DIR.
  3. Point this script at such a folder:
       CLIPDEX_MODEL=/path/to/clip-vit-base-patch32 bash scripts/quickstart.sh
EOF
    exit 3
  fi
fi

echo "== model"
"$clipdex" model info "$model"

mkdir -p build
db=build/quickstart.db
echo "== indexing $images into $db"
"$clipdex" index "$images" --db "$db" --model "$model"

for query in "a cat" "a hot air balloon in the sky" "sushi" "a rocket launch" "a red sports car"; do
  echo "== search: $query"
  "$clipdex" search --db "$db" "$query" -k 3
done

echo
echo "Next: $clipdex serve --db $db   (then open http://127.0.0.1:8080/)"
