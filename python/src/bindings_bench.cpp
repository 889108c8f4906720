// The bench suites, returning the JSON their --json writes (as text, parsed by kvscope.bench).
// Ctrl-C stops a suite between runs and keeps what was measured, as on the command line.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <csignal>

#include "bench/cases.h"
#include "bench/results_json.h"
#include "bench/sweep.h"
#include "bindings.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "metrics/progress.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace kvscope::python {
namespace {

MeasureOptions measure_options(MeasureOptions o, std::optional<int> repetitions,
                               std::optional<int> warmup,
                               const std::vector<std::string>& strategies, int threads,
                               const std::string& kv_type, const std::string& precision,
                               int block_size, bool prefix_cache) {
  if (repetitions) o.repetitions = *repetitions;
  if (warmup) o.warmup = *warmup;
  if (o.repetitions < 1) fail("repetitions must be at least 1, not {}", o.repetitions);
  if (o.warmup < 0) fail("warmup must be at least 0, not {}", o.warmup);
  if (threads < 1) fail("threads must be at least 1, not {}", threads);
  if (!strategies.empty()) {
    o.strategies.clear();
    for (const std::string& s : strategies) o.strategies.push_back(parse_strategy(s));
  }
  o.threads = threads;
  o.kv_type = parse_kv_type(kv_type);
  o.precision = parse_precision(precision);
  o.block_size = block_size;
  o.prefix_cache = prefix_cache;
  return o;
}

// Runs a suite without the GIL, with the command line's Ctrl-C handling and progress bar, and
// Python's own SIGINT handler put back afterwards.
template <typename Suite>
std::string run_suite(const char* label, Suite suite) {
  nb::gil_scoped_release release;
  const auto previous = std::signal(SIGINT, SIG_DFL);
  clear_interrupt();
  install_interrupt_handler();
  std::string json;
  try {
    ProgressBar bar(label);
    json = suite([&](int done, int total) { bar.update(done, total); }).dump();
  } catch (...) {
    std::signal(SIGINT, previous);
    throw;
  }
  std::signal(SIGINT, previous);
  clear_interrupt();
  return json;
}

void fail_if_empty(bool empty) {
  if (empty) fail("interrupted before every strategy ran once: nothing to report");
}

// Sweeps and cases: their workloads measured, as their --json.
std::string workloads(const Model& model, const char* suite, const char* entries,
                      const std::vector<Workload>& w, const MeasureOptions& o) {
  return run_suite(suite, [&](auto progress) {
    const MeasureResult r = measure_workloads(model, w, o, progress);
    fail_if_empty(r.workloads.empty());
    return workloads_json(suite, entries, model, o, r);
  });
}

}  // namespace

void bind_bench(nb::module_& m) {
  m.def(
      "kv_compare",
      [](const Model& model, int prompt_tokens, int new_tokens, std::optional<int> repetitions,
         std::optional<int> warmup, const std::vector<std::string>& strategies,
         const std::optional<std::string>& baseline, int threads, const std::string& kv_type,
         const std::string& precision, int block_size, bool prefix_cache) {
        if (prompt_tokens < 1 || new_tokens < 1)
          fail("prompt_tokens and new_tokens must be at least 1, not {} and {}", prompt_tokens,
               new_tokens);
        KvCompareOptions o;
        o.prompt_tokens = prompt_tokens;
        o.new_tokens = new_tokens;
        o.measure = measure_options(o.measure, repetitions, warmup, strategies, threads, kv_type,
                                    precision, block_size, prefix_cache);
        if (baseline) o.baseline = parse_strategy(*baseline);
        return run_suite("kv-compare", [&](auto progress) {
          const KvCompareResult r = run_kv_compare(model, o, progress);
          fail_if_empty(r.strategies.empty());
          return kv_compare_json(model, r);
        });
      },
      "model"_a, "prompt_tokens"_a, "new_tokens"_a, "repetitions"_a, "warmup"_a, "strategies"_a,
      "baseline"_a, "threads"_a, "kv_type"_a, "precision"_a, "block_size"_a, "prefix_cache"_a);
  m.def(
      "sweep",
      [](const Model& model, const std::vector<int>& prompt_tokens,
         const std::vector<int>& new_tokens, const std::vector<int>& batch,
         std::optional<int> repetitions, std::optional<int> warmup,
         const std::vector<std::string>& strategies, int threads, const std::string& kv_type,
         const std::string& precision, int block_size, bool prefix_cache) {
        for (const auto* list : {&prompt_tokens, &new_tokens, &batch})
          for (int v : *list)
            if (v < 1) fail("sweep: every length and batch size must be at least 1, not {}", v);
        const MeasureOptions o = measure_options({}, repetitions, warmup, strategies, threads,
                                                 kv_type, precision, block_size, prefix_cache);
        return workloads(model, "sweep", "points",
                         sweep_workloads(model, prompt_tokens, new_tokens, batch), o);
      },
      "model"_a, "prompt_tokens"_a, "new_tokens"_a, "batch"_a, "repetitions"_a, "warmup"_a,
      "strategies"_a, "threads"_a, "kv_type"_a, "precision"_a, "block_size"_a, "prefix_cache"_a);
  m.def(
      "cases",
      [](const Model& model, const std::optional<std::string>& path, int new_tokens,
         std::optional<int> repetitions, std::optional<int> warmup,
         const std::vector<std::string>& strategies, int threads, const std::string& kv_type,
         const std::string& precision, int block_size, bool prefix_cache) {
        const MeasureOptions o =
            measure_options({.repetitions = 5}, repetitions, warmup, strategies, threads, kv_type,
                            precision, block_size, prefix_cache);
        return workloads(
            model, "cases", "cases",
            path ? load_cases(model, *path, new_tokens) : builtin_cases(model, new_tokens), o);
      },
      "model"_a, "path"_a, "new_tokens"_a, "repetitions"_a, "warmup"_a, "strategies"_a, "threads"_a,
      "kv_type"_a, "precision"_a, "block_size"_a, "prefix_cache"_a);
  m.def(
      "benchmark_prompt",
      [](const Model& model, int n, int shift) { return benchmark_prompt(model, n, shift); },
      "model"_a, "n"_a, "shift"_a = 0);
}

}  // namespace kvscope::python
