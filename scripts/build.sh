#!/usr/bin/env bash
# Builds kvscope: `scripts/build.sh` for the release build in build/release,
# `scripts/build.sh sanitize` for the AddressSanitizer + UndefinedBehaviorSanitizer one in build/sanitize,
# `scripts/build.sh tsan` for the ThreadSanitizer tests of the threaded code in build/tsan.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kind="${1:-release}"
targets=()
case "$kind" in
  release) flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  sanitize) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DKVSCOPE_SANITIZE=ON) ;;
  tsan) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DKVSCOPE_TSAN=ON) targets=(--target kvscope_thread_tests) ;;
  fuzz) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DKVSCOPE_FUZZ=ON -DKVSCOPE_TESTS=OFF
               -DCMAKE_CXX_COMPILER=clang++) ;;
  *) echo "build.sh: unknown build '$kind' (release, sanitize, tsan or fuzz)" >&2; exit 1 ;;
esac
cmake -S "$root" -B "$root/build/$kind" -G Ninja "${flags[@]}" >/dev/null
# The build's progress (ninja's "[12/109] Building ..." lines) goes to stderr, so that it shows
# even when a caller keeps stdout for itself.
cmake --build "$root/build/$kind" -j "$(nproc)" "${targets[@]}" >&2
