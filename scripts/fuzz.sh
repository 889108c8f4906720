#!/usr/bin/env bash
# Fuzzes the readers of untrusted files: `scripts/fuzz.sh [SECONDS]` builds the libFuzzer targets of
# tests/fuzz/ in build/fuzz (clang, AddressSanitizer + UndefinedBehaviorSanitizer) and runs each for
# SECONDS seconds (default 60; 0 runs the seed corpus once). Each run starts from the committed
# seeds in tests/fuzz/corpus/ and keeps what it finds in a temporary directory, so the tree is left
# as it was. A crash, leak, timeout (>10 s an input) or memory use past 2 GB is a finding: its input
# and the fuzzer's log are kept in build/fuzz/findings/<fuzzer>/, and the script exits 1.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
if [[ ! "$seconds" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS]" >&2
  exit 2
fi
build="$root/build/fuzz"

# The configuration of `scripts/build.sh fuzz`, but only the fuzzers and the libraries they link
# are built.
flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DKVSCOPE_FUZZ=ON -DKVSCOPE_TESTS=OFF
       -DCMAKE_CXX_COMPILER=clang++)
if command -v ccache >/dev/null; then flags+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S "$root" -B "$build" -G Ninja "${flags[@]}" >/dev/null

fuzzers=(fuzz_gguf fuzz_safetensors)
targets="$(ninja -C "$build" -t targets all)"
if [[ "$targets" == *$'\n'"fuzz_tokenizer_metadata: "* ]]; then fuzzers+=(fuzz_tokenizer_metadata); fi
cmake --build "$build" -j "$(nproc)" --target "${fuzzers[@]}"

# Undefined behaviour is reported and survived by default; make it a crash libFuzzer records.
# Options already in the environment come later, so they win.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

seeds_of() {
  case "$1" in
    fuzz_safetensors) echo safetensors ;;
    *) echo gguf ;;  # the tokenizer is built from a GGUF file's metadata
  esac
}

passed=0
failed=0
for fuzzer in "${fuzzers[@]}"; do
  kind="$(seeds_of "$fuzzer")"
  findings="$build/findings/$fuzzer"
  rm -rf "$findings"
  mkdir -p "$findings" "$work/$fuzzer"
  log="$findings/log.txt"
  args=(-rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="$findings/"
        -dict="$root/tests/fuzz/$kind.dict")
  if ((seconds > 0)); then
    args+=(-max_total_time="$seconds")
    echo "fuzz: $fuzzer for ${seconds}s (log: ${log#"$root/"})" >&2
  else
    args+=(-runs=0)
    echo "fuzz: $fuzzer on its seeds (log: ${log#"$root/"})" >&2
  fi
  if "$build/tests/fuzz/$fuzzer" "${args[@]}" "$work/$fuzzer" "$root/tests/fuzz/corpus/$kind" \
       >"$log" 2>&1; then
    passed=$((passed + 1))
    stats="$(awk '$1 == "stat::number_of_executed_units:" { runs = $2 }
                  $1 == "stat::average_exec_per_sec:" { speed = $2 }
                  { for (i = 1; i < NF; ++i) { if ($i == "cov:") cov = $(i + 1); if ($i == "ft:") ft = $(i + 1) } }
                  END { printf "%s runs, %s exec/s, cov %s, ft %s", runs, speed, cov, ft }' "$log")"
    echo "fuzz: $fuzzer passed: $stats" >&2
  else
    failed=$((failed + 1))
    input="$(find "$findings" -maxdepth 1 -type f ! -name log.txt -print -quit)"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error:)' "$log" >&2 || true
    echo "fuzz: $fuzzer FAILED: input ${input:-(none written)}, log $log;" \
         "reproduce with $build/tests/fuzz/$fuzzer ${input:-<input>}" >&2
  fi
done
echo "fuzz: $passed passed, $failed failed"
((failed == 0))
