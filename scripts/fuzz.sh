#!/usr/bin/env bash
# Fuzzes the readers of untrusted files: `scripts/fuzz.sh [SECONDS]` builds the libFuzzer targets of
# tests/fuzz/ in build/fuzz (clang, AddressSanitizer + UndefinedBehaviorSanitizer) and runs each for
# SECONDS seconds (default 60; 0 runs the seed corpus once), reporting how many inputs each one
# executed. Each run starts from the committed seeds in tests/fuzz/corpus/ and keeps what it finds
# in a temporary directory, so the tree is left as it was. A crash, leak, timeout (>10 s an input)
# or memory use past 2 GB is a finding: its input and the fuzzer's log are kept in
# build/fuzz/findings/<fuzzer>/, and the script exits 1.
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
cmake -S "$root" -B "$build" -G Ninja "${flags[@]}" >/dev/null

fuzzers=(fuzz_gguf fuzz_safetensors fuzz_hf_config)
targets="$(ninja -C "$build" -t targets all)"
for fuzzer in fuzz_tokenizer_metadata fuzz_hf_tokenizer fuzz_model; do
  if [[ "$targets" == *$'\n'"$fuzzer: "* ]]; then fuzzers+=("$fuzzer"); fi
done
cmake --build "$build" -j "$(nproc)" --target "${fuzzers[@]}" >&2  # progress on stderr, as build.sh

# Undefined behaviour is reported and survived by default; make it a crash libFuzzer records.
# Options already in the environment come later, so they win.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The seed corpus (tests/fuzz/corpus/<seeds>) and dictionary (tests/fuzz/<dict>.dict) of each.
seeds_of() {
  case "$1" in
    fuzz_safetensors) echo safetensors ;;
    fuzz_hf_config) echo hf_config ;;
    fuzz_hf_tokenizer) echo hf_tokenizer ;;
    fuzz_model) echo model ;;  # a complete tiny model, so that mutations reach the forward pass
    *) echo gguf ;;  # the tokenizer is built from a GGUF file's metadata
  esac
}
dict_of() {
  case "$1" in
    fuzz_hf_*) echo json ;;
    fuzz_model) echo gguf ;;
    *) seeds_of "$1" ;;
  esac
}

# "N executions (R/s), coverage C, features F" from a libFuzzer log (-print_final_stats=1).
stats_of() {
  awk '$1 == "stat::number_of_executed_units:" { runs = $2 }
       $1 == "stat::average_exec_per_sec:" { speed = $2 }
       { for (i = 1; i < NF; ++i) { if ($i == "cov:") cov = $(i + 1); if ($i == "ft:") ft = $(i + 1) } }
       END { printf "%s executions (%s/s), coverage %s, features %s", runs ? runs : 0, speed ? speed : 0,
                    cov ? cov : "?", ft ? ft : "?" }' "$1"
}

passed=0
failed=0
summary=()
for fuzzer in "${fuzzers[@]}"; do
  kind="$(seeds_of "$fuzzer")"
  findings="$build/findings/$fuzzer"
  rm -rf "$findings"
  mkdir -p "$findings" "$work/$fuzzer"
  log="$findings/log.txt"
  args=(-rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="$findings/"
        -dict="$root/tests/fuzz/$(dict_of "$fuzzer").dict")
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
    echo "fuzz: $fuzzer passed: $(stats_of "$log")" >&2
  else
    failed=$((failed + 1))
    input="$(find "$findings" -maxdepth 1 -type f ! -name log.txt -print -quit)"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error:)' "$log" >&2 || true
    echo "fuzz: $fuzzer FAILED after $(stats_of "$log"): input ${input:-(none written)}, log $log;" \
         "reproduce with $build/tests/fuzz/$fuzzer ${input:-<input>}" >&2
  fi
  summary+=("$fuzzer $(awk '$1 == "stat::number_of_executed_units:" { n = $2 } END { print n ? n : 0 }' "$log")")
done
joined="$(printf '%s, ' "${summary[@]}")"
echo "fuzz: $passed passed, $failed failed; executions: ${joined%, }"
((failed == 0))
