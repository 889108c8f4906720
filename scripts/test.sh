#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, fetches the default model and
# llama.cpp's vocabularies (the llama-cpp-python sdist from PyPI, cached), checks the C++
# formatting, builds the release and the AddressSanitizer + UndefinedBehaviorSanitizer builds and
# runs every test in both (after the release build, also the server's pytest tests against it, and
# the Python package installed in a virtual environment with its tests; after the sanitized build,
# the server's fault tests against the sanitized server and the Python package's tests on the
# package built with the same sanitizers), runs the threaded code's
# tests under ThreadSanitizer, then runs each file-format fuzzer for a bounded time.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/install_deps.sh
scripts/fetch_model.sh
# Set, it makes the vocabulary tests fail rather than skip when the files are missing.
KVSCOPE_LLAMA_CPP_VOCABS="$(scripts/build_llama_cpp.sh --source)/models"
export KVSCOPE_LLAMA_CPP_VOCABS
scripts/check_format.sh
for kind in release sanitize tsan; do
  echo "=== $kind build === (${SECONDS} s in)" >&2
  scripts/build.sh "$kind"
  (cd "build/$kind" && ctest --output-on-failure -j "$(nproc)" --timeout 900)
  if [[ $kind == release ]]; then
    echo "=== server tests (pytest) === (${SECONDS} s in)" >&2
    KVSCOPE_BIN="build/release/tools/kvscope/kvscope" python3 -m pytest -q tests/serve
    echo "=== Python package === (${SECONDS} s in)" >&2
    scripts/test_python.sh  # its tests compare with the release build's command line
  elif [[ $kind == sanitize ]]; then
    echo "=== server fault tests under ASan/UBSan (pytest) === (${SECONDS} s in)" >&2
    KVSCOPE_BIN="build/sanitize/tools/kvscope/kvscope" python3 -m pytest -q tests/serve/test_faults.py
    echo "=== Python package under ASan/UBSan === (${SECONDS} s in)" >&2
    scripts/test_python.sh --asan
  fi
done
if [[ -x scripts/fuzz.sh ]]; then
  echo "=== fuzzing === (${SECONDS} s in)" >&2
  scripts/fuzz.sh "${KVSCOPE_FUZZ_SECONDS:-60}"
fi
