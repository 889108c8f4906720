// kvscope bench kv-compare, trace, sweep and cases: the suites that run the same workloads under
// each cache strategy, alternately, and verify that the outputs are identical.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "bench/cases.h"
#include "bench/kv_compare.h"
#include "bench/sweep.h"
#include "bench/trace.h"
#include "common.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "metrics/progress.h"
#include "metrics/table.h"

namespace kvscope::cli {
namespace {

// Every suite counts output tokens alike: each sampled token, generated exactly as many as asked.
constexpr const char* kNewTokensHelp = ", exactly: an end token does not stop a measurement";

std::string mib(uint64_t bytes) { return fmt::format("{:.2f} MiB", bytes / 1048576.0); }

std::string interrupted_note(bool interrupted, int done, int asked) {
  return interrupted
             ? fmt::format(
                   "⚠ Interrupted (Ctrl-C) after {} of {} repetitions: the figures cover the runs "
                   "completed.\n",
                   done, asked)
             : "";
}

// Runs a suite's measurement with a progress bar, Ctrl-C handled between runs.
template <typename Measure>
auto with_progress(const char* label, Measure measure) {
  install_interrupt_handler();
  ProgressBar bar(label);
  return measure([&](int done, int total) { bar.update(done, total); });
}

// One row per workload and strategy: median time with its spread, TTFT, TPOT, throughput, KV
// memory, speedup over the workload's baseline strategy (by its index) and whether the outputs
// were identical.
std::string workloads_table(const MeasureResult& r, const std::string& title, size_t baseline = 0) {
  Table t({"Workload", "Batch", "Strategy", "Time (median)", "min – max", "± std", "TTFT", "TPOT",
           "Tokens/s", "KV reserved", "Speedup", "Identical"},
          title);
  for (const WorkloadResult& w : r.workloads) {
    const double base = w.strategies[baseline].seconds.median;
    for (const Measurement& m : w.strategies)
      t.add_row({w.workload.name, fmt::format("{}", w.workload.prompts.size()),
                 std::string(strategy_name(m.strategy)), fmt::format("{:.3f} s", m.seconds.median),
                 fmt::format("{:.3f} – {:.3f}", m.seconds.min, m.seconds.max),
                 fmt::format("{:.3f}", m.seconds.stddev),
                 fmt::format("{:.1f} ms", m.ttft_s.median * 1e3),
                 fmt::format("{:.2f} ms", m.tpot_s.median * 1e3),
                 fmt::format("{:.1f}", m.throughput_tps.median), mib(m.kv_bytes_reserved),
                 fmt::format("{:.2f}×", base / m.seconds.median),
                 m.identical ? "✅ bitwise" : "❌ differs"});
  }
  return t.render();
}

nlohmann::ordered_json workloads_records(const MeasureResult& r) {
  nlohmann::ordered_json records = nlohmann::ordered_json::array();
  for (const WorkloadResult& w : r.workloads)
    for (const Measurement& m : w.strategies) records.push_back(measurement_record(w.workload, m));
  return records;
}

void fail_unless_identical(bool identical) {
  if (!identical) fail("the strategies' outputs differ: this is a bug");
}

// ---- kv-compare ----

struct KvCompareArgs {
  std::string model, baseline;
  int prompt_tokens = 50, new_tokens = 100;
  MeasureArgs measure{.options = KvCompareOptions{}.measure};
  SuiteOutput output;
};

void run_kv_compare_command(const KvCompareArgs& a) {
  const auto model = load_model(a.model);
  KvCompareOptions o;
  o.prompt_tokens = a.prompt_tokens;
  o.new_tokens = a.new_tokens;
  o.measure = a.measure.parsed();
  if (!a.baseline.empty()) o.baseline = parse_strategy(a.baseline);
  const KvCompareResult r = with_progress(
      "kv-compare", [&](auto progress) { return run_kv_compare(*model, o, progress); });
  if (r.strategies.empty()) fail("interrupted before every strategy ran once: nothing to report");
  const Workload& workload = r.workload;
  const size_t baseline =
      std::find(o.measure.strategies.begin(), o.measure.strategies.end(), r.baseline) -
      o.measure.strategies.begin();
  const Measurement& base = r.strategies[baseline];
  MeasureResult as_workloads{{{workload, r.strategies, r.all_identical}},
                             r.repetitions_done,
                             r.interrupted,
                             r.all_identical};
  std::string console =
      workloads_table(as_workloads,
                      fmt::format("kv-compare: {} prompt + {} new tokens, {} runs each",
                                  o.prompt_tokens, o.new_tokens, r.repetitions_done),
                      baseline);
  std::string speedups;
  for (size_t i = 0; i < r.strategies.size(); ++i) {
    const Measurement& m = r.strategies[i];
    if (i == baseline) continue;
    speedups += fmt::format("{}{} {:.2f}× (time saved {:.3f} s, {:.1f}%)",
                            speedups.empty() ? "" : "; ", strategy_name(m.strategy), r.speedups[i],
                            base.seconds.median - m.seconds.median,
                            100.0 * (1 - m.seconds.median / base.seconds.median));
  }
  if (!speedups.empty())
    console += fmt::format("\nSpeedup against {}: {}\n", strategy_name(r.baseline), speedups);
  console += fmt::format(
      "Complexity: {} token passes without a cache, {} with one: theoretical max {:.1f}×",
      r.token_ops_without_cache, r.token_ops_with_cache, r.theoretical_speedup);
  if (r.measured_speedup > 0)
    console += fmt::format(", measured {:.2f}× ({} against none), efficiency {:.1f}%",
                           r.measured_speedup, strategy_name(r.fastest), 100 * r.efficiency);
  console += fmt::format("\n{}{} on {}\n",
                         interrupted_note(r.interrupted, r.repetitions_done, o.measure.repetitions),
                         model->config().name, system_line(o.measure.threads));
  const nlohmann::json j = kv_compare_json(*model, r);
  emit(a.output, *model, o.measure.threads, "kv-compare", console, j,
       workloads_records(as_workloads));
  fail_unless_identical(r.all_identical);
}

void add_kv_compare(CLI::App& bench) {
  auto* cmd = bench.add_subcommand("kv-compare",
                                   "Cache strategies side by side, outputs verified identical");
  cmd->footer(
      "Examples:\n  kvscope bench kv-compare\n  kvscope bench kv-compare --prompt-tokens 200 "
      "--new-tokens 200 --json out.json\n"
      "  kvscope bench kv-compare --strategies prealloc,concat,none --baseline none");
  auto a = std::make_shared<KvCompareArgs>();
  add_model_option(*cmd, a->model);
  cmd->add_option("--prompt-tokens", a->prompt_tokens, "Prompt length")->check(CLI::PositiveNumber);
  cmd->add_option("--new-tokens", a->new_tokens, std::string("Tokens to generate") + kNewTokensHelp)
      ->check(CLI::PositiveNumber);
  add_measure_options(*cmd, a->measure);
  cmd->add_option(
         "--baseline", a->baseline,
         "The strategy every speedup is measured against (default: the first of --strategies)")
      ->check(CLI::IsMember({"none", "concat", "prealloc"}));
  add_output_options(*cmd, a->output);
  cmd->callback([a] { run_kv_compare_command(*a); });
}

// ---- trace ----

struct TraceArgs {
  std::string model;
  int prompt_tokens = 50, new_tokens = 100;
  MeasureArgs measure{.options = TraceOptions{}.measure};
  SuiteOutput output;
};

void run_trace_command(const TraceArgs& a) {
  const auto model = load_model(a.model);
  const TraceOptions o{a.prompt_tokens, a.new_tokens, a.measure.parsed()};
  const TraceResult r =
      with_progress("trace", [&](auto progress) { return run_trace(*model, o, progress); });
  if (r.repetitions_done == 0)
    fail("interrupted before every strategy ran once: nothing to report");
  std::vector<std::string> headers = {"Token"};
  for (const StrategyTrace& t : r.strategies)
    headers.push_back(fmt::format("{} (ms)", strategy_name(t.strategy)));
  Table table(headers, fmt::format("Per-token latency, mean of {} runs", r.repetitions_done));
  const size_t n = r.strategies.front().mean_latency_s.size();
  // About ten rows: every step-th token, and the last one.
  std::vector<size_t> shown;
  for (size_t i = 0; i < n; i += std::max<size_t>(1, n / 10)) shown.push_back(i);
  if (shown.back() != n - 1) shown.push_back(n - 1);
  for (size_t i : shown) {
    std::vector<std::string> row = {fmt::format("{}", i + 1)};
    for (const StrategyTrace& t : r.strategies)
      row.push_back(fmt::format("{:.2f}", t.mean_latency_s[i] * 1e3));
    table.add_row(row);
  }
  const std::string console = fmt::format(
      "{}\nToken 1 is the time to first token (prefill); the rest are gaps between tokens.\n{}{} "
      "on {}\n",
      table.render(), interrupted_note(r.interrupted, r.repetitions_done, o.measure.repetitions),
      model->config().name, system_line(o.measure.threads));
  nlohmann::json j = {{"suite", "trace"},
                      {"system", system_json(*model, o.measure.threads)},
                      {"prompt_tokens", o.prompt_tokens},
                      {"new_tokens", o.new_tokens},
                      {"repetitions", o.measure.repetitions},
                      {"repetitions_done", r.repetitions_done},
                      {"interrupted", r.interrupted},
                      {"strategies", nlohmann::json::array()}};
  for (const StrategyTrace& t : r.strategies)
    j["strategies"].push_back({{"strategy", strategy_name(t.strategy)},
                               {"mean_latency_s", t.mean_latency_s},
                               {"min_latency_s", t.min_latency_s},
                               {"max_latency_s", t.max_latency_s}});
  nlohmann::ordered_json records = nlohmann::ordered_json::array();
  for (size_t i = 0; i < n; ++i) {
    nlohmann::ordered_json record = {{"token", i + 1}};
    for (const StrategyTrace& t : r.strategies) {
      const std::string name(strategy_name(t.strategy));
      record[name + "_mean_s"] = t.mean_latency_s[i];
      record[name + "_min_s"] = t.min_latency_s[i];
      record[name + "_max_s"] = t.max_latency_s[i];
    }
    records.push_back(std::move(record));
  }
  emit(a.output, *model, o.measure.threads, "trace", console, j, records);
}

void add_trace(CLI::App& bench) {
  auto* cmd =
      bench.add_subcommand("trace", "Per-token latency with and without the cache (seed 001)");
  cmd->footer(
      "Examples:\n  kvscope bench trace\n  kvscope bench trace --new-tokens 200 -r 5 --csv "
      "trace.csv --json trace.json");
  auto a = std::make_shared<TraceArgs>();
  add_model_option(*cmd, a->model);
  cmd->add_option("--prompt-tokens", a->prompt_tokens, "Prompt length")->check(CLI::PositiveNumber);
  cmd->add_option("--new-tokens", a->new_tokens, std::string("Tokens to generate") + kNewTokensHelp)
      ->check(CLI::PositiveNumber);
  add_measure_options(*cmd, a->measure);
  add_output_options(*cmd, a->output);
  cmd->callback([a] { run_trace_command(*a); });
}

// ---- sweep and cases ----

// Measures the workloads, prints and writes the result; `entries` names the JSON's list.
void report_workloads(const Model& model, const MeasureArgs& args, const SuiteOutput& output,
                      const std::string& suite, const char* entries,
                      const std::vector<Workload>& workloads) {
  const MeasureOptions o = args.parsed();
  const MeasureResult r = with_progress(suite.c_str(), [&](auto progress) {
    return measure_workloads(model, workloads, o, progress);
  });
  if (r.workloads.empty()) fail("interrupted before every strategy ran once: nothing to report");
  const std::string console = fmt::format(
      "{}\n{}{} on {}\n",
      workloads_table(
          r, fmt::format("{}: {} runs each, strategies alternated", suite, r.repetitions_done)),
      interrupted_note(r.interrupted, r.repetitions_done, o.repetitions), model.config().name,
      system_line(o.threads));
  const nlohmann::json j = workloads_json(suite, entries, model, o, r);
  emit(output, model, o.threads, suite, console, j, workloads_records(r));
  fail_unless_identical(r.all_identical);
}

struct SweepArgs {
  std::string model, prompt_tokens = "32,128", new_tokens = "32", batches = "1,2,4,8";
  MeasureArgs measure;
  SuiteOutput output;
};

void add_sweep(CLI::App& bench) {
  auto* cmd =
      bench.add_subcommand("sweep",
                           "Throughput, TTFT, TPOT and KV memory over prompt lengths, generation "
                           "lengths and batch sizes, with and without the cache (seed 001)");
  cmd->footer(
      "Examples:\n  kvscope bench sweep\n  kvscope bench sweep --prompt-tokens 16,64,256 "
      "--new-tokens 64 "
      "--batch 1,4 --json sweep.json");
  auto a = std::make_shared<SweepArgs>();
  add_model_option(*cmd, a->model);
  cmd->add_option("--prompt-tokens", a->prompt_tokens, "Prompt lengths (comma list)")
      ->capture_default_str();
  cmd->add_option("--new-tokens", a->new_tokens,
                  std::string("Generated lengths (comma list)") + kNewTokensHelp)
      ->capture_default_str();
  cmd->add_option("-b,--batch", a->batches,
                  "Batch sizes: sequences generated together (comma list)")
      ->capture_default_str();
  add_measure_options(*cmd, a->measure);
  add_output_options(*cmd, a->output);
  cmd->callback([a] {
    const auto model = load_model(a->model);
    const std::vector<Workload> workloads = sweep_workloads(
        *model, parse_int_list(a->prompt_tokens, "--prompt-tokens"),
        parse_int_list(a->new_tokens, "--new-tokens"), parse_int_list(a->batches, "--batch"));
    report_workloads(*model, a->measure, a->output, "sweep", "points", workloads);
  });
}

struct CasesArgs {
  std::string model, cases_file;
  int new_tokens = 20;
  MeasureArgs measure{.options = {.repetitions = 5}};
  SuiteOutput output;
};

void add_cases(CLI::App& bench) {
  auto* cmd =
      bench.add_subcommand("cases",
                           "Seed 004's named cases (single_short ... batch_3_mixed), or your own "
                           "from a JSON file, with and without the cache");
  cmd->footer(
      "Examples:\n  kvscope bench cases\n  kvscope bench cases --cases my_cases.json --csv "
      "cases.csv\n"
      "Cases file: {\"cases\": [{\"name\": \"two\", \"prompts\": [\"Hi\", \"Why?\"], "
      "\"new_tokens\": 16}]}");
  auto a = std::make_shared<CasesArgs>();
  add_model_option(*cmd, a->model);
  cmd->add_option("--cases", a->cases_file, "JSON file of cases (default: the built-in ones)");
  cmd->add_option(
         "--new-tokens", a->new_tokens,
         std::string("Tokens each sequence generates unless its case says") + kNewTokensHelp)
      ->check(CLI::PositiveNumber);
  add_measure_options(*cmd, a->measure);
  add_output_options(*cmd, a->output);
  cmd->callback([a] {
    const auto model = load_model(a->model);
    const std::vector<Workload> workloads = a->cases_file.empty()
                                                ? builtin_cases(*model, a->new_tokens)
                                                : load_cases(*model, a->cases_file, a->new_tokens);
    report_workloads(*model, a->measure, a->output, "cases", "cases", workloads);
  });
}

}  // namespace

void add_compare_suites(CLI::App& bench) {
  add_kv_compare(bench);
  add_trace(bench);
  add_sweep(bench);
  add_cases(bench);
}

}  // namespace kvscope::cli
