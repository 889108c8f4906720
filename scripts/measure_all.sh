#!/usr/bin/env bash
# Runs every measurement the README shows, one after another on this machine, so that its tables
# come from one commit and one sitting: the cache comparison, the per-token trace, the sweep, the
# memory and prefix suites, paged against prealloc decode, the chat loop measurement, then
# kvscope against llama.cpp (speed and faithfulness; scripts/compare_llama_cpp.py builds
# llama.cpp's tools once, cached) and kvscope serve against llama-server. Keep the machine
# otherwise idle while it runs (about an hour on 2 cores).
#
#   scripts/measure_all.sh [OUT_DIR]        default: logs/measure-COMMIT
#   KVSCOPE_SKIP_LLAMA_CPP=1 scripts/measure_all.sh   without the llama.cpp comparisons
#
# Each measurement's console output goes to OUT_DIR/NAME.txt (its JSON beside it), headed by the
# command, the commit and the CPU; progress goes to stderr.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
kvscope="$root/build/release/tools/kvscope/kvscope"
[[ -x $kvscope ]] || { echo "measure_all: build first (scripts/build.sh)" >&2; exit 1; }
commit="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src tools include || echo -dirty)"
out="${1:-logs/measure-$commit}"
mkdir -p "$out"
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"

# measure NAME COMMAND...: runs it with its output in OUT/NAME.txt.
measure() {
  local name="$1"
  shift
  echo "measure_all: $name: $*" >&2
  local start=$SECONDS
  {
    echo "\$ $*"
    echo "commit $commit, $cpu, $(nproc) cores, $(date -u +%FT%TZ)"
    echo
    "$@"
  } >"$out/$name.txt"
  echo "measure_all: $name done in $((SECONDS - start)) s" >&2
}

k() { "$kvscope" "$@"; }
questions=$'Hello!\nWhat is your name?\nWhat color is the sky?\nHow many legs does a dog have?\nWhat is 2 plus 3?\nWhat do you use a pen for?\n'
chat_with() { printf '%s' "$questions" | "$kvscope" chat "$@"; }

measure kv_compare k bench kv-compare -r 3 --strategies none,concat,prealloc,paged \
  --json "$out/kv_compare.json" --plot "$out/plots"
measure trace k bench trace -r 3 --json "$out/trace.json" --plot "$out/plots"
measure sweep k bench sweep --prompt-tokens 8,32 --new-tokens 8 --batch 1,4 -r 2 --warmup 0 \
  --strategies none,paged --json "$out/sweep.json" --plot "$out/plots"
measure memory k bench memory -r 1 --warmup 0 --json "$out/memory.json"
measure memory64 k bench memory --requests 64 --strategies paged -r 3 --warmup 0 \
  --json "$out/memory64.json"
measure prefix k bench prefix -r 2 --warmup 1 --json "$out/prefix.json"
measure paged_speed k bench speed -p 0 -n 128 -d 0,512 --cache prealloc,paged -r 5
measure paged_speed_batched k bench speed -p 0 -n 32 -d 128 -npl 8,32 --cache prealloc,paged -r 5
measure chat_greedy chat_with --temp 0
measure chat_default chat_with
if [[ -z ${KVSCOPE_SKIP_LLAMA_CPP:-} ]]; then
  measure llama_cpp python3 scripts/compare_llama_cpp.py --reps 3 --json "$out/llama_cpp.json"
  measure llama_cpp_kquant python3 scripts/compare_llama_cpp.py --reps 3 --models Q4_K_M,Q5_K_M \
    --json "$out/llama_cpp_kquant.json"
  measure llama_server python3 scripts/compare_llama_server.py --out "$out/llama_server" \
    --json "$out/llama_server.json"
fi
echo "measure_all: everything is in $out" >&2
