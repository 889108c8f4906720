#pragma once
// What the subcommands share: the default model, loading with a clear message, terminal output.
#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/results_json.h"
#include "bench/workload.h"
#include "generate/session.h"
#include "kernels/matmul.h"
#include "metrics/stats.h"
#include "models/default_model.h"
#include "models/model.h"

namespace kvscope::cli {

// Adds the -m/--model option to a subcommand.
void add_model_option(CLI::App& app, std::string& path);
// Writes generated text to stdout at once (a TokenCallback for streaming).
void stream_to_stdout(int seq, int32_t token, const std::string& text);

// Adds --precision (fast or exact) to a subcommand.
void add_precision_option(CLI::App& app, Precision& precision);
// --split-matrices: a comma list of matrix kinds (parse_matrix_kind_list) split on the fast path.
void add_split_matrices_option(CLI::App& app, std::string& kinds);

// The sampling options of run, chat and demo: --temp, --top-k, --top-p, --min-p,
// --repeat-penalty, --seed. Each one given on the command line replaces the base's value.
struct SamplingArgs {
  SamplingOptions given;
  const CLI::Option *temperature = nullptr, *top_k = nullptr, *top_p = nullptr, *min_p = nullptr,
                    *repeat_penalty = nullptr, *seed = nullptr;
  SamplingOptions over(const SamplingOptions& base) const;
};
void add_sampling_options(CLI::App& app, SamplingArgs& args);

// The KV cache options of run, chat, demo and viz: --cache, --kv-type, --block-size,
// --prefix-cache.
struct KvArgs {
  std::string cache = "paged", kv_type = "f32";
  int block_size = 16;
  bool prefix_cache = false;
  void apply(SessionOptions& options) const;
};
void add_kv_options(CLI::App& app, KvArgs& args);
void add_kv_type_option(CLI::App& app, std::string& kv_type);
void add_block_options(CLI::App& app, int& block_size, bool& prefix_cache);
// The paged pool's state as a line of text and as JSON (blocks in use, cached, reused tokens).
std::string pool_line(const KvCache& cache);
nlohmann::json pool_json(const KvCache& cache);
// Makes a bad value of any option of `app` or its subcommands fail as
// "--flag: expected <what it accepts>, got '<value>'" (main calls it once every option is added).
void explain_value_errors(CLI::App& app);
// The line a parse error other than a call for help prints after "kvscope: error: ".
std::string parse_error_line(const CLI::App& app, const CLI::ParseError& error);

// The command line as typed, for log files (main records it).
void set_command_line(int argc, char** argv);
const std::string& command_line();

std::vector<int> parse_int_list(const std::string& text, const char* flag);
std::vector<CacheStrategy> parse_strategy_list(const std::string& text);  // "none,paged"
MatrixKinds parse_matrix_kind_list(const std::string& text);              // "qkv,ffn_in"
// The CPU, kernels and threads as one line.
std::string system_line(int threads);

// The options every measuring suite shares: repetitions, warm-up, strategies, threads, KV type
// and precision.
struct MeasureArgs {
  MeasureOptions options;
  std::string strategies = "", kv_type = "f32";  // empty strategies: the options' own
  MeasureOptions parsed() const;  // options with the strategies and the KV type applied
};
void add_measure_options(CLI::App& app, MeasureArgs& args);

// Where a suite's result goes besides the console: --json, --csv and the log under logs/.
struct SuiteOutput {
  std::string json_path, csv_path, plot_dir, log_file, log_level = "basic";
  bool no_log = false;
};
void add_output_options(CLI::App& app, SuiteOutput& output);
void add_log_options(CLI::App& app, SuiteOutput& output);  // --log-file, --log-level, --no-log
void write_text_file(const std::string& path, const std::string& text);  // Error if it cannot
// Prints `console` to stdout, writes the JSON, the CSV (from flat `records`) and the charts (from
// the JSON, as `kvscope report` draws them) where asked, and appends the log (with the JSON too at
// --log-level detailed).
void emit(const SuiteOutput& output, const Model& model, int threads, const std::string& suite,
          const std::string& console, const nlohmann::json& result,
          const nlohmann::ordered_json& records);
// Appends the log entry of `console` (and `result` at --log-level detailed) unless --no-log.
void emit_log(const SuiteOutput& output, const Model& model, int threads, const std::string& suite,
              const std::string& console, const nlohmann::json& result);
// The flat record of one workload under one strategy: names, then every statistic of each figure.
nlohmann::ordered_json measurement_record(const Workload& workload, const Measurement& m);

// Registration of each subcommand: adds it to `app` and sets its callback.
void add_inspect(CLI::App& app);
void add_tokenize(CLI::App& app);
void add_run(CLI::App& app);
void add_demo(CLI::App& app);
void add_chat(CLI::App& app);
void add_bench(CLI::App& app);
// Rewrites llama-bench's one-dash flags of several letters ("-pg", "-ctk") in the arguments of
// `bench speed` (args without the program name) to the long names CLI11 reads.
void spell_llama_bench_flags(std::vector<std::string>& args);
void add_compare_suites(CLI::App& bench);  // kv-compare, trace, sweep, cases
void add_serving_suites(CLI::App& bench);  // memory, prefix
void add_bench_serve(CLI::App& bench);
void add_report(CLI::App& app);
void add_viz(CLI::App& app);
void add_train(CLI::App& app);
void add_serve(CLI::App& app);

}  // namespace kvscope::cli
