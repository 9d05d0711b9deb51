#!/usr/bin/env bash
# Indexing throughput with 1, 2 and 4 `clipdex index --shard I/N` processes running at once, into
# SQLite parts (then `clipdex merge`) and straight into one PostgreSQL library, on this machine.
#   bench/shard_throughput.sh CLIPDEX MODEL [IMAGES] [POSTGRES_URL]
# POSTGRES_URL: a server whose user may create databases (psql is used for that).
# MODEL: a model folder (e.g. `clipdex model make-random --arch ViT-B-32 --out M`). IMAGES
# (default 256) distinct JPEGs are made from samples/ (each a sample with a unique tail, so
# none is a duplicate of another). Prints a Markdown table; figures are images per second of
# wall time for the whole set.
set -euo pipefail
bin=$(realpath "$1") model=$(realpath "$2") count=${3:-256} url=${4:-}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir "$work/photos"
samples=("$root"/samples/*.jpg)
for ((i = 0; i < count; i++)); do
  src=${samples[$((i % ${#samples[@]}))]}
  { cat "$src"; printf '#%d' "$i"; } > "$work/photos/$i-$(basename "$src")"
done

now() { date +%s.%N; }
# run_parts N DB: N shard processes at once, each into DB (a part file per process when DB is
# "parts"), and waits for all.
run_parts() {
  local n=$1 db=$2 pids=() target
  for ((i = 0; i < n; i++)); do
    target=$db
    [ "$db" = parts ] && target=$work/parts/part-$i.db
    "$bin" index "$work/photos" --shard "$i/$n" --db "$target" --model "$model" --quiet \
      --threads $(( $(nproc) / n > 0 ? $(nproc) / n : 1 )) >/dev/null &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
}

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $count JPEG photos; model $(basename "$model")"
echo
echo "| processes | SQLite parts: images/s | + merge s | PostgreSQL: images/s |"
echo "|---|---|---|---|"
for n in 1 2 4; do
  rm -rf "$work/parts" && mkdir "$work/parts"
  t0=$(now)
  run_parts "$n" parts
  t1=$(now)
  "$bin" merge "$work"/parts/part-*.db --db "$work/parts/merged.db" --quiet >/dev/null
  t2=$(now)
  pg="-"
  if [ -n "$url" ]; then
    # A fresh database per run, on the server the URL names (psql: Debian's postgresql-client).
    name=clipdex_bench_shards_$n
    psql -q "$url" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" -c "CREATE DATABASE $name" >/dev/null 2>&1
    base=${url%%\?*} query=${url#"$base"}
    t3=$(now)
    run_parts "$n" "${base%/*}/$name$query"
    t4=$(now)
    pg=$(awk -v c="$count" -v a="$t3" -v b="$t4" 'BEGIN {printf "%.1f", c / (b - a)}')
  fi
  awk -v n="$n" -v c="$count" -v a="$t0" -v b="$t1" -v m="$t2" -v pg="$pg" \
    'BEGIN {printf "| %d | %.1f | %.1f | %s |\n", n, c / (b - a), m - b, pg}'
done
