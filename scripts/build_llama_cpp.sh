#!/usr/bin/env bash
# Builds llama.cpp's comparison tools from the llama-cpp-python sdist on PyPI (its vendor/llama.cpp
# holds llama.cpp's source), outside the repo, cached. Comparison tools for
# scripts/compare_llama_cpp.py, scripts/compare_llama_server.py and
# scripts/make_tokenizer_goldens.py, never a test dependency.
#
#   scripts/build_llama_cpp.sh                   build once (about 15 minutes on 2 cores from cold), then
#                                                exit at once while the pinned version matches
#   scripts/build_llama_cpp.sh --quantize GGUF   also write Q8_0, F16, BF16, Q4_K_M and Q5_K_M copies of GGUF (any
#                                                quantization) with llama-quantize --allow-requantize
#   scripts/build_llama_cpp.sh --force           rebuild even if the stamp matches
#   scripts/build_llama_cpp.sh --source          only fetch and extract the source (minutes, no build),
#                                                print its directory: models/ggml-vocab-*.gguf are the
#                                                vocabularies tests/tokenizer/llama_cpp_vocab_test.cpp reads
#
# Layout, under ${KVSCOPE_CACHE:-~/.cache/kvscope}:
#   llama.cpp/sdist/llama_cpp_python-VERSION.tar.gz   the downloaded sdist (sha256 checked)
#   llama.cpp/src/                                    its vendor/llama.cpp
#   llama.cpp/build-VERSION/                          the CMake build; llama.cpp/build links to it
#   llama.cpp/build/bin/                              llama-bench, llama-batched-bench, llama-server, ...
#   llama.cpp/build/.kvscope-stamp                    version, configuration and targets built
#   models/NAME.Q8_0.gguf, models/NAME.F16.gguf, ... --quantize's output (also linked into
#                                                     llama.cpp/models, where compare_llama_cpp.py looks)
#
# Progress goes to stderr; the only line on stdout is the bin directory (the source directory with
# --source), printed last.
# Environment: KVSCOPE_CACHE (cache root), LLAMA_CPP_JOBS (build jobs, default 2).
set -euo pipefail

# Pinned: the newest llama-cpp-python on PyPI when this was written. To move on, change both lines
# (the sha256 is that of the sdist, as `sha256sum` prints it).
version="0.3.36"
sdist_sha256="832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"

# llama-completion was called llama-cli before llama.cpp split the two; the first that exists is built.
required=(llama-bench llama-batched-bench llama-tokenize llama-quantize llama-perplexity llama-server)
completion_candidates=(llama-completion llama-cli)
quant_types=(Q8_0 F16 BF16 Q4_K_M Q5_K_M)

root="${KVSCOPE_CACHE:-$HOME/.cache/kvscope}"
cache="$root/llama.cpp"
build_link="$cache/build"
build_dir="$cache/build-$version"
bin="$build_link/bin"
stamp="$build_link/.kvscope-stamp"
models="$root/models"
jobs="${LLAMA_CPP_JOBS:-2}"

cmake_args=(
  -DCMAKE_BUILD_TYPE=Release
  -DGGML_NATIVE=ON
  -DBUILD_SHARED_LIBS=OFF
  -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF
  -DLLAMA_BUILD_COMMON=ON -DLLAMA_BUILD_TOOLS=ON
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_APP=OFF
  -DGGML_CUDA=OFF -DGGML_HIP=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_SYCL=OFF
  -DGGML_OPENCL=OFF -DGGML_MUSA=OFF -DGGML_CANN=OFF -DGGML_KOMPUTE=OFF -DGGML_RPC=OFF
)
config_line="config=$(printf '%s\n' "${cmake_args[@]}" | sha256sum | cut -c1-16)"

say() { echo "build_llama_cpp: $*" >&2; }
die() { say "error: $*"; exit 1; }

usage() { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//' >&2; }

force=0
source_only=0
quantize_model=""
while (($#)); do
  case "$1" in
    --quantize)
      [[ $# -ge 2 ]] || die "--quantize needs a GGUF file"
      quantize_model="$2"; shift 2 ;;
    --quantize=*) quantize_model="${1#--quantize=}"; shift ;;
    --force) force=1; shift ;;
    --source) source_only=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage; die "unknown argument: $1" ;;
  esac
done
if [[ -n "$quantize_model" && ! -f "$quantize_model" ]]; then
  die "no such model: $quantize_model"
fi

# The build is current when the stamp names this version and configuration and every target it
# lists is there.
build_is_current() {
  [[ -f "$stamp" ]] || return 1
  [[ "$(sed -n 1p "$stamp")" == "llama-cpp-python=$version" ]] || return 1
  [[ "$(sed -n 2p "$stamp")" == "$config_line" ]] || return 1
  local targets t
  targets="$(sed -n 's/^targets=//p' "$stamp")"
  [[ -n "$targets" ]] || return 1
  for t in $targets; do [[ -x "$bin/$t" ]] || return 1; done
}

fetch_source() {
  if [[ -f "$cache/src/.kvscope-version" && "$(cat "$cache/src/.kvscope-version")" == "$version" ]]; then
    say "source: $cache/src (llama-cpp-python $version, already extracted)"
    return
  fi
  local sdist="$cache/sdist/llama_cpp_python-$version.tar.gz"
  if [[ ! -f "$sdist" ]]; then
    say "downloading the llama-cpp-python $version sdist from PyPI ..."
    mkdir -p "$cache/sdist"
    # --no-binary for this package only: with :all:, pip would also build the sdist's build
    # dependencies (cmake among them) from source just to read its metadata.
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary llama-cpp-python \
      -d "$cache/sdist" "llama-cpp-python==$version" >&2
    [[ -f "$sdist" ]] || die "pip download did not produce $sdist"
  fi
  local sum
  sum="$(sha256sum "$sdist" | cut -d' ' -f1)"
  if [[ "$sum" != "$sdist_sha256" ]]; then
    rm -f "$sdist"
    die "sha256 of $sdist is $sum, expected $sdist_sha256 (removed it; if the pin was changed, update sdist_sha256)"
  fi
  say "extracting vendor/llama.cpp to $cache/src ..."
  local tmp="$cache/src.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  tar -xzf "$sdist" -C "$tmp" "llama_cpp_python-$version/vendor/llama.cpp"
  [[ -f "$tmp/llama_cpp_python-$version/vendor/llama.cpp/CMakeLists.txt" ]] \
    || die "the sdist has no vendor/llama.cpp/CMakeLists.txt"
  # vendor/llama.cpp/.git points at the llama-cpp-python checkout's submodule store, absent here.
  rm -f "$tmp/llama_cpp_python-$version/vendor/llama.cpp/.git"
  echo "$version" > "$tmp/llama_cpp_python-$version/vendor/llama.cpp/.kvscope-version"
  rm -rf "$cache/src"
  mv "$tmp/llama_cpp_python-$version/vendor/llama.cpp" "$cache/src"
  rm -rf "$tmp"
}

build() {
  fetch_source
  local generator=()
  if command -v ninja >/dev/null; then generator=(-G Ninja); fi
  if [[ -f "$build_dir/CMakeCache.txt" ]] && ! grep -q "^CMAKE_HOME_DIRECTORY:INTERNAL=$cache/src$" "$build_dir/CMakeCache.txt"; then
    rm -rf "$build_dir"
  fi
  say "configuring (CMake, Release, GGML_NATIVE=ON, CPU only, static) in $build_dir ..."
  cmake -S "$cache/src" -B "$build_dir" "${generator[@]}" --no-warn-unused-cli "${cmake_args[@]}" \
    > "$cache/configure.log" 2>&1 || { tail -n 30 "$cache/configure.log" >&2; die "configure failed (log: $cache/configure.log)"; }

  local known t targets=() missing=()
  known="$(cmake --build "$build_dir" --target help 2>/dev/null)"
  has_target() { grep -Eq "^($1:|\.\.\. $1( |\$))" <<<"$known"; }
  for t in "${required[@]}"; do
    if has_target "$t"; then targets+=("$t"); else missing+=("$t"); fi
  done
  local completion=""
  for t in "${completion_candidates[@]}"; do
    if has_target "$t"; then completion="$t"; break; fi
  done
  if [[ -n "$completion" ]]; then targets+=("$completion"); else missing+=("${completion_candidates[*]}"); fi
  ((${#targets[@]})) || die "none of the tool targets exist in llama.cpp from llama-cpp-python $version"
  say "targets: ${targets[*]}"
  ((${#missing[@]} == 0)) || say "warning: not in this version, skipped: ${missing[*]}"

  say "building with nice -n 15, $jobs jobs (about 15 minutes on 2 cores from cold, longer on a busy machine; log: $cache/build.log) ..."
  local start=$SECONDS
  # The whole output goes to the log, its progress lines ("[12/152] Building ...") to stderr too.
  if ! nice -n 15 cmake --build "$build_dir" -j "$jobs" --target "${targets[@]}" 2>&1 | tee "$cache/build.log" |
       { grep --line-buffered -E '^\[ *[0-9]+(/[0-9]+|%)\]' || true; } >&2; then
    tail -n 40 "$cache/build.log" >&2
    die "build failed (log: $cache/build.log)"
  fi
  say "built in $((SECONDS - start)) s"

  printf 'llama-cpp-python=%s\n%s\ntargets=%s\n' "$version" "$config_line" "${targets[*]}" > "$build_dir/.kvscope-stamp"

  # Point llama.cpp/build at this version's build (a real directory there is an older layout's).
  if [[ -L "$build_link" ]]; then
    ln -sfn "build-$version" "$cache/build.link.$$"
    mv -T "$cache/build.link.$$" "$build_link"
  else
    if [[ -e "$build_link" ]]; then mv -T "$build_link" "$cache/build.old.$$"; fi
    ln -s "build-$version" "$build_link"
  fi
  rm -rf "$cache/build.old.$$"
  local old
  for old in "$cache"/build-*; do
    [[ "$old" == "$build_dir" || ! -d "$old" ]] || { say "removing the older build $old"; rm -rf "$old"; }
  done
  say "done: $bin"
}

quantize() {
  local model="$1" base type out tmp
  base="$(basename "$model" .gguf)"
  # SmolLM2-135M-Instruct.Q4_1 -> SmolLM2-135M-Instruct
  if [[ "$base" =~ ^(.+)[.-]([Qq][0-9]_[A-Za-z0-9_]+|I[Qq][0-9]_[A-Za-z0-9_]+|[Ff]16|[Ff]32|[Bb][Ff]16)$ ]]; then
    base="${BASH_REMATCH[1]}"
  fi
  mkdir -p "$models"
  for type in "${quant_types[@]}"; do
    out="$models/$base.$type.gguf"
    if [[ -s "$out" ]]; then
      say "$type: $out (already there)"
    else
      say "$type: llama-quantize --allow-requantize $model -> $out ..."
      tmp="$out.tmp.$$"
      if ! "$bin/llama-quantize" --allow-requantize "$model" "$tmp" "$type" "$jobs" > "$cache/quantize.log" 2>&1; then
        rm -f "$tmp"
        tail -n 20 "$cache/quantize.log" >&2
        die "llama-quantize to $type failed (log: $cache/quantize.log)"
      fi
      mv -f "$tmp" "$out"
      say "$type: wrote $out ($(stat -c %s "$out") bytes, sha256 $(sha256sum "$out" | cut -d' ' -f1))"
    fi
    # compare_llama_cpp.py looks for the copies in llama.cpp/models, next to the build.
    if [[ ! -e "$cache/models" ]]; then
      ln -s ../models "$cache/models"
    elif [[ ! -e "$cache/models/$base.$type.gguf" ]]; then
      ln "$out" "$cache/models/$base.$type.gguf" 2>/dev/null || cp "$out" "$cache/models/$base.$type.gguf"
    fi
  done
}

mkdir -p "$cache"
if ((source_only)); then
  # An extracted source is never changed again, so it is read without waiting for a build.
  if [[ "$(cat "$cache/src/.kvscope-version" 2>/dev/null)" != "$version" ]]; then
    exec 9> "$cache/.lock"
    flock 9
    fetch_source
    exec 9>&-
  fi
  echo "$cache/src"
  exit 0
fi
if ((force)) || ! build_is_current || [[ -n "$quantize_model" ]]; then
  # One build at a time: a second run waits for the first, then finds the build current.
  exec 9> "$cache/.lock"
  flock 9
  if ((force)) || ! build_is_current; then
    say "building llama.cpp from llama-cpp-python $version into $cache"
    build
  else
    say "llama.cpp from llama-cpp-python $version is built: $bin"
  fi
  [[ -z "$quantize_model" ]] || quantize "$quantize_model"
  exec 9>&-
else
  say "llama.cpp from llama-cpp-python $version is built, nothing to do: $bin"
fi
echo "$bin"
