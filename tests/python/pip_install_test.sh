#!/usr/bin/env bash
# `pip install ./python` offline into a fresh virtual environment (with Debian's site packages,
# where setuptools, wheel and NumPy come from), reusing the build's CMake tree; then the
# installed package, imported from elsewhere, tells the golden story.
#   pip_install_test.sh BUILD_DIR SOURCE_DIR PYTHON
set -euo pipefail
build=$1
source=$2
python=$3
if ! "$python" -c "import venv, ensurepip" 2> /dev/null; then
    echo "SKIPPED: $python has no venv/ensurepip (Debian: python3-venv)" >&2
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m venv --system-site-packages "$work/venv"
# pip builds inside the package folder; a copy keeps the checkout clean.
cp -r "$source/python" "$work/python"
TERN_SOURCE_DIR=$source TERN_BUILD_DIR=$build PIP_NO_INDEX=1 "$work/venv/bin/pip" install --quiet "$work/python" > "$work/pip.log" 2>&1 || {
    cat "$work/pip.log"
    exit 1
}
cd "$work"
"$work/venv/bin/python" - "$source" << 'PY'
import json, sys
from pathlib import Path
import tern
models = Path(sys.argv[1]) / "models" / "tinystories"
card = json.loads((models / "card.json").read_text())
golden = (models / "golden.txt").read_text().removesuffix("\n")
assert "venv" in tern.__file__, tern.__file__
from importlib.metadata import version
assert version("tern") == tern.__version__, (version("tern"), tern.__version__)
model = tern.load(str(models / "tinystories-bitnet.gguf"), threads=2)
text = model.generate(card["golden_prompt"], max_tokens=card["golden_tokens"], temperature=0)
assert text == golden, text
print("pip-installed tern at", tern.__file__, "tells the golden story")
PY
