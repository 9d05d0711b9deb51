#!/usr/bin/env bash
# The README's main job on a machine that has only the repository: scripts/quickstart.sh run in a
# temporary copy of the checkout (tracked and untracked files, as a clone would have them), with
# no ../shared beside it.
#   quickstart_test.sh SOURCE_DIR CLIPDEX_BINARY SHARED_DIR with-model|offline
set -euo pipefail
src=$1 bin=$2 shared=$3 mode=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/clone"
git -C "$src" ls-files -z -co --exclude-standard | tar -C "$src" --null -T - -cf - | tar -C "$tmp/clone" -xf -
[ ! -e "$tmp/shared" ] || { echo "FAIL: ../shared exists beside the clone"; exit 1; }
export HOME=$tmp/home XDG_CACHE_HOME=$tmp/home/.cache CLIPDEX=$bin
mkdir -p "$HOME"
fail() { echo "FAIL: $*"; echo "--- output:"; cat "$tmp/out"; exit 1; }

case $mode in
with-model)
  # The fixture model copied in first, as a user copies a downloaded folder.
  cp -r "$shared/fixtures/models/vit-tiny/hf" "$tmp/model"
  CLIPDEX_MODEL=$tmp/model bash "$tmp/clone/scripts/quickstart.sh" >"$tmp/out" 2>&1 || fail "exit code $?"
  nsamples=$(ls "$tmp/clone/samples"/*.jpg | wc -l)
  [ "$nsamples" -ge 10 ] || fail "only $nsamples sample photos ship with the repository"
  grep -q "scanned $nsamples: $nsamples embedded" "$tmp/out" || fail "did not report indexing the $nsamples sample photos"
  nsearch=$(grep -c '^== search:' "$tmp/out")
  nresults=$(grep -Ec '^[-0-9.]+  .*samples/[a-z-]+\.jpg$' "$tmp/out")
  [ "$nsearch" -ge 3 ] || fail "ran $nsearch searches"
  [ "$nresults" -eq $((nsearch * 3)) ] || fail "printed $nresults result lines for $nsearch searches of k=3"
  # The library it built is searchable afterwards, as the closing hint says.
  found=$("$bin" search --db "$tmp/clone/build/quickstart.db" "a dog" -k 1)
  grep -q 'samples/' <<< "$found" || fail "library not reusable"
  ;;
offline)
  # Nothing listens on port 9 of loopback: the hub is unreachable, and no model is given.
  set +e
  HF_ENDPOINT=http://127.0.0.1:9 bash "$tmp/clone/scripts/quickstart.sh" >"$tmp/out" 2>&1
  rc=$?
  set -e
  [ "$rc" -eq 3 ] || fail "exit code $rc, expected 3"
  for needle in "cannot reach http://127.0.0.1:9" "HF_ENDPOINT=" "--model DIR" "CLIPDEX_MODEL="; do
    grep -qF -- "$needle" "$tmp/out" || fail "message lacks '$needle'"
  done
  ;;
*) echo "unknown mode $mode"; exit 2 ;;
esac
echo "quickstart ($mode): ok"
