#!/usr/bin/env bash
# Fails, naming the files, when any tracked C++ file differs from what clang-format makes of it
# (the style is .clang-format's). `scripts/check_format.sh --fix` formats them in place.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Vendored code (third_party/) keeps its own style.
mapfile -t files < <(git ls-files '*.cpp' '*.h' ':!:third_party/*')
if [[ "${1:-}" == "--fix" ]]; then
  clang-format -i "${files[@]}"
  exit 0
fi
unformatted=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
done
if ((${#unformatted[@]})); then
  echo "kvscope: error: ${#unformatted[@]} file(s) not clang-formatted (run scripts/check_format.sh --fix): ${unformatted[*]}" >&2
  exit 1
fi
echo "clang-format: ${#files[@]} files formatted" >&2
