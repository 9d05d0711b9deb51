#!/usr/bin/env bash
# Installs clipdex from a build tree into a scratch prefix and builds programs outside the tree
# against it: examples/search_photos.cpp through find_package(clipdex) (shared and static) and
# tests/c_api_smoke.c through pkg-config. Each then runs the checks its in-tree twin runs.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR CLIPDEX_BINARY SHARED_DIR [EXTRA_COMPILER_FLAGS]
set -euo pipefail
build=$1 source=$2 clipdex=$3 shared=$4 flags=${5:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" --component dev > /dev/null
for f in include/clipdex/clipdex.h include/clipdex/clipdex_c.h lib/libclipdex.a lib/cmake/clipdex/clipdexConfig.cmake; do
  [ -e "$prefix/$f" ] || { echo "not installed: $f"; exit 1; }
done
# Nothing of the build tree may leak into what was installed.
if grep -rl "$source" "$prefix/lib/cmake" "$prefix/lib/pkgconfig"; then echo "installed files name the source tree"; exit 1; fi

cmake -S "$source/tests/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  -DEXAMPLE_SOURCE="$source/examples/search_photos.cpp" -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" > /dev/null
cmake --build "$work/consumer" > /dev/null
# The shared build must load the installed library, not one from the build tree.
# (ldd's output is read whole first: grep -q stopping early would fail the pipe under pipefail.)
loaded=$(ldd "$work/consumer/search_photos_shared")
grep -q "$prefix/lib/libclipdex.so" <<< "$loaded" || { echo "$loaded"; exit 1; }

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cc -std=c11 $flags "$source/tests/c_api_smoke.c" -o "$work/c_consumer" $(pkg-config --cflags --libs clipdex) -lm
export LD_LIBRARY_PATH="$prefix/lib"

here=$(dirname "$0")
bash "$here/example_test.sh" "$work/consumer/search_photos_shared" "$clipdex" "$shared"
bash "$here/example_test.sh" "$work/consumer/search_photos_static" "$clipdex" "$shared"
bash "$here/c_api_test.sh" "$work/c_consumer" "$clipdex" "$shared"
echo "install ok"
