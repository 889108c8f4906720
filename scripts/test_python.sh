#!/usr/bin/env bash
# Builds the Python package with `pip install .`, the README's command (build isolation: pip
# brings scikit-build-core and nanobind from PyPI), into a virtual environment, build/venv, and
# runs its tests with pytest. The extension builds in build/python, so a second run rebuilds only
# what changed; ccache, when present, serves objects compiled before, here or in another checkout.
#
#   scripts/test_python.sh [PYTEST ARGS]          the release package and its tests
#   scripts/test_python.sh --asan [PYTEST ARGS]   the package built with AddressSanitizer and
#                                                 UndefinedBehaviorSanitizer (build/python-asan,
#                                                 venv build/venv-asan), its tests run with the
#                                                 sanitizers' runtimes preloaded into Python
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
asan=0
if [[ ${1:-} == --asan ]]; then
  asan=1
  shift
fi
suffix=""
build=()
((asan)) && suffix="-asan" && build=(-C build-dir=build/python-asan -C cmake.build-type=RelWithDebInfo
                                     -C cmake.define.KVSCOPE_SANITIZE=ON)
venv="$root/build/venv$suffix"
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install --quiet numpy pytest
"${pip[@]}" install --quiet "${build[@]}" .
if ((asan)); then
  # Python itself is not instrumented, so the runtimes must be loaded before it. Leak checking
  # is off: the interpreter keeps its own objects alive at exit by design.
  LD_PRELOAD="$(g++ -print-file-name=libasan.so) $(g++ -print-file-name=libubsan.so)" \
    ASAN_OPTIONS="detect_leaks=0:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1" \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/python "$@"
else
  "$venv/bin/python" -m pytest -q tests/python "$@"
fi
