// kvscope bench memory and bench prefix: the KV pool under many requests, against the baselines.
#include <fmt/format.h>

#include "bench/memory.h"
#include "bench/prefix.h"
#include "common.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "metrics/progress.h"
#include "metrics/table.h"

namespace kvscope::cli {
namespace {

std::string mib(double bytes) { return fmt::format("{:.2f} MiB", bytes / 1048576.0); }

nlohmann::json served_json(const ServedResult& r) {
  return {{"seconds", r.seconds},
          {"steps", r.steps},
          {"generated_tokens", r.generated_tokens()},
          {"prompt_tokens", r.prompt_tokens},
          {"cached_tokens", r.cached_tokens},
          {"peak_requests", r.peak_running},
          {"peak_bytes_reserved", r.peak_bytes_reserved},
          {"mean_bytes_reserved",
           r.steps > 0 ? r.reserved_byte_steps / static_cast<double>(r.steps) : 0.0},
          {"mean_bytes_used", r.steps > 0 ? r.used_byte_steps / static_cast<double>(r.steps) : 0.0},
          {"waste_percent", r.waste_percent()},
          {"preemptions", r.preemptions},
          {"prefix_hit_tokens", r.prefix_hit_tokens},
          {"ttft_s", summary_json(r.ttft_s)},
          {"e2e_s", summary_json(r.e2e_s)}};
}

void add_served_fields(nlohmann::ordered_json& record, const ServedResult& r) {
  const nlohmann::json all = served_json(r);
  for (const auto& [key, value] : all.items())
    if (!value.is_object()) record[key] = value;
  record["ttft_median_s"] = r.ttft_s.median;
  record["ttft_p99_s"] = r.ttft_s.p99;
  record["e2e_median_s"] = r.e2e_s.median;
  record["e2e_p99_s"] = r.e2e_s.p99;
}

// ---- memory ----

struct MemoryArgs {
  std::string model;
  MemoryBenchOptions options;
  MeasureArgs measure{.options = MemoryBenchOptions{}.measure, .kv_type = "f16"};
  SuiteOutput output;
};

// Continuous batching on the paged pool against the best closed batch in the same budget; the
// line for the console, and best_fixed_batch / paged_over_best_fixed_batch in the JSON.
std::string continuous_against_fixed(const MemoryBenchResult& r, nlohmann::json& j) {
  const MemoryStrategyResult *paged = nullptr, *best = nullptr;
  for (const MemoryStrategyResult& s : r.strategies) {
    if (!paged && s.fixed_batch == 0 && is_paged(s.strategy)) paged = &s;
    if (s.fixed_batch > 0 && (!best || s.throughput_tps.median > best->throughput_tps.median))
      best = &s;
  }
  if (!paged || !best) return "";
  const double ratio = paged->throughput_tps.median / best->throughput_tps.median;
  j["best_fixed_batch"] = best->fixed_batch;
  j["paged_over_best_fixed_batch"] = ratio;
  return fmt::format(
      "Continuous batching on the paged pool: {:.1f} tok/s, {:.2f}× the best closed batch that "
      "fits the same budget (prealloc, batches of {}: {:.1f} tok/s).\n",
      paged->throughput_tps.median, ratio, best->fixed_batch, best->throughput_tps.median);
}

void run_memory_command(MemoryArgs& a) {
  const auto model = load_model(a.model);
  MemoryBenchOptions o = a.options;
  o.measure = a.measure.parsed();
  o.block_size = o.measure.block_size;
  install_interrupt_handler();
  ProgressBar bar("memory");
  const MemoryBenchResult r =
      run_memory_bench(*model, o, [&](int done, int total) { bar.update(done, total); });
  if (r.strategies.empty()) fail("interrupted before every strategy ran once: nothing to report");
  Table t({"Strategy", "KV waste", "Mean reserved", "Peak reserved", "Most in flight", "Tokens/s",
           "Time (median)", "TTFT p50", "TTFT p99", "E2E p50", "Preempted", "Identical"},
          fmt::format("memory: {} requests in a {} MiB KV budget, {} runs each", r.mix.size(),
                      o.budget_mib, r.repetitions_done));
  nlohmann::json j = {{"suite", "memory"},
                      {"system", system_json(*model, o.measure.threads)},
                      {"kv_type", kv_type_name(o.measure.kv_type)},
                      {"precision", precision_name(o.measure.precision)},
                      {"budget_mib", o.budget_mib},
                      {"block_size", o.block_size},
                      {"max_seqs", o.max_seqs},
                      {"max_batch_tokens", o.max_batch_tokens},
                      {"repetitions", o.measure.repetitions},
                      {"repetitions_done", r.repetitions_done},
                      {"interrupted", r.interrupted},
                      {"all_identical", r.all_identical},
                      {"requests", nlohmann::json::array()},
                      {"strategies", nlohmann::json::array()}};
  for (const ServedRequest& q : r.mix)
    j["requests"].push_back({{"prompt_tokens", q.prompt.size()},
                             {"output_tokens", q.output_tokens},
                             {"max_tokens", q.max_tokens}});
  nlohmann::ordered_json records = nlohmann::ordered_json::array();
  for (const MemoryStrategyResult& s : r.strategies) {
    const ServedResult& f = s.first;
    const std::string name = s.fixed_batch > 0
                                 ? fmt::format("prealloc, batches of {}", s.fixed_batch)
                                 : std::string(strategy_name(s.strategy));
    t.add_row(
        {name, fmt::format("{:.1f}%", f.waste_percent()),
         mib(f.reserved_byte_steps / static_cast<double>(f.steps)),
         mib(static_cast<double>(f.peak_bytes_reserved)), fmt::format("{}", f.peak_running),
         fmt::format("{:.1f}", s.throughput_tps.median), fmt::format("{:.2f} s", s.seconds.median),
         fmt::format("{:.0f} ms", f.ttft_s.median * 1e3),
         fmt::format("{:.0f} ms", f.ttft_s.p99 * 1e3), fmt::format("{:.2f} s", f.e2e_s.median),
         fmt::format("{}", f.preemptions), s.identical ? "✅ bitwise" : "❌ differs"});
    nlohmann::json entry = served_json(f);
    entry["strategy"] = strategy_name(s.strategy);
    entry["fixed_batch"] = s.fixed_batch;
    entry["seconds"] = summary_json(s.seconds);
    entry["throughput_tps"] = summary_json(s.throughput_tps);
    entry["identical"] = s.identical;
    j["strategies"].push_back(std::move(entry));
    nlohmann::ordered_json record = {{"strategy", strategy_name(s.strategy)},
                                     {"fixed_batch", s.fixed_batch}};
    add_served_fields(record, f);
    record["throughput_tps_median"] = s.throughput_tps.median;
    records.push_back(std::move(record));
  }
  const std::string against_fixed = continuous_against_fixed(r, j);
  const std::string console = fmt::format(
      "{}{}\nKV waste: reserved memory not holding a live token, averaged over steps. Each request "
      "declares "
      "max_tokens {}; prealloc reserves its prompt plus that at once, paged takes {}-position "
      "blocks as it "
      "grows, concat holds exactly its rows (copying them at every step).\n{} on {}\n",
      t.render(), against_fixed, o.max_tokens, o.block_size, model->config().name,
      system_line(o.measure.threads));
  emit(a.output, *model, o.measure.threads, "memory", console, j, records);
  if (!r.all_identical) fail("the strategies' outputs differ: this is a bug");
}

void add_memory(CLI::App& bench) {
  auto* cmd =
      bench.add_subcommand("memory",
                           "KV memory waste, requests in flight, throughput and latency of each "
                           "strategy under a mix of requests in a fixed KV budget");
  cmd->footer(
      "The default mix: --requests prompts of uniform length in [--min-prompt, --max-prompt] and "
      "outputs in\n"
      "[--min-output, --max-output], each declaring --max-tokens, all queued at once.\n"
      "Examples:\n  kvscope bench memory\n  kvscope bench memory --kv-budget-mib 32 --json "
      "memory.json\n"
      "  kvscope bench memory --mix requests.json --strategies prealloc,paged");
  auto a = std::make_shared<MemoryArgs>();
  MemoryBenchOptions& o = a->options;
  add_model_option(*cmd, a->model);
  cmd->add_option("--requests", o.requests, "Requests in the mix")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--min-prompt", o.min_prompt, "Shortest prompt")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-prompt", o.max_prompt, "Longest prompt")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--min-output", o.min_output, "Shortest output")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-output", o.max_output, "Longest output")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-tokens", o.max_tokens, "max_tokens every request declares")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "Seed of the mix's lengths")->capture_default_str();
  cmd->add_option("--mix", o.mix_file,
                  "JSON list of {\"prompt_tokens\", \"output_tokens\", \"max_tokens\"} instead");
  cmd->add_option("--kv-budget-mib", o.budget_mib, "KV memory for all requests")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--max-seqs", o.max_seqs, "Requests running at once")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--max-batch-tokens", o.max_batch_tokens, "Tokens fed in one step")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_flag("!--no-fixed-batches", o.fixed_batches,
                "Skip the closed batches on prealloc that continuous batching is compared with");
  add_measure_options(*cmd, a->measure);
  add_output_options(*cmd, a->output);
  cmd->callback([a] { run_memory_command(*a); });
}

// ---- prefix ----

struct PrefixArgs {
  std::string model;
  PrefixBenchOptions options;
  MeasureArgs measure{.options = PrefixBenchOptions{}.measure, .kv_type = "f16"};
  SuiteOutput output;
};

void run_prefix_command(PrefixArgs& a) {
  const auto model = load_model(a.model);
  PrefixBenchOptions o = a.options;
  o.measure = a.measure.parsed();
  o.block_size = o.measure.block_size;
  install_interrupt_handler();
  ProgressBar bar("prefix");
  const PrefixBenchResult r =
      run_prefix_bench(*model, o, [&](int done, int total) { bar.update(done, total); });
  if (r.repetitions_done == 0) fail("interrupted before both variants ran once: nothing to report");
  Table t({"Prefix reuse", "TTFT p50", "TTFT p99", "E2E p50", "Time (median)", "Tokens/s",
           "Prompt tokens reused", "Identical"},
          fmt::format("prefix: {} requests sharing {} tokens, each with {} of its own, {} new "
                      "tokens, {} in flight",
                      o.requests, o.shared_tokens, o.suffix_tokens, o.new_tokens, o.concurrency));
  const auto row = [&](const char* name, const ServedResult& s, const Summary& seconds) {
    t.add_row({name, fmt::format("{:.1f} ms", s.ttft_s.median * 1e3),
               fmt::format("{:.1f} ms", s.ttft_s.p99 * 1e3),
               fmt::format("{:.3f} s", s.e2e_s.median), fmt::format("{:.2f} s", seconds.median),
               fmt::format("{:.1f}", static_cast<double>(s.generated_tokens()) / seconds.median),
               fmt::format("{} of {}", s.cached_tokens, s.prompt_tokens),
               r.identical ? "✅ bitwise" : "❌ differs"});
  };
  row("off", r.without_reuse, r.seconds_without);
  row("on", r.with_reuse, r.seconds_with);
  const std::string console = fmt::format(
      "{}\nMedian TTFT with reuse: {:.3f}× the TTFT without ({:.1f}× faster); hit rate {:.1f}% of "
      "prompt tokens\n{} on {}\n",
      t.render(), 1.0 / r.ttft_speedup, r.ttft_speedup, 100 * r.hit_rate, model->config().name,
      system_line(o.measure.threads));
  nlohmann::json j = {{"suite", "prefix"},
                      {"system", system_json(*model, o.measure.threads)},
                      {"kv_type", kv_type_name(o.measure.kv_type)},
                      {"precision", precision_name(o.measure.precision)},
                      {"requests", o.requests},
                      {"shared_tokens", o.shared_tokens},
                      {"suffix_tokens", o.suffix_tokens},
                      {"new_tokens", o.new_tokens},
                      {"concurrency", o.concurrency},
                      {"block_size", o.block_size},
                      {"repetitions", o.measure.repetitions},
                      {"repetitions_done", r.repetitions_done},
                      {"interrupted", r.interrupted},
                      {"ttft_speedup", r.ttft_speedup},
                      {"hit_rate", r.hit_rate},
                      {"identical", r.identical},
                      {"without_reuse", served_json(r.without_reuse)},
                      {"with_reuse", served_json(r.with_reuse)}};
  j["without_reuse"]["seconds"] = summary_json(r.seconds_without);
  j["with_reuse"]["seconds"] = summary_json(r.seconds_with);
  nlohmann::ordered_json records = nlohmann::ordered_json::array();
  for (const auto& [name, s] :
       {std::pair{"off", &r.without_reuse}, std::pair{"on", &r.with_reuse}}) {
    nlohmann::ordered_json record = {{"prefix_reuse", name}};
    add_served_fields(record, *s);
    records.push_back(std::move(record));
  }
  emit(a.output, *model, o.measure.threads, "prefix", console, j, records);
  if (!r.identical) fail("the outputs with and without prefix reuse differ: this is a bug");
}

void add_prefix(CLI::App& bench) {
  auto* cmd =
      bench.add_subcommand("prefix",
                           "Requests sharing a system prompt, without and with prefix reuse: TTFT, "
                           "throughput, hit rate, outputs verified identical");
  cmd->footer(
      "Examples:\n  kvscope bench prefix\n  kvscope bench prefix --shared-tokens 512 --requests 16 "
      "--concurrency 4 --json prefix.json");
  auto a = std::make_shared<PrefixArgs>();
  PrefixBenchOptions& o = a->options;
  add_model_option(*cmd, a->model);
  cmd->add_option("--requests", o.requests, "Requests")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--shared-tokens", o.shared_tokens, "Length of the shared system prompt")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--suffix-tokens", o.suffix_tokens, "Tokens of each request's own")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--new-tokens", o.new_tokens, "Tokens generated per request")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--concurrency", o.concurrency, "Requests in flight (0: all at once)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--max-batch-tokens", o.max_batch_tokens, "Tokens fed in one step")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  add_measure_options(*cmd, a->measure);
  add_output_options(*cmd, a->output);
  cmd->callback([a] { run_prefix_command(*a); });
}

}  // namespace

void add_serving_suites(CLI::App& bench) {
  add_memory(bench);
  add_prefix(bench);
}

}  // namespace kvscope::cli
