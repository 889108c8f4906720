// kvscope bench: the measurement suites.
#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bench/faithfulness.h"
#include "bench/kv_compare.h"
#include "bench/speed.h"
#include "bench/trace.h"
#include "common.h"
#include "core/error.h"
#include "metrics/memory.h"
#include "metrics/progress.h"
#include "metrics/system.h"
#include "metrics/table.h"
#include "report/suite_report.h"

namespace kvscope::cli {
namespace {

std::vector<int> parse_int_list(const std::string& text, const char* flag) {
  std::vector<int> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    try {
      size_t used = 0;
      const int v = std::stoi(item, &used);
      if (used != item.size() || v < 0) throw std::invalid_argument(item);
      out.push_back(v);
    } catch (const std::exception&) {
      fail("{} takes a comma list of whole numbers, got '{}'", flag, text);
    }
  }
  return out;
}

nlohmann::json summary_json(const Summary& s) {
  return {{"count", s.count}, {"min", s.min},       {"median", s.median}, {"mean", s.mean}, {"max", s.max},
          {"stddev", s.stddev}, {"p50", s.p50}, {"p90", s.p90}, {"p99", s.p99}};
}

nlohmann::json system_json(const Model& model, int threads) {
  return {{"cpu", cpu_name()}, {"isa", kernel_isa_name()}, {"threads", threads}, {"model", model.file().path},
          {"model_name", model.config().name}};
}

void write_or_print(const std::string& path, const std::string& text) {
  if (path.empty()) {
    fmt::print("{}", text);
    return;
  }
  std::ofstream out(path);
  if (!out) fail("{}: cannot write", path);
  out << text;
}

// The suite's plots, drawn from its JSON exactly as `kvscope report` draws them.
void write_plots(const nlohmann::json& result, const std::string& dir) {
  const report::SuiteReport r = report::read_suite_report(result, result.at("suite").get<std::string>());
  for (const std::string& path : report::write_charts(r, dir, report::ImageFormat::kBoth)) fmt::print("{}\n", path);
}

// ---- speed ----

struct SpeedArgs {
  std::string model, prompts = "512", gens = "128", pg, depths = "0", batches = "1", output = "md",
                     kv_type = "f32";
  Precision precision = Precision::kFast;
  int threads = 2, repetitions = 5;
  bool json = false;
};

std::vector<SpeedTest> speed_tests(const SpeedArgs& a) {
  std::vector<SpeedTest> tests;
  const std::vector<int> pg = a.pg.empty() ? std::vector<int>{} : parse_int_list(a.pg, "-pg");
  if (pg.size() % 2 != 0) fail("-pg takes pairs: prompt,generated");
  for (int d : parse_int_list(a.depths, "-d"))
    for (int b : parse_int_list(a.batches, "-b")) {
      if (b < 1) fail("-b must be at least 1");
      for (int p : parse_int_list(a.prompts, "-p"))
        if (p > 0) tests.push_back({p, 0, d, b});
      for (int n : parse_int_list(a.gens, "-n"))
        if (n > 0) tests.push_back({0, n, d, b});
      for (size_t i = 0; i + 1 < pg.size(); i += 2) tests.push_back({pg[i], pg[i + 1], d, b});
    }
  if (tests.empty()) fail("no tests: give -p, -n or -pg");
  return tests;
}

void run_speed(const SpeedArgs& a) {
  const auto model = load_model(a.model);
  SpeedOptions o;
  o.threads = a.threads;
  o.repetitions = a.repetitions;
  o.kv_type = parse_kv_type(a.kv_type);
  o.precision = a.precision;
  const std::vector<SpeedTest> tests = speed_tests(a);
  std::vector<SpeedResult> results;
  ProgressBar bar("bench speed");
  for (size_t i = 0; i < tests.size(); ++i) {
    bar.update(static_cast<int>(i), static_cast<int>(tests.size()), speed_test_name(tests[i]));
    results.push_back(run_speed_test(*model, tests[i], o));
  }
  // The share of the memory-bandwidth limit reached by decode tests, against a measured read rate.
  double bandwidth = 0;
  for (const SpeedResult& r : results)
    if (r.achieved_gbs > 0 && bandwidth == 0) bandwidth = measure_read_bandwidth(a.threads) / 1e9;
  const std::string format = a.json ? "json" : a.output;
  if (format == "json") {
    nlohmann::json j = {{"system", system_json(*model, a.threads)}, {"kv_type", a.kv_type},
                        {"precision", precision_name(a.precision)}, {"repetitions", a.repetitions}, {"tests", nlohmann::json::array()}};
    for (const SpeedResult& r : results)
      j["tests"].push_back({{"name", speed_test_name(r.test)}, {"n_prompt", r.test.n_prompt}, {"n_gen", r.test.n_gen},
                            {"n_depth", r.test.n_depth}, {"n_batch", r.test.n_batch}, {"avg_ts", r.avg_ts},
                            {"stddev_ts", r.stddev_ts}, {"samples_ts", r.samples_ts},
                            {"bytes_per_step", r.bytes_per_step}, {"achieved_gbs", r.achieved_gbs},
                            {"bandwidth_share", bandwidth > 0 ? r.achieved_gbs / bandwidth : 0.0}});
    j["read_bandwidth_gbs"] = bandwidth;
    fmt::print("{}\n", j.dump(2));
  } else if (format == "csv") {
    fmt::print("model,threads,kv_type,precision,n_prompt,n_gen,n_depth,n_batch,avg_ts,stddev_ts\n");
    for (const SpeedResult& r : results)
      fmt::print("{},{},{},{},{},{},{},{},{:.3f},{:.3f}\n", model->config().name, a.threads, a.kv_type, precision_name(a.precision),
                 r.test.n_prompt, r.test.n_gen, r.test.n_depth, r.test.n_batch, r.avg_ts, r.stddev_ts);
  } else {
    fmt::print("| model | threads | precision | test | t/s | GB/s read | share of bandwidth |\n"
               "| --- | ---: | --- | ---: | ---: | ---: | ---: |\n");
    for (const SpeedResult& r : results) {
      const bool roofline = r.achieved_gbs > 0 && bandwidth > 0;
      fmt::print("| {} | {} | {} | {} | {:.2f} ± {:.2f} | {} | {} |\n", model->config().name, a.threads,
                 precision_name(a.precision), speed_test_name(r.test), r.avg_ts, r.stddev_ts,
                 roofline ? fmt::format("{:.1f}", r.achieved_gbs) : "", roofline ? fmt::format("{:.0f}%", 100 * r.achieved_gbs / bandwidth) : "");
    }
    fmt::print("\n{} ({} kernels){}\n", cpu_name(), kernel_isa_name(),
               bandwidth > 0 ? fmt::format(", measured read bandwidth {:.1f} GB/s", bandwidth) : "");
  }
}

void add_speed(CLI::App& bench) {
  auto* cmd = bench.add_subcommand("speed", "llama-bench's tests: prefill (pp), decode (tg), both (pg)");
  cmd->footer("Examples:\n  kvscope bench speed -p 512 -n 128 -r 5\n  kvscope bench speed -p 0 -n 128 -d 0,512 -o json\n"
              "  kvscope bench speed -p 0 -n 32 -b 8,32");
  auto a = std::make_shared<SpeedArgs>();
  add_model_option(*cmd, a->model);
  cmd->add_option("-p,--n-prompt", a->prompts, "Prompt lengths (comma list; 0: none)");
  cmd->add_option("-n,--n-gen", a->gens, "Generated lengths (comma list; 0: none)");
  cmd->add_option("--pg", a->pg, "Prompt and generated pairs: pp,tg[,pp,tg...]");
  cmd->add_option("-d,--n-depth", a->depths, "Context depths already in the cache (comma list)");
  cmd->add_option("-b,--batch", a->batches, "Sequences decoded together (comma list)");
  cmd->add_option("-t,--threads", a->threads, "Threads")->check(CLI::Range(1, 256));
  cmd->add_option("-r,--repetitions", a->repetitions, "Timed repetitions after one warm-up")->check(CLI::PositiveNumber);
  cmd->add_option("--kv-type", a->kv_type, "KV cache storage: f32 or f16")->check(CLI::IsMember({"f32", "f16"}));
  add_precision_option(*cmd, a->precision);
  cmd->add_option("-o,--output", a->output, "md, json or csv")->check(CLI::IsMember({"md", "json", "csv"}));
  cmd->add_flag("--json", a->json, "Same as -o json");
  cmd->callback([a] { run_speed(*a); });
}

// ---- kv-compare ----

struct KvCompareArgs {
  std::string model, kv_type = "f32", json_path, plot_dir, strategies = "none,concat,prealloc";
  KvCompareOptions options;
};

nlohmann::json kv_compare_json(const Model& model, const KvCompareResult& r) {
  nlohmann::json j = {{"suite", "kv-compare"},
                      {"system", system_json(model, r.options.threads)},
                      {"prompt_tokens", r.options.prompt_tokens},
                      {"new_tokens", r.options.new_tokens},
                      {"repetitions", r.options.repetitions},
                      {"warmup", r.options.warmup},
                      {"all_identical", r.all_identical},
                      {"complexity",
                       {{"token_ops_without_cache", r.token_ops_without_cache},
                        {"token_ops_with_cache", r.token_ops_with_cache},
                        {"theoretical_speedup", r.theoretical_speedup},
                        {"measured_speedup", r.measured_speedup},
                        {"efficiency", r.efficiency}}},
                      {"strategies", nlohmann::json::array()}};
  for (const StrategyMeasurement& m : r.strategies)
    j["strategies"].push_back({{"strategy", strategy_name(m.strategy)}, {"seconds", summary_json(m.seconds)},
                               {"ttft_s", summary_json(m.ttft_s)}, {"tpot_s", summary_json(m.tpot_s)},
                               {"output_tps", summary_json(m.output_tps)}, {"kv_bytes_reserved", m.kv_bytes_reserved},
                               {"identical", m.identical}, {"output_ids", m.output},
                               {"logits_hash", fmt::format("{:016x}", m.logits_hash)}});
  return j;
}

void print_kv_compare(const Model& model, const KvCompareResult& r) {
  Table t({"Strategy", "Time (median)", "TTFT", "TPOT", "Tokens/s", "KV reserved", "Identical"},
          fmt::format("kv-compare: {} prompt + {} new tokens, {} runs each", r.options.prompt_tokens,
                      r.options.new_tokens, r.options.repetitions));
  for (const StrategyMeasurement& m : r.strategies)
    t.add_row({std::string(strategy_name(m.strategy)), fmt::format("{:.3f} s", m.seconds.median),
               fmt::format("{:.1f} ms", m.ttft_s.median * 1e3), fmt::format("{:.2f} ms", m.tpot_s.median * 1e3),
               fmt::format("{:.1f}", m.output_tps.median), fmt::format("{:.2f} MiB", m.kv_bytes_reserved / 1048576.0),
               m.identical ? "✅ bitwise" : "❌ differs"});
  fmt::print("{}\n", t.render());
  const StrategyMeasurement& base = r.strategies.front();
  const StrategyMeasurement& best = r.strategies.back();
  fmt::print("Speedup ({} vs {}): {:.2f}× faster; time saved {:.3f} s ({:.1f}%)\n", strategy_name(best.strategy),
             strategy_name(base.strategy), r.measured_speedup, base.seconds.median - best.seconds.median,
             100.0 * (1 - best.seconds.median / base.seconds.median));
  fmt::print("Complexity: {} token passes without a cache, {} with one: theoretical max {:.1f}×, measured {:.2f}×, "
             "efficiency {:.1f}%\n",
             r.token_ops_without_cache, r.token_ops_with_cache, r.theoretical_speedup, r.measured_speedup,
             100 * r.efficiency);
  fmt::print("{} on {} ({} kernels, {} threads)\n", model.config().name, cpu_name(), kernel_isa_name(),
             r.options.threads);
}

void run_kv_compare_command(KvCompareArgs& a) {
  const auto model = load_model(a.model);
  a.options.kv_type = parse_kv_type(a.kv_type);
  a.options.strategies.clear();
  std::stringstream ss(a.strategies);
  for (std::string s; std::getline(ss, s, ',');) a.options.strategies.push_back(parse_strategy(s));
  ProgressBar bar("kv-compare");
  const KvCompareResult r = run_kv_compare(*model, a.options, [&](int done, int total) { bar.update(done, total); });
  print_kv_compare(*model, r);
  const nlohmann::json result = kv_compare_json(*model, r);
  if (!a.json_path.empty()) write_or_print(a.json_path, result.dump(2) + "\n");
  if (!a.plot_dir.empty()) write_plots(result, a.plot_dir);
  if (!r.all_identical) fail("the strategies' outputs differ: this is a bug");
}

void add_kv_compare(CLI::App& bench) {
  auto* cmd = bench.add_subcommand("kv-compare", "Cache strategies side by side, outputs verified identical");
  cmd->footer("Examples:\n  kvscope bench kv-compare\n  kvscope bench kv-compare --prompt-tokens 200 --new-tokens 200 --json out.json");
  auto a = std::make_shared<KvCompareArgs>();
  add_model_option(*cmd, a->model);
  cmd->add_option("--prompt-tokens", a->options.prompt_tokens, "Prompt length")->check(CLI::PositiveNumber);
  cmd->add_option("--new-tokens", a->options.new_tokens, "Tokens to generate")->check(CLI::PositiveNumber);
  cmd->add_option("-r,--repetitions", a->options.repetitions, "Measured runs per strategy")->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", a->options.warmup, "Unmeasured runs per strategy first")->check(CLI::NonNegativeNumber);
  cmd->add_option("--strategies", a->strategies, "Comma list, baseline first (default none,concat,prealloc)");
  cmd->add_option("-t,--threads", a->options.threads, "Threads")->check(CLI::Range(1, 256));
  cmd->add_option("--kv-type", a->kv_type, "KV cache storage: f32 or f16")->check(CLI::IsMember({"f32", "f16"}));
  add_precision_option(*cmd, a->options.precision);
  cmd->add_option("--json", a->json_path, "Also write the result as JSON to this file");
  cmd->add_option("--plot", a->plot_dir, "Also draw the bar chart of median times (PNG and SVG) into this folder");
  cmd->callback([a] { run_kv_compare_command(*a); });
}

// ---- faithfulness ----

struct FaithfulnessArgs {
  std::string model, text_path = std::string(KVSCOPE_SOURCE_DIR) + "/tests/fixtures/text/python_docs.txt", json_path;
  FaithfulnessOptions options;
};

void run_faithfulness(const FaithfulnessArgs& a) {
  const auto model = load_model(a.model);
  std::ifstream in(a.text_path, std::ios::binary);
  if (!in) fail("{}: cannot open the text", a.text_path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::vector<int32_t> tokens = model->tokenizer().encode(text, false, true);
  ProgressBar bar("faithfulness");
  const FaithfulnessResult r =
      measure_faithfulness(*model, tokens, a.options, [&](int done, int total) { bar.update(done, total); });
  Table t({"Measure", "Value"}, "Fast path (int8 activations) against the exact path (f32)");
  t.add_row({"Positions compared", fmt::format("{}", r.positions)});
  t.add_row({"Same top-1 token", fmt::format("{:.2f}%", 100 * r.same_top1)});
  t.add_row({"Mean KL divergence", fmt::format("{:.6f}", r.kl.mean)});
  t.add_row({"Median KL divergence", fmt::format("{:.6f}", r.kl.median)});
  t.add_row({"99th percentile KL", fmt::format("{:.6f}", r.kl.p99)});
  t.add_row({"Maximum KL", fmt::format("{:.6f}", r.kl.max)});
  t.add_row({"Perplexity, exact", fmt::format("{:.4f}", r.perplexity_exact)});
  t.add_row({"Perplexity, fast", fmt::format("{:.4f}", r.perplexity_fast)});
  fmt::print("{}\n{} on {} ({} kernels), text {} ({} chunks of {} tokens)\n", t.render(), model->config().name,
             cpu_name(), kernel_isa_name(), a.text_path, r.positions / (a.options.n_ctx / 2 - 1), a.options.n_ctx);
  if (!a.json_path.empty())
    write_or_print(a.json_path,
                   nlohmann::json({{"suite", "faithfulness"}, {"system", system_json(*model, a.options.threads)},
                                   {"text", a.text_path}, {"n_ctx", a.options.n_ctx}, {"positions", r.positions},
                                   {"same_top1", r.same_top1}, {"kl", summary_json(r.kl)},
                                   {"perplexity_exact", r.perplexity_exact}, {"perplexity_fast", r.perplexity_fast}})
                           .dump(2) +
                       "\n");
}

void add_faithfulness(CLI::App& bench) {
  auto* cmd = bench.add_subcommand("faithfulness", "How far the fast path strays from the exact one (KL, top-1)");
  cmd->footer("Examples:\n  kvscope bench faithfulness\n  kvscope bench faithfulness --text my.txt --ctx 256 --json kl.json");
  auto a = std::make_shared<FaithfulnessArgs>();
  add_model_option(*cmd, a->model);
  cmd->add_option("--text", a->text_path, "UTF-8 text to score (default: tests/fixtures/text/python_docs.txt)");
  cmd->add_option("--ctx", a->options.n_ctx, "Chunk length; the second half of each chunk is compared")->check(CLI::Range(4, 1 << 20));
  cmd->add_option("--max-tokens", a->options.max_tokens, "Use at most this many tokens of the text")->check(CLI::PositiveNumber);
  cmd->add_option("-t,--threads", a->options.threads, "Threads")->check(CLI::Range(1, 256));
  cmd->add_option("--json", a->json_path, "Also write the result as JSON to this file");
  cmd->callback([a] { run_faithfulness(*a); });
}

// ---- trace ----

struct TraceArgs {
  std::string model, kv_type = "f32", json_path, csv_path, plot_dir, strategies = "none,prealloc";
  TraceOptions options;
};

nlohmann::json trace_json(const Model& model, const TraceOptions& o, const std::vector<StrategyTrace>& traces) {
  nlohmann::json j = {{"suite", "trace"}, {"system", system_json(model, o.threads)}, {"prompt_tokens", o.prompt_tokens},
                      {"new_tokens", o.new_tokens}, {"repetitions", o.repetitions}, {"strategies", nlohmann::json::array()}};
  for (const StrategyTrace& t : traces)
    j["strategies"].push_back({{"strategy", strategy_name(t.strategy)}, {"mean_latency_s", t.mean_latency_s},
                               {"min_latency_s", t.min_latency_s}, {"max_latency_s", t.max_latency_s}});
  return j;
}

void run_trace_command(TraceArgs& a) {
  const auto model = load_model(a.model);
  a.options.kv_type = parse_kv_type(a.kv_type);
  a.options.strategies.clear();
  std::stringstream ss(a.strategies);
  for (std::string s; std::getline(ss, s, ',');) a.options.strategies.push_back(parse_strategy(s));
  ProgressBar bar("trace");
  const std::vector<StrategyTrace> traces =
      run_trace(*model, a.options, [&](int done, int total) { bar.update(done, total); });
  std::vector<std::string> headers = {"Token"};
  for (const StrategyTrace& t : traces) headers.push_back(fmt::format("{} (ms)", strategy_name(t.strategy)));
  Table table(headers, fmt::format("Per-token latency, mean of {} runs", a.options.repetitions));
  const size_t n = traces.front().mean_latency_s.size();
  // About ten rows: every step-th token, and the last one.
  std::vector<size_t> shown;
  for (size_t i = 0; i < n; i += std::max<size_t>(1, n / 10)) shown.push_back(i);
  if (shown.back() != n - 1) shown.push_back(n - 1);
  for (size_t i : shown) {
    std::vector<std::string> row = {fmt::format("{}", i + 1)};
    for (const StrategyTrace& t : traces) row.push_back(fmt::format("{:.2f}", t.mean_latency_s[i] * 1e3));
    table.add_row(row);
  }
  fmt::print("{}\nToken 1 is the time to first token (prefill); the rest are gaps between tokens.\n{} on {} ({} kernels, {} threads)\n",
             table.render(), model->config().name, cpu_name(), kernel_isa_name(), a.options.threads);
  const nlohmann::json result = trace_json(*model, a.options, traces);
  if (!a.json_path.empty()) write_or_print(a.json_path, result.dump(2) + "\n");
  if (!a.plot_dir.empty()) write_plots(result, a.plot_dir);
  if (!a.csv_path.empty()) {
    std::string csv = "token";
    for (const StrategyTrace& t : traces) csv += fmt::format(",{}_mean_s,{}_min_s,{}_max_s", strategy_name(t.strategy),
                                                             strategy_name(t.strategy), strategy_name(t.strategy));
    csv += "\n";
    for (size_t i = 0; i < n; ++i) {
      csv += fmt::format("{}", i + 1);
      for (const StrategyTrace& t : traces)
        csv += fmt::format(",{:.9f},{:.9f},{:.9f}", t.mean_latency_s[i], t.min_latency_s[i], t.max_latency_s[i]);
      csv += "\n";
    }
    write_or_print(a.csv_path, csv);
  }
}

void add_trace(CLI::App& bench) {
  auto* cmd = bench.add_subcommand("trace", "Per-token latency with and without the cache (seed 001)");
  cmd->footer("Examples:\n  kvscope bench trace\n  kvscope bench trace --new-tokens 200 -r 5 --csv trace.csv --json trace.json");
  auto a = std::make_shared<TraceArgs>();
  add_model_option(*cmd, a->model);
  cmd->add_option("--prompt-tokens", a->options.prompt_tokens, "Prompt length")->check(CLI::PositiveNumber);
  cmd->add_option("--new-tokens", a->options.new_tokens, "Tokens to generate")->check(CLI::PositiveNumber);
  cmd->add_option("-r,--repetitions", a->options.repetitions, "Measured runs per strategy")->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", a->options.warmup, "Unmeasured runs per strategy first")->check(CLI::NonNegativeNumber);
  cmd->add_option("--strategies", a->strategies, "Comma list (default none,prealloc)");
  cmd->add_option("-t,--threads", a->options.threads, "Threads")->check(CLI::Range(1, 256));
  cmd->add_option("--kv-type", a->kv_type, "KV cache storage: f32 or f16")->check(CLI::IsMember({"f32", "f16"}));
  add_precision_option(*cmd, a->options.precision);
  cmd->add_option("--json", a->json_path, "Also write the traces as JSON to this file");
  cmd->add_option("--csv", a->csv_path, "Also write the traces as CSV to this file");
  cmd->add_option("--plot", a->plot_dir, "Also draw the per-token latency chart (PNG and SVG) into this folder");
  cmd->callback([a] { run_trace_command(*a); });
}

}  // namespace

void add_bench(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Measurement suites");
  bench->require_subcommand(1);
  add_speed(*bench);
  add_kv_compare(*bench);
  add_faithfulness(*bench);
  add_trace(*bench);
}

}  // namespace kvscope::cli
