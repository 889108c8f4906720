#!/usr/bin/env bash
# Builds the Python package (`pip install .`) into a virtual environment, build/venv, and runs its
# tests with pytest. The extension builds in build/python, so a second run rebuilds only what
# changed; ccache, when present, serves objects compiled before, here or in another checkout.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"
venv="$root/build/venv"
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install --quiet scikit-build-core nanobind numpy pytest
"${pip[@]}" install --quiet --no-build-isolation .
"$venv/bin/python" -m pytest -q tests/python "$@"
