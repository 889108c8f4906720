#!/usr/bin/env bash
# The main job on a fresh machine: installs what kvscope needs, fetches the default model,
# builds the release binary and runs `kvscope demo` (extra arguments go to the demo).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/install_deps.sh
scripts/fetch_model.sh
scripts/build.sh release >/dev/null
exec build/release/tools/kvscope/kvscope demo "$@"
