#!/usr/bin/env bash
# Runs tests/c_api_smoke (C) on a copy of the fixture photos; its top hit must be what
# `clipdex search` ranks first on the library it made.
set -euo pipefail
smoke=$1 clipdex=$2 shared=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$shared/fixtures/images" "$work/photos"
out=$("$smoke" "$shared/fixtures/models/vit-tiny/hf" "$work/photos" "$work/lib.db")
echo "$out"
want=$("$clipdex" search "a photo of a rocket" --db "$work/lib.db" -k 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["path"])')
[ "$(echo "$out" | cut -f1)" = "$want" ] || { echo "C API ranks $(echo "$out" | cut -f1) first, clipdex search ranks $want"; exit 1; }
[ "$(echo "$out" | cut -f2)" = 8 ] || { echo "expected 8 embedded"; exit 1; }
