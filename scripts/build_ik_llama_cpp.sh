#!/usr/bin/env bash
# Builds ik_llama.cpp's llama-bench and llama-batched-bench, outside the repo, cached: the fastest
# CPU fork of llama.cpp, a comparison column of scripts/compare_llama_cpp.py (--ik-llama-cpp),
# never a test dependency.
#
#   scripts/build_ik_llama_cpp.sh            clone the pinned commit from GitHub (git and network),
#                                            then build (about 40 minutes on 2 cores from cold)
#   scripts/build_ik_llama_cpp.sh SOURCE     build an ik_llama.cpp tree already here instead
#   scripts/build_ik_llama_cpp.sh --force    rebuild even if the stamp matches
#
# Layout, under ${KVSCOPE_CACHE:-~/.cache/kvscope}/ik_llama.cpp:
#   src/                 the clone (when no SOURCE is given)
#   build/bin/           llama-bench, llama-batched-bench
#   build/.kvscope-stamp the source and the configuration built
#
# Progress goes to stderr; the only line on stdout is the bin directory, printed last.
# Environment: KVSCOPE_CACHE (cache root), LLAMA_CPP_JOBS (build jobs, default 2).
set -euo pipefail

# Pinned: ik_llama.cpp's main branch when this was written (2026-08-15).
commit="8337e4cd3861406fc04e0854b1409cd1b027fbc9"
repository="https://github.com/ikawrakow/ik_llama.cpp"
targets=(llama-bench llama-batched-bench)

cache="${KVSCOPE_CACHE:-$HOME/.cache/kvscope}/ik_llama.cpp"
build_dir="$cache/build"
jobs="${LLAMA_CPP_JOBS:-2}"

say() { echo "build_ik_llama_cpp: $*" >&2; }
die() { say "error: $*"; exit 1; }

force=0
source=""
while (($#)); do
  case "$1" in
    --force) force=1; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    -*) die "unknown option: $1" ;;
    *) source="$(cd "$1" && pwd)" || die "no such directory: $1"; shift ;;
  esac
done

if [[ -z "$source" ]]; then
  source="$cache/src"
  if [[ "$(git -C "$source" rev-parse HEAD 2>/dev/null)" != "$commit" ]]; then
    say "cloning $repository at $commit ..."
    rm -rf "$source"
    git clone --quiet "$repository" "$source" >&2 || die "git clone $repository failed"
    git -C "$source" checkout --quiet "$commit" || die "commit $commit is not in the clone"
  fi
fi
[[ -f "$source/CMakeLists.txt" && -f "$source/examples/llama-bench/llama-bench.cpp" ]] \
  || die "$source is not an ik_llama.cpp tree"

cmake_args=(
  -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF
)
stamp_text="source=$source
config=$(printf '%s\n' "${cmake_args[@]}" | sha256sum | cut -c1-16)"
bin="$build_dir/bin"
if ((force == 0)) && [[ "$(cat "$build_dir/.kvscope-stamp" 2>/dev/null)" == "$stamp_text" ]] &&
   [[ -x "$bin/llama-bench" && -x "$bin/llama-batched-bench" ]]; then
  say "up to date: $bin"
  echo "$bin"
  exit 0
fi

generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
if [[ -f "$build_dir/CMakeCache.txt" ]] && ! grep -q "^CMAKE_HOME_DIRECTORY:INTERNAL=$source$" "$build_dir/CMakeCache.txt"; then
  rm -rf "$build_dir"
fi
mkdir -p "$cache"  # a SOURCE given: nothing has made it yet
say "configuring (CMake, Release, GGML_NATIVE=ON, CPU only, static) in $build_dir ..."
cmake -S "$source" -B "$build_dir" "${generator[@]}" --no-warn-unused-cli "${cmake_args[@]}" \
  > "$cache/configure.log" 2>&1 || { tail -n 30 "$cache/configure.log" >&2; die "configure failed (log: $cache/configure.log)"; }
say "building ${targets[*]} with nice -n 15, $jobs jobs (log: $cache/build.log) ..."
start=$SECONDS
if ! nice -n 15 cmake --build "$build_dir" -j "$jobs" --target "${targets[@]}" 2>&1 | tee "$cache/build.log" |
     { grep --line-buffered -E '^\[ *[0-9]+(/[0-9]+|%)\]' || true; } >&2; then
  tail -n 40 "$cache/build.log" >&2
  die "build failed (log: $cache/build.log)"
fi
say "built in $((SECONDS - start)) s"
echo "$stamp_text" > "$build_dir/.kvscope-stamp"
echo "$bin"
