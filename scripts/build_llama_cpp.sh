#!/usr/bin/env bash
# Builds llama.cpp's comparison tools (llama-bench, llama-batched-bench, llama-completion or
# llama-cli, llama-tokenize, llama-quantize, llama-perplexity) from the llama-cpp-python sdist on
# PyPI, whose vendor/llama.cpp holds llama.cpp's source. The build is cached outside the repo in
# ${KVSCOPE_CACHE:-~/.cache/kvscope}/llama.cpp and reused while the pinned version matches.
# It is a comparison tool for scripts/compare_llama_cpp.sh, never a test dependency.
#
#   scripts/build_llama_cpp.sh                  build (about 15 minutes on 2 cores)
#   scripts/build_llama_cpp.sh --quantize GGUF  also write Q8_0 and F16 copies of GGUF next to the build
set -euo pipefail

version="0.3.36"
cache="${KVSCOPE_CACHE:-$HOME/.cache/kvscope}/llama.cpp"
bin="$cache/build/bin"
stamp="$cache/build/.kvscope-version"
targets=(llama-bench llama-batched-bench llama-tokenize llama-quantize llama-perplexity llama-completion llama-cli)

if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$version" ]]; then
  echo "building llama.cpp from llama-cpp-python $version into $cache ..." >&2
  rm -rf "$cache"
  mkdir -p "$cache"
  python3 -m pip download --quiet --no-deps --no-binary :all: --disable-pip-version-check \
    -d "$cache" "llama-cpp-python==$version"
  tar -xzf "$cache"/llama_cpp_python-"$version".tar.gz -C "$cache"
  mv "$cache/llama_cpp_python-$version/vendor/llama.cpp" "$cache/src"
  rm -rf "$cache/llama_cpp_python-$version" "$cache"/*.tar.gz
  cmake -S "$cache/src" -B "$cache/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
    -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF >/dev/null
  known="$(cmake --build "$cache/build" --target help)"
  available=()
  for t in "${targets[@]}"; do
    if grep -q "^$t:" <<<"$known"; then available+=("$t"); fi
  done
  echo "targets: ${available[*]}" >&2
  nice -n 15 cmake --build "$cache/build" -j "$(nproc)" --target "${available[@]}"
  echo "$version" > "$stamp"
fi

if [[ "${1:-}" == "--quantize" ]]; then
  model="${2:?--quantize needs a GGUF file}"
  base="$(basename "$model" .gguf)"
  base="${base%.Q4_1}"
  for type in Q8_0 F16; do
    out="$cache/models/$base.$type.gguf"
    if [[ ! -f "$out" ]]; then
      mkdir -p "$cache/models"
      "$bin/llama-quantize" --allow-requantize "$model" "$out" "$type" >/dev/null 2>&1
      echo "wrote $out" >&2
    fi
  done
fi
echo "$bin"
