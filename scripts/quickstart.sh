#!/usr/bin/env bash
# The main job end to end: get a model, index a folder of images, search it.
#   scripts/quickstart.sh [IMAGE_DIR]
# Model: $CLIPDEX_MODEL if set; else the small fixture model in ../shared (development
# checkouts); else openai/clip-vit-base-patch32 from the Hugging Face hub (needs internet).
set -euo pipefail
cd "$(dirname "$0")/.."
clipdex=build/src/cli/clipdex
[ -x "$clipdex" ] || { echo "build first: scripts/setup.sh" >&2; exit 1; }

images=${1:-../shared/fixtures/images}
model=${CLIPDEX_MODEL:-}
if [ -z "$model" ]; then
  if [ -d ../shared/fixtures/models/vit-tiny/hf ]; then
    model=../shared/fixtures/models/vit-tiny/hf
    echo "Using the random-weight fixture model (results are not meaningful; set CLIPDEX_MODEL for real weights)."
  else
    model=$("$clipdex" model fetch openai/clip-vit-base-patch32)
  fi
fi

"$clipdex" model info "$model"
db=$(mktemp -d)/library.db
"$clipdex" index "$images" --db "$db" --model "$model"
for query in "a photo of a cat" "a rocket launch" "a cup of coffee"; do
  echo "== $query"
  "$clipdex" search --db "$db" "$query" -k 3
done
