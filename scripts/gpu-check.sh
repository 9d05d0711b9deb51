#!/usr/bin/env bash
# The GPU check of the CUDA backend (issue: GPU). Two halves, because the GPU machine has CUDA
# and PyTorch but none of our Debian libraries and no network:
#   scripts/gpu-check.sh prepare   here: builds build-cuda/ (-DCLIPDEX_CUDA=ON), packs gpu_check,
#                                  the shared libraries it needs and a few fixture models into
#                                  .gpu/payload.tar.xz (git-ignored; under 64 MiB with the tree)
#   scripts/gpu-check.sh run       on the GPU machine (repository root, .gpu carried): unpacks,
#                                  runs gpu_check (parity against the goldens and the CPU backend,
#                                  GPU flat search, clipdex speed), then PyTorch on the same GPU and
#                                  model (bench/peers/gpu_torch.py); writes everything and a
#                                  table (gpu_table.md) under $OUT (default: ./gpu-out)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}

prepare() {
  local shared=${CLIPDEX_SHARED_DIR:-../shared}
  cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DCLIPDEX_CUDA=ON \
    -DCLIPDEX_BUILD_TESTS=OFF -DCLIPDEX_BUILD_BENCH=OFF >/dev/null
  cmake --build build-cuda --target gpu_check
  rm -rf .gpu && mkdir -p .gpu/stage/lib .gpu/stage/fixtures/models
  cp build-cuda/tests/gpu/gpu_check .gpu/stage/
  # Everything gpu_check links except glibc, libstdc++ and the CUDA libraries (the GPU machine's own).
  ldd build-cuda/tests/gpu/gpu_check | awk '$3 ~ /^\// {print $3}' |
    grep -Ev '/(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|libcublas|libcublasLt|libcudart)\.so' |
    while read -r lib; do cp -L "$lib" .gpu/stage/lib/; done
  cp -L /usr/lib/x86_64-linux-gnu/libstdc++.so.6 .gpu/stage/lib/fallback-libstdc++.so.6
  for m in vit-tiny rn-tiny; do
    mkdir -p ".gpu/stage/fixtures/models/$m"
    cp "$shared/fixtures/models/$m/"{golden.safetensors,open_clip_config.json,open_clip_model.safetensors} \
      ".gpu/stage/fixtures/models/$m/"
  done
  tar -C .gpu/stage -cf - . | xz -6 -T2 > .gpu/payload.tar.xz
  rm -rf .gpu/stage
  ls -la .gpu/payload.tar.xz
}

run() {
  local out=${OUT:-$PWD/gpu-out} work=/tmp/clipdex-gpu
  mkdir -p "$out" "$work"
  python3 -c "import tarfile,sys; tarfile.open('.gpu/payload.tar.xz').extractall(sys.argv[1])" "$work"
  local lt
  lt=$(find /usr/local /opt /usr/lib -name 'libcublasLt.so.13*' 2>/dev/null | head -1 || true)
  [ -n "$lt" ] || { echo "libcublasLt.so.13 not found on this machine"; exit 1; }
  export LD_LIBRARY_PATH="$work/lib:$(dirname "$lt"):${LD_LIBRARY_PATH:-}"
  if ! "$work/gpu_check" --help >/dev/null 2>&1 && ldd "$work/gpu_check" | grep -q 'GLIBCXX.*not found'; then
    ln -sf fallback-libstdc++.so.6 "$work/lib/libstdc++.so.6"
  fi
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv | tee "$out/nvidia-smi.csv"
  local rc=0
  OMP_NUM_THREADS=${OMP_NUM_THREADS:-8} "$work/gpu_check" --fixtures "$work/fixtures" --out "$work" \
    --seconds "${GPU_CHECK_SECONDS:-2}" 2>&1 | tee "$out/gpu_check.log" || rc=1
  cp "$work/clipdex_gpu.json" "$out/" || true
  if [ -f "$work/agreement.json" ]; then
    PYTHONUNBUFFERED=1 python3 bench/peers/gpu_torch.py --model "$work/vit-b-32-random" --agreement "$work" \
      --seconds "${GPU_CHECK_SECONDS:-2}" > "$out/torch_gpu.json" 2> "$out/torch_gpu.log" || { rc=1; tail -20 "$out/torch_gpu.log"; }
  fi
  python3 bench/peers/gpu_report.py "$out/clipdex_gpu.json" "$out/torch_gpu.json" | tee "$out/gpu_table.md" || rc=1
  return $rc
}

case "$mode" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: scripts/gpu-check.sh prepare|run" >&2; exit 2 ;;
esac
