// kvscope bench: the measurement suites.
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bench/faithfulness.h"
#include "bench/speed.h"
#include "common.h"
#include "core/error.h"
#include "metrics/memory.h"
#include "metrics/progress.h"
#include "metrics/system.h"
#include "metrics/table.h"

namespace kvscope::cli {
namespace {

// ---- speed ----

struct SpeedArgs {
  std::string model, prompts = "512", gens = "128", depths = "0", parallel = "1", output = "md",
                     type_k = "f16", type_v = "f16", caches = "paged";
  std::vector<std::string> pg;
  Precision precision = Precision::kFast;
  std::string split_matrices;
  int threads = 2, repetitions = 5, n_batch = 2048, n_ubatch = 512;
  bool json = false;
};

std::vector<SpeedTest> speed_tests(const SpeedArgs& a) {
  std::vector<std::pair<int, int>> pg;
  for (const std::string& pair : a.pg) {
    const std::vector<int> v = parse_int_list(pair, "-pg");
    if (v.size() != 2)
      fail("-pg takes a pair: prompt,generated (such as -pg 512,128), got '{}'", pair);
    pg.emplace_back(v[0], v[1]);
  }
  std::vector<SpeedTest> tests;
  for (int d : parse_int_list(a.depths, "-d"))
    for (int b : parse_int_list(a.parallel, "-npl")) {
      if (b < 1) fail("-npl must be at least 1");
      for (int p : parse_int_list(a.prompts, "-p"))
        if (p > 0) tests.push_back({p, 0, d, b});
      for (int n : parse_int_list(a.gens, "-n"))
        if (n > 0) tests.push_back({0, n, d, b});
      for (const auto& [p, n] : pg) tests.push_back({p, n, d, b});
    }
  if (tests.empty()) fail("no tests: give -p, -n or -pg");
  return tests;
}

void print_speed_markdown(const SpeedReport& report, const std::vector<SpeedResult>& results,
                          const std::vector<nlohmann::ordered_json>& records) {
  fmt::print(
      "| model | size | params | backend | threads | type_k | cache | test | t/s | GB/s read | "
      "share of bandwidth |\n"
      "| --- | ---: | ---: | --- | ---: | --- | --- | ---: | ---: | ---: | ---: |\n");
  for (size_t i = 0; i < results.size(); ++i) {
    const SpeedResult& r = results[i];
    const bool roofline = r.achieved_gbs > 0 && report.read_bandwidth_gbs > 0;
    fmt::print(
        "| {} | {:.2f} MiB | {:.2f} M | CPU | {} | {} | {} | {} | {:.2f} ± {:.2f} | {} | {} |\n",
        records[i]["model_type"].get<std::string>(),
        records[i]["model_size"].get<double>() / 1048576.0,
        records[i]["model_n_params"].get<double>() / 1e6, report.options.threads,
        records[i]["type_k"].get<std::string>(), strategy_name(r.cache), speed_test_name(r.test),
        r.avg_ts, r.stddev_ts, roofline ? fmt::format("{:.1f}", r.achieved_gbs) : "",
        roofline ? fmt::format("{:.0f}%", 100 * r.achieved_gbs / report.read_bandwidth_gbs) : "");
  }
  fmt::print("\nbuild: {} ({}), {} ({} kernels, {} precision{}){}\n", build_info().commit,
             build_info().build_number, cpu_name(), kernel_isa_name(),
             precision_name(report.options.precision),
             report.options.split_kinds ? ", split " + matrix_kinds_name(report.options.split_kinds)
                                        : std::string(),
             report.read_bandwidth_gbs > 0
                 ? fmt::format(", measured read bandwidth {:.1f} GB/s", report.read_bandwidth_gbs)
                 : "");
}

void run_speed(const SpeedArgs& a) {
  if (a.type_k != a.type_v)
    fail("-ctk {} and -ctv {} differ: kvscope stores keys and values in one type", a.type_k,
         a.type_v);
  const auto model = load_model(a.model);
  SpeedReport report;
  report.options.threads = a.threads;
  report.options.repetitions = a.repetitions;
  report.options.kv_type = parse_kv_type(a.type_k);
  report.options.precision = a.precision;
  report.options.split_kinds = parse_matrix_kind_list(a.split_matrices);
  report.n_batch = a.n_batch;
  report.n_ubatch = a.n_ubatch;
  const std::vector<SpeedTest> tests = speed_tests(a);
  const std::vector<CacheStrategy> caches = parse_strategy_list(a.caches);
  if (std::find(caches.begin(), caches.end(), CacheStrategy::kNone) != caches.end())
    fail("--cache none recomputes the whole sequence at every step: bench kv-compare measures it");
  std::vector<SpeedResult> results;
  ProgressBar bar("bench speed");
  for (size_t i = 0; i < tests.size(); ++i) {
    bar.update(static_cast<int>(i), static_cast<int>(tests.size()), speed_test_name(tests[i]));
    for (SpeedResult& r : run_speed_test(*model, tests[i], report.options, caches))
      results.push_back(std::move(r));
  }
  // The share of the memory-bandwidth limit reached by decode tests, against a measured read rate.
  if (std::any_of(results.begin(), results.end(),
                  [](const SpeedResult& r) { return r.achieved_gbs > 0; }))
    report.read_bandwidth_gbs = measure_read_bandwidth(a.threads) / 1e9;
  report.provenance = system_json(*model, a.threads);
  std::vector<nlohmann::ordered_json> records;
  for (const SpeedResult& r : results) records.push_back(llama_bench_record(*model, r, report));
  const std::string format = a.json ? "json" : a.output;
  if (format == "json") {
    fmt::print("{}\n", nlohmann::ordered_json(records).dump(2));
  } else if (format == "jsonl") {
    for (const auto& record : records) fmt::print("{}\n", record.dump());
  } else if (format == "csv") {
    fmt::print("{}", llama_bench_csv(records));
  } else {
    print_speed_markdown(report, results, records);
  }
}

// llama-bench spells some flags with one dash and several letters ("-pg", "-ctk"), which CLI11
// would read as bundled one-letter flags: bench speed takes them under their long names.
const std::map<std::string, std::string>& llama_bench_spellings() {
  static const std::map<std::string, std::string> kSpellings = {{"-pg", "--pg"},
                                                                {"-ub", "--ubatch-size"},
                                                                {"-ctk", "--cache-type-k"},
                                                                {"-ctv", "--cache-type-v"},
                                                                {"-npl", "--n-parallel"}};
  return kSpellings;
}

void add_speed(CLI::App& bench) {
  auto* cmd = bench.add_subcommand(
      "speed", "llama-bench's tests, flags and output: prefill (pp), decode (tg), both (pg)");
  cmd->footer(
      "Flags and output follow llama-bench (-o json and csv have its field names, then kvscope's "
      "own);\n"
      "-npl decodes several sequences together, as llama-batched-bench does (its t/s counts every "
      "sequence).\n"
      "-b and -ub are accepted and reported as n_batch and n_ubatch, but kvscope prefills a whole "
      "prompt in one step.\n"
      "Examples:\n  kvscope bench speed -p 512 -n 128 -r 5\n  kvscope bench speed -p 0 -n 128 -d "
      "0,512 -o json\n"
      "  kvscope bench speed -p 0 -n 32 -d 128 -npl 8,32\n"
      "  kvscope bench speed -p 0 -n 128 -d 0,512 --cache prealloc,paged\n  kvscope bench speed "
      "-pg 512,128 -ctk "
      "f32 -ctv f32");
  auto a = std::make_shared<SpeedArgs>();
  add_model_option(*cmd, a->model);
  cmd->add_option("-p,--n-prompt", a->prompts, "Prompt lengths (comma list; 0: none)")
      ->capture_default_str();
  cmd->add_option("-n,--n-gen", a->gens, "Generated lengths (comma list; 0: none)")
      ->capture_default_str();
  cmd->add_option("--pg", a->pg,
                  "-pg pp,tg: a prompt then generated tokens, timed together (repeatable)");
  cmd->add_option("-d,--n-depth", a->depths, "Context depths already in the cache (comma list)")
      ->capture_default_str();
  cmd->add_option("-b,--batch-size", a->n_batch,
                  "Logical batch size, reported as n_batch (kvscope prefills in one step)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--ubatch-size", a->n_ubatch, "-ub: physical batch size, reported as n_ubatch")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--n-parallel", a->parallel, "-npl: sequences decoded together (comma list)")
      ->capture_default_str();
  cmd->add_option("-t,--threads", a->threads, "Threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("-r,--repetitions", a->repetitions, "Timed repetitions after one warm-up")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--cache", a->caches,
                  "KV cache strategies, comma list (concat, prealloc, paged), measured in one run "
                  "with their repetitions alternated")
      ->capture_default_str();
  cmd->add_option("--cache-type-k", a->type_k, "-ctk: KV cache storage of keys: f16, f32 or q8_0")
      ->check(CLI::IsMember({"f16", "f32", "q8_0"}))
      ->capture_default_str();
  cmd->add_option("--cache-type-v", a->type_v,
                  "-ctv: KV cache storage of values (the same as -ctk)")
      ->check(CLI::IsMember({"f16", "f32", "q8_0"}))
      ->capture_default_str();
  add_precision_option(*cmd, a->precision);
  add_split_matrices_option(*cmd, a->split_matrices);
  cmd->add_option("-o,--output", a->output, "md, json, jsonl or csv")
      ->check(CLI::IsMember({"md", "json", "jsonl", "csv"}))
      ->capture_default_str();
  cmd->add_flag("--json", a->json, "Same as -o json");
  cmd->callback([a] { run_speed(*a); });
}

// ---- faithfulness ----

struct FaithfulnessArgs {
  std::string model,
      text_path = std::string(KVSCOPE_SOURCE_DIR) + "/tests/fixtures/text/python_docs.txt",
      json_path;
  std::string kv_type = "f32", split_matrices;
  bool ablate = false;
  FaithfulnessOptions options;
  Precision precision = Precision::kFast;
};

nlohmann::json faithfulness_json(const FaithfulnessConfig& c, const FaithfulnessResult& r) {
  return {{"precision", precision_name(c.precision)},
          {"split_matrices", matrix_kinds_name(c.split_kinds)},
          {"kv_type", kv_type_name(c.kv_type)},
          {"positions", r.positions},
          {"same_top1", r.same_top1},
          {"kl", summary_json(r.kl)},
          {"perplexity_exact", r.perplexity_exact},
          {"perplexity_fast", r.perplexity_fast}};
}

// The fast path as it is, each matrix kind's activations split alone, then all of them: what each
// kind's 8 bits cost.
std::vector<FaithfulnessConfig> ablation_configs(const FaithfulnessConfig& fast) {
  std::vector<FaithfulnessConfig> configs = {fast};
  MatrixKinds all = 0;
  for (MatrixKind k : kMatrixKinds) {
    configs.push_back({fast.precision, matrix_kind_bit(k), fast.kv_type});
    all |= matrix_kind_bit(k);
  }
  configs.push_back({fast.precision, all, fast.kv_type});
  return configs;
}

void run_faithfulness(const FaithfulnessArgs& a) {
  const auto model = load_model(a.model);
  std::ifstream in(a.text_path, std::ios::binary);
  if (!in) fail("{}: cannot open the text", a.text_path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::vector<int32_t> tokens = model->tokenizer().encode(text, false, true);
  const FaithfulnessConfig config{a.precision, parse_matrix_kind_list(a.split_matrices),
                                  parse_kv_type(a.kv_type)};
  if (a.ablate && (config.precision != Precision::kFast || config.split_kinds != 0))
    fail(
        "--ablate splits the fast path's matrices one kind at a time: use it with --precision "
        "fast and without --split-matrices");
  const std::vector<FaithfulnessConfig> configs =
      a.ablate ? ablation_configs(config) : std::vector{config};
  ProgressBar bar("faithfulness");
  const std::vector<FaithfulnessResult> results = measure_faithfulness(
      *model, tokens, a.options, configs, [&](int done, int total) { bar.update(done, total); });
  const FaithfulnessResult& r = results.front();
  const std::string compared = fmt::format(
      "{} path{}, {} KV cache, against the exact path with an f32 cache",
      precision_name(config.precision),
      config.split_kinds ? fmt::format(" (split {})", matrix_kinds_name(config.split_kinds)) : "",
      a.kv_type);
  if (a.ablate) {
    Table t({"Split activations", "Same top-1 token", "Mean KL", "99th percentile KL"}, compared);
    for (size_t i = 0; i < configs.size(); ++i)
      t.add_row({configs[i].split_kinds ? matrix_kinds_name(configs[i].split_kinds) : "none (fast)",
                 fmt::format("{:.2f}%", 100 * results[i].same_top1),
                 fmt::format("{:.6f}", results[i].kl.mean),
                 fmt::format("{:.6f}", results[i].kl.p99)});
    fmt::print("{}", t.render());
  } else {
    Table t({"Measure", "Value"}, compared);
    t.add_row({"Positions compared", fmt::format("{}", r.positions)});
    t.add_row({"Same top-1 token", fmt::format("{:.2f}%", 100 * r.same_top1)});
    t.add_row({"Mean KL divergence", fmt::format("{:.6f}", r.kl.mean)});
    t.add_row({"Median KL divergence", fmt::format("{:.6f}", r.kl.median)});
    t.add_row({"99th percentile KL", fmt::format("{:.6f}", r.kl.p99)});
    t.add_row({"Maximum KL", fmt::format("{:.6f}", r.kl.max)});
    t.add_row({"Perplexity, exact", fmt::format("{:.4f}", r.perplexity_exact)});
    t.add_row({"Perplexity, compared", fmt::format("{:.4f}", r.perplexity_fast)});
    fmt::print("{}", t.render());
  }
  fmt::print("\n{} on {} ({} kernels), text {} ({} chunks of {} tokens)\n", model->config().name,
             cpu_name(), kernel_isa_name(), a.text_path, r.positions / (a.options.n_ctx / 2 - 1),
             a.options.n_ctx);
  if (a.json_path.empty()) return;
  nlohmann::json j = {{"suite", "faithfulness"},
                      {"system", system_json(*model, a.options.threads)},
                      {"text", a.text_path},
                      {"n_ctx", a.options.n_ctx}};
  j.update(faithfulness_json(config, r));
  if (a.ablate) {
    j["ablation"] = nlohmann::json::array();
    for (size_t i = 0; i < configs.size(); ++i)
      j["ablation"].push_back(faithfulness_json(configs[i], results[i]));
  }
  write_text_file(a.json_path, j.dump(2) + "\n");
}

void add_faithfulness(CLI::App& bench) {
  auto* cmd = bench.add_subcommand("faithfulness",
                                   "How far the fast path strays from the exact one (KL, top-1)");
  cmd->footer(
      "Examples:\n  kvscope bench faithfulness\n  kvscope bench faithfulness --text my.txt --ctx "
      "256 --json kl.json\n  kvscope bench faithfulness --precision exact --kv-type q8_0\n  "
      "kvscope "
      "bench faithfulness --ablate");
  auto a = std::make_shared<FaithfulnessArgs>();
  add_model_option(*cmd, a->model);
  cmd->add_option("--text", a->text_path,
                  "UTF-8 text to score (default: tests/fixtures/text/python_docs.txt)");
  cmd->add_option("--ctx", a->options.n_ctx,
                  "Chunk length; the second half of each chunk is compared")
      ->check(CLI::Range(4, 1 << 20));
  cmd->add_option("--max-tokens", a->options.max_tokens, "Use at most this many tokens of the text")
      ->check(CLI::PositiveNumber);
  cmd->add_option("-t,--threads", a->options.threads, "Threads")->check(CLI::Range(1, 256));
  add_kv_type_option(*cmd, a->kv_type);
  add_precision_option(*cmd, a->precision);
  add_split_matrices_option(*cmd, a->split_matrices);
  cmd->add_flag("--ablate", a->ablate,
                "Split the fast path's activations one matrix kind at a time (then all): which "
                "kinds lose most to 8 bits");
  cmd->add_option("--json", a->json_path, "Also write the result as JSON to this file");
  cmd->callback([a] { run_faithfulness(*a); });
}

}  // namespace

void spell_llama_bench_flags(std::vector<std::string>& args) {
  if (args.size() < 2 || args[0] != "bench" || args[1] != "speed") return;
  for (std::string& arg : args)
    if (auto it = llama_bench_spellings().find(arg); it != llama_bench_spellings().end())
      arg = it->second;
}

void add_bench(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Measurement suites");
  bench->require_subcommand(1);
  add_speed(*bench);
  add_compare_suites(*bench);
  add_serving_suites(*bench);
  add_bench_serve(*bench);
  add_faithfulness(*bench);
}

}  // namespace kvscope::cli
