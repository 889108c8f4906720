// kvscope bench: the measurement suites.
#include <fmt/format.h>

#include <fstream>
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
    write_text_file(a.json_path,
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

}  // namespace

void add_bench(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Measurement suites");
  bench->require_subcommand(1);
  add_speed(*bench);
  add_compare_suites(*bench);
  add_serving_suites(*bench);
  add_faithfulness(*bench);
}

}  // namespace kvscope::cli
