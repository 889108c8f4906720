#include "common.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>

#include "bench/results_json.h"
#include "core/error.h"
#include "metrics/export.h"
#include "metrics/system.h"
#include "report/suite_report.h"

namespace kvscope::cli {

void add_model_option(CLI::App& app, std::string& path) {
  app.add_option("-m,--model", path,
                 "GGUF file or Hugging Face folder (default: $KVSCOPE_MODEL, else models/" +
                     std::string(kDefaultModelName) + ")");
}

void stream_to_stdout(int, int32_t, const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

void add_precision_option(CLI::App& app, Precision& precision) {
  std::map<std::string, Precision> names;
  for (Precision p : kChoosablePrecisions) names.emplace(precision_name(p), p);
  app.add_option("--precision", precision,
                 "fast: int8 activations as llama.cpp, plus the rounding error of each row's two "
                 "blocks of largest scale (BF16 activations for BF16 weights, with AVX512_BF16) "
                 "(default); int8: the same without those blocks; split: each activation row as "
                 "two int8 rows (about 15 bits; twice the products, near-exact logits); exact: f32 "
                 "activations, as transformers")
      ->transform(
          CLI::CheckedTransformer(names, CLI::ignore_case).description("{fast,int8,split,exact}"));
}

void add_split_matrices_option(CLI::App& app, std::string& kinds) {
  app.add_option("--split-matrices", kinds,
                 "With --precision fast: matrix kinds whose activations are split as by "
                 "--precision split, comma list of qkv, attn_out, ffn_in, ffn_down, head");
}

void add_sampling_options(CLI::App& app, SamplingArgs& args) {
  SamplingOptions& s = args.given;
  args.temperature = app.add_option("--temp", s.temperature, "Temperature; 0 is greedy")
                         ->check(CLI::NonNegativeNumber);
  args.top_k = app.add_option("--top-k", s.top_k, "Keep the k most likely tokens (0: off)")
                   ->check(CLI::NonNegativeNumber);
  args.top_p = app.add_option("--top-p", s.top_p, "Keep the most likely tokens up to this mass")
                   ->check(CLI::Range(0.0, 1.0));
  args.min_p = app.add_option("--min-p", s.min_p, "Drop tokens below this share of the best one")
                   ->check(CLI::Range(0.0, 1.0));
  args.repeat_penalty = app.add_option("--repeat-penalty", s.repeat_penalty,
                                       "Penalty for tokens already seen (1: off)")
                            ->check(CLI::PositiveNumber);
  args.seed = app.add_option("--seed", s.seed, "Random seed for sampling");
}

SamplingOptions SamplingArgs::over(const SamplingOptions& base) const {
  const auto given_on = [](const CLI::Option* o) { return o != nullptr && o->count() > 0; };
  SamplingOptions s = base;
  if (given_on(temperature)) s.temperature = given.temperature;
  if (given_on(top_k)) s.top_k = given.top_k;
  if (given_on(top_p)) s.top_p = given.top_p;
  if (given_on(min_p)) s.min_p = given.min_p;
  if (given_on(repeat_penalty)) s.repeat_penalty = given.repeat_penalty;
  if (given_on(seed)) s.seed = given.seed;
  return s;
}

namespace {

std::string g_command_line;  // NOLINT: set once by main

// One validator's check in words: CLI11 describes them as "POSITIVE", "NONNEGATIVE",
// "INT in [1 - 256]" or "{f32,f16}".
std::string check_in_words(const std::string& type, const std::string& check) {
  const bool whole = type == "INT" || type == "UINT";
  const std::string number = whole ? "a whole number" : "a number";
  if (check == "POSITIVE") return whole ? "a whole number of at least 1" : "a number above 0";
  if (check == "NONNEGATIVE") return number + " of at least 0";
  std::smatch range;
  if (std::regex_match(check, range, std::regex(R"(\w+ in \[(.+) - (.+)\])")))
    return fmt::format("{} from {} to {}", number, range[1].str(), range[2].str());
  if (check.size() > 2 && check.front() == '{' && check.back() == '}')
    return "one of " + std::regex_replace(check.substr(1, check.size() - 2), std::regex(","), ", ");
  return check;
}

// What an option's values must be, in words, from its type name ("INT:POSITIVE").
std::string accepted_values(const CLI::Option& option) {
  std::vector<std::string> parts;
  std::stringstream ss(option.get_type_name());
  for (std::string part; std::getline(ss, part, ':');) parts.push_back(part);
  const std::string type = parts.empty() ? "" : parts.front();
  if (parts.size() < 2) {
    if (type == "INT") return "a whole number";
    if (type == "UINT") return "a whole number of at least 0";
    if (type == "FLOAT" || type == "NUMBER") return "a number";
    return "a value";
  }
  std::string words;
  for (size_t i = 1; i < parts.size(); ++i)
    words += (i > 1 ? " and " : "") + check_in_words(type, parts[i]);
  return words;
}

std::vector<CLI::Validator*> validators_of(CLI::Option& option) {
  std::vector<CLI::Validator*> out;
  try {
    for (int i = 0;; ++i) out.push_back(option.get_validator(i));
  } catch (const CLI::OptionNotFound&) {  // past the last one
  }
  return out;
}

// A check that the value converts to the option's number type, for options without a validator.
std::optional<CLI::Validator> type_check(const std::string& type) {
  if (type == "INT") return CLI::TypeValidator<int>("");
  if (type == "UINT") return CLI::TypeValidator<uint64_t>("");
  if (type == "FLOAT") return CLI::TypeValidator<double>("");
  return std::nullopt;
}

// The commands the parse reached: kvscope, bench, speed.
std::vector<const CLI::App*> parsed_commands(const CLI::App& app) {
  std::vector<const CLI::App*> path = {&app};
  while (!path.back()->get_subcommands().empty())
    path.push_back(path.back()->get_subcommands().front());
  return path;
}

// The option `name` of the innermost command reached that has one.
const CLI::Option* find_option(const CLI::App& app, const std::string& name) {
  const std::vector<const CLI::App*> path = parsed_commands(app);
  for (auto it = path.rbegin(); it != path.rend(); ++it)
    for (const CLI::Option* option : (*it)->get_options())
      if (option->check_name(name)) return option;
  return nullptr;
}

std::string command_path(const CLI::App& app) {
  std::string path = "kvscope";
  for (const CLI::App* command : parsed_commands(app))
    if (command != &app) path += " " + command->get_name();
  return path;
}

}  // namespace

void explain_value_errors(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    if (option->get_items_expected_max() == 0) continue;  // a flag
    std::vector<CLI::Validator*> validators = validators_of(*option);
    if (validators.empty()) {
      const auto check = type_check(option->get_type_name());
      if (!check) continue;
      option->check(*check);
      validators = validators_of(*option);
    }
    const std::string accepted = accepted_values(*option);
    for (CLI::Validator* v : validators) {
      // Keep the check (and any transform it makes), replace its message.
      v->operation([check = *v, accepted](std::string& value) {
        const std::string given = value;
        return check(value).empty() ? std::string()
                                    : fmt::format("expected {}, got '{}'", accepted, given);
      });
    }
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    explain_value_errors(*sub);
}

std::string parse_error_line(const CLI::App& app, const CLI::ParseError& e) {
  std::string message = std::regex_replace(std::string(e.what()), std::regex("\\s*\n\\s*"), " ");
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr) {
    // "--max-new-tokens: 1 required INT:POSITIVE missing"
    const std::string name = message.substr(0, message.find(':'));
    if (const CLI::Option* option = find_option(app, name))
      message = fmt::format("{} needs a value: {}", name, accepted_values(*option));
  }
  if (dynamic_cast<const CLI::ValidationError*>(&e) != nullptr) return message;
  return fmt::format("{} (see {} --help)", message, command_path(app));
}

void set_command_line(int argc, char** argv) {
  g_command_line.clear();
  for (int i = 0; i < argc; ++i) g_command_line += (i > 0 ? " " : "") + std::string(argv[i]);
}

const std::string& command_line() { return g_command_line; }

std::vector<CacheStrategy> parse_strategy_list(const std::string& text) {
  std::vector<CacheStrategy> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(parse_strategy(item));
  return out;
}

MatrixKinds parse_matrix_kind_list(const std::string& text) {
  MatrixKinds kinds = 0;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');)
    kinds |= matrix_kind_bit(parse_matrix_kind(item));
  return kinds;
}

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

std::string system_line(int threads) {
  return fmt::format("{} ({} kernels, {} threads)", cpu_name(), kernel_isa_name(), threads);
}

void KvArgs::apply(SessionOptions& o) const {
  o.cache = parse_strategy(cache);
  o.kv_type = parse_kv_type(kv_type);
  o.block_size = block_size;
  o.prefix_cache = prefix_cache;
}

void add_kv_options(CLI::App& app, KvArgs& a) {
  app.add_option("--cache", a.cache,
                 "KV cache strategy: none, concat, prealloc, paged or paged+prefix")
      ->check(CLI::IsMember({"none", "concat", "prealloc", "paged", "paged+prefix"}))
      ->capture_default_str();
  add_kv_type_option(app, a.kv_type);
  add_block_options(app, a.block_size, a.prefix_cache);
}

void add_kv_type_option(CLI::App& app, std::string& kv_type) {
  app.add_option("--kv-type", kv_type, "KV cache storage: f32, f16 or q8_0")
      ->check(CLI::IsMember({"f32", "f16", "q8_0"}))
      ->capture_default_str();
}

void add_block_options(CLI::App& app, int& block_size, bool& prefix_cache) {
  app.add_option("--block-size", block_size, "Positions per block of the paged cache")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_flag("--prefix-cache", prefix_cache,
               "Paged cache: reuse the blocks of earlier prompts and outputs");
}

std::string pool_line(const KvCache& cache) {
  const PoolStats p = cache.pool_stats();
  if (!is_paged(cache.strategy())) return "";
  return fmt::format(
      "KV pool: {} blocks of {} positions, {} in use, {} cached; {} prompt tokens reused, {} "
      "evictions\n",
      p.blocks_total, cache.shape().block_size, p.blocks_used, p.blocks_cached, p.prefix_hit_tokens,
      p.evictions);
}

nlohmann::json pool_json(const KvCache& cache) {
  const PoolStats p = cache.pool_stats();
  return {{"strategy", strategy_name(cache.strategy())},
          {"block_size", cache.shape().block_size},
          {"blocks_total", p.blocks_total},
          {"blocks_used", p.blocks_used},
          {"blocks_cached", p.blocks_cached},
          {"prefix_hit_tokens", p.prefix_hit_tokens},
          {"evictions", p.evictions},
          {"bytes_reserved", cache.bytes_reserved()},
          {"peak_bytes_reserved", cache.peak_bytes_reserved()}};
}

MeasureOptions MeasureArgs::parsed() const {
  MeasureOptions o = options;
  o.kv_type = parse_kv_type(kv_type);
  if (!strategies.empty()) o.strategies = parse_strategy_list(strategies);
  return o;
}

void add_measure_options(CLI::App& app, MeasureArgs& a) {
  std::string defaults;
  for (CacheStrategy s : a.options.strategies)
    defaults += (defaults.empty() ? "" : ",") + std::string(strategy_name(s));
  app.add_option("-r,--repetitions", a.options.repetitions, "Measured runs of each variant")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--warmup", a.options.warmup, "Unmeasured runs of each variant first")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--strategies", a.strategies,
                 "Cache strategies, comma list, baseline first (default " + defaults + ")");
  app.add_option("-t,--threads", a.options.threads, "Threads")->check(CLI::Range(1, 256));
  add_kv_type_option(app, a.kv_type);
  add_block_options(app, a.options.block_size, a.options.prefix_cache);
  add_precision_option(app, a.options.precision);
}

void add_output_options(CLI::App& app, SuiteOutput& o) {
  app.add_option("--json", o.json_path,
                 "Also write the result as JSON to this file (format: docs/results.md)");
  app.add_option("--csv", o.csv_path, "Also write the result as CSV to this file");
  app.add_option("--plot", o.plot_dir,
                 "Also draw the result's charts (PNG and SVG) into this folder");
  add_log_options(app, o);
}

void add_log_options(CLI::App& app, SuiteOutput& o) {
  app.add_option("--log-file", o.log_file,
                 "Append the log here (default: logs/kvscope_<model>_<suite>_<date>.log)");
  app.add_option("--log-level", o.log_level,
                 "basic: the tables; detailed: the tables and the JSON result")
      ->check(CLI::IsMember({"basic", "detailed"}));
  app.add_flag("--no-log", o.no_log, "Write no log file");
}

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  if (!out || !(out << text)) fail("{}: cannot write", path);
}

void emit(const SuiteOutput& o, const Model& model, int threads, const std::string& suite,
          const std::string& console, const nlohmann::json& result,
          const nlohmann::ordered_json& records) {
  fmt::print("{}", console);
  std::fflush(stdout);
  if (!o.json_path.empty()) write_text_file(o.json_path, result.dump(2) + "\n");
  if (!o.csv_path.empty()) write_text_file(o.csv_path, csv_from_records(records));
  if (!o.plot_dir.empty()) {
    const report::SuiteReport charts = report::read_suite_report(result, suite);
    for (const std::string& path :
         report::write_charts(charts, o.plot_dir, report::ImageFormat::kBoth))
      fmt::print(stderr, "wrote {}\n", path);
  }
  emit_log(o, model, threads, suite, console, result);
}

void emit_log(const SuiteOutput& o, const Model& model, int threads, const std::string& suite,
              const std::string& console, const nlohmann::json& result) {
  if (o.no_log) return;
  const std::string path =
      o.log_file.empty() ? default_log_path("logs", model.config().name, suite) : o.log_file;
  LogEntry entry{suite, model.config().name, system_line(threads), command_line(), console};
  if (o.log_level == "detailed") entry.body += "\nResult (JSON):\n" + result.dump(2) + "\n";
  append_log(path, entry);
  fmt::print(stderr, "log appended to {}\n", path);
}

namespace {

void add_summary_fields(nlohmann::ordered_json& record, const std::string& name, const Summary& s) {
  for (const auto& [stat, value] : {std::pair{"median", s.median},
                                    {"mean", s.mean},
                                    {"min", s.min},
                                    {"max", s.max},
                                    {"stddev", s.stddev},
                                    {"p50", s.p50},
                                    {"p90", s.p90},
                                    {"p99", s.p99}})
    record[name + "_" + stat] = value;
}

}  // namespace

nlohmann::ordered_json measurement_record(const Workload& w, const Measurement& m) {
  std::string prompt_tokens;
  for (const auto& p : w.prompts)
    prompt_tokens += (prompt_tokens.empty() ? "" : " ") + std::to_string(p.size());
  nlohmann::ordered_json r = {{"name", w.name},
                              {"strategy", strategy_name(m.strategy)},
                              {"batch", w.prompts.size()},
                              {"prompt_tokens", prompt_tokens},
                              {"new_tokens", w.new_tokens},
                              {"runs", m.seconds.count}};
  add_summary_fields(r, "seconds", m.seconds);
  add_summary_fields(r, "ttft_s", m.ttft_s);
  add_summary_fields(r, "tpot_s", m.tpot_s);
  add_summary_fields(r, "throughput_tps", m.throughput_tps);
  r["kv_bytes_reserved"] = m.kv_bytes_reserved;
  r["identical"] = m.identical;
  return r;
}

}  // namespace kvscope::cli
