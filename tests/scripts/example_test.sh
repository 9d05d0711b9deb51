#!/usr/bin/env bash
# Runs examples/search_photos on a copy of the fixture photos and checks its answers against
# `clipdex search` on the library it made: same first hit and score; a format filter keeps only
# the JPEG.
set -euo pipefail
example=$1 clipdex=$2 shared=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$shared/fixtures/images" "$work/photos"
rm -f "$work/photos/"*.safetensors
model="$shared/fixtures/models/vit-tiny/hf"
"$example" "$model" "$work/photos" "$work/lib.db" "a photo of a rocket" > "$work/out.txt"
[ "$(wc -l < "$work/out.txt")" -eq 5 ] || { echo "expected 5 results"; cat "$work/out.txt"; exit 1; }
first=$(head -1 "$work/out.txt" | cut -f2)
want=$("$clipdex" search "a photo of a rocket" --db "$work/lib.db" -k 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["path"])')
[ "$first" = "$want" ] || { echo "example ranks $first first, clipdex search ranks $want"; exit 1; }
"$example" "$model" "$work/photos" "$work/lib.db" "a photo" --format jpeg > "$work/jpeg.txt"
[ "$(wc -l < "$work/jpeg.txt")" -eq 1 ] && grep -q "rocket.jpg" "$work/jpeg.txt" || { echo "format filter"; cat "$work/jpeg.txt"; exit 1; }
echo "example ok: $first"
