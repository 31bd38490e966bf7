#!/usr/bin/env bash
# Installs the build into a fresh prefix, then builds examples/generate.cpp against it twice,
# with find_package(tern) and with pkg-config, and checks that both tell the shipped model's
# golden story. The installed headers must not reach for anything outside include/tern/.
#   installed_package_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
source=$2
if [[ -n "${TERN_SANITIZED:-}" ]]; then
    echo "SKIPPED: a sanitized libtern needs its runtime in every program; the plain build runs this" >&2
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" > "$work/install.log"

for header in "$prefix"/include/tern/*.h; do
    if grep -E '^#include "' "$header" | grep -v '"tern/' ; then
        echo "FAIL: $header includes a header that is not installed" >&2
        exit 1
    fi
done

model=$source/models/tinystories/tinystories-bitnet.gguf
prompt=$(sed -n 's/.*"golden_prompt": "\(.*\)",/\1/p' "$source/models/tinystories/card.json")
tokens=$(sed -n 's/.*"golden_tokens": \([0-9]*\).*/\1/p' "$source/models/tinystories/card.json")
expected=$(cat "$source/models/tinystories/golden.txt")

cmake -S "$source/examples" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" > "$work/configure.log"
cmake --build "$work/cmake-build" > "$work/build.log"
got=$("$work/cmake-build/generate" "$model" "$prompt" "$tokens" 2> "$work/stderr.log")
if [[ "$got" != "$expected" ]]; then
    echo "FAIL: find_package(tern) build printed:"; echo "$got"; cat "$work/stderr.log"; exit 1
fi
grep -q "finished: length" "$work/stderr.log"

pc_dir=$(dirname "$(find "$prefix" -name tern.pc)")
flags=$(PKG_CONFIG_PATH=$pc_dir pkg-config --cflags --libs tern)
# shellcheck disable=SC2086
g++ -std=c++20 -Wall -Wextra -Werror "$source/examples/generate.cpp" $flags -o "$work/generate-pc"
got=$(LD_LIBRARY_PATH=$(dirname "$(find "$prefix" -name 'libtern.so' | head -1)") "$work/generate-pc" "$model" "$prompt" "$tokens" 2> /dev/null)
if [[ "$got" != "$expected" ]]; then
    echo "FAIL: pkg-config build printed:"; echo "$got"; exit 1
fi
echo "installed package: find_package and pkg-config builds tell the golden story"
