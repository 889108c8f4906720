// kvscope bench serve: measures any OpenAI-compatible server the way `vllm bench serve` does.
#include <fmt/format.h>
#include <httplib.h>

#include <cmath>

#include "common.h"
#include "core/error.h"
#include "metrics/table.h"
#include "serve/serve_bench.h"

namespace kvscope::cli {
namespace {

struct ServeBenchArgs {
  std::string model_path, dataset = "random", dataset_path, request_rate = "inf", label;
  std::vector<std::string> goodput;
  serve::Target target;
  serve::LoadOptions load;
  serve::RandomDataset random;
  bool ignore_eos = false;
  SuiteOutput output;
};

// The first model the server lists, when --model is not given.
std::string served_model(const serve::Target& t) {
  httplib::Client http(t.base_url);
  httplib::Headers headers;
  if (!t.api_key.empty()) headers.emplace("Authorization", "Bearer " + t.api_key);
  const httplib::Result r = http.Get("/v1/models", headers);
  if (!r || r->status != 200)
    fail("{}/v1/models: {} (is the server up? --model names the model without asking)", t.base_url,
         r ? fmt::format("HTTP {}", r->status) : httplib::to_string(r.error()));
  const nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
  if (!j.is_object() || !j.contains("data") || !j["data"].is_array() || j["data"].empty() ||
      !j["data"][0].contains("id"))
    fail("{}/v1/models: no model in the answer", t.base_url);
  return j["data"][0]["id"].get<std::string>();
}

// "ttft:MS", "tpot:MS" and "e2el:MS", as vLLM's --goodput.
void parse_goodput(const std::vector<std::string>& slos, serve::LoadOptions& o) {
  for (const std::string& slo : slos) {
    const size_t colon = slo.find(':');
    const std::string name = slo.substr(0, colon);
    double ms = 0;
    try {
      ms = colon == std::string::npos ? -1 : std::stod(slo.substr(colon + 1));
    } catch (const std::exception&) {
      ms = -1;
    }
    double* target = name == "ttft"   ? &o.goodput_ttft_ms
                     : name == "tpot" ? &o.goodput_tpot_ms
                     : name == "e2el" ? &o.goodput_e2el_ms
                                      : nullptr;
    if (!target || !(ms > 0))
      fail("--goodput: expected ttft:MS, tpot:MS or e2el:MS, got '{}'", slo);
    *target = ms;
  }
}

double parse_rate(const std::string& text) {
  if (text == "inf") return 0;
  try {
    const double rate = std::stod(text);
    if (rate > 0 && std::isfinite(rate)) return rate;
  } catch (const std::exception&) {
  }
  fail("--request-rate: expected requests per second or inf, got '{}'", text);
}

std::string console_text(const serve::ServeBenchResult& r, const nlohmann::json& j) {
  Table t({"", "value"}, "Serving benchmark");
  const auto add = [&](const std::string& name, const std::string& value) {
    t.add_row({name, value});
  };
  add("successful requests", fmt::format("{}", r.completed));
  add("failed requests", fmt::format("{}", r.failed));
  add("duration (s)", fmt::format("{:.2f}", r.duration_s));
  add("total input tokens", fmt::format("{}", r.input_tokens));
  add("total generated tokens", fmt::format("{}", r.output_tokens));
  add("request throughput (req/s)", fmt::format("{:.2f}", j["request_throughput"].get<double>()));
  add("output token throughput (tok/s)",
      fmt::format("{:.2f}", j["output_throughput"].get<double>()));
  add("total token throughput (tok/s)",
      fmt::format("{:.2f}", j["total_token_throughput"].get<double>()));
  const std::pair<const char*, const Summary*> figures[] = {
      {"TTFT", &r.ttft_ms}, {"TPOT", &r.tpot_ms}, {"ITL", &r.itl_ms}, {"E2EL", &r.e2el_ms}};
  for (const auto& [name, s] : figures)
    add(fmt::format("{} mean / median / p99 (ms)", name),
        fmt::format("{:.2f} / {:.2f} / {:.2f}", s->mean, s->median, s->p99));
  std::string out = t.render();
  for (const std::string& e : r.errors) out += "error: " + e + "\n";
  return out;
}

void run_bench_serve(ServeBenchArgs& a) {
  a.load.request_rate = parse_rate(a.request_rate);
  parse_goodput(a.goodput, a.load);
  const auto model = load_model(a.model_path);  // for its tokenizer, and the log
  if (a.target.model.empty()) a.target.model = served_model(a.target);
  const Tokenizer& tok = model->tokenizer();
  const std::vector<serve::ClientRequest> requests =
      a.dataset == "sharegpt"
          ? serve::sharegpt_requests(a.dataset_path, tok, a.load.num_prompts, a.load.seed,
                                     a.ignore_eos)
          : serve::random_requests(tok, a.random, a.load.num_prompts, a.load.seed, a.ignore_eos);
  const serve::ServeBenchResult r = serve::run_serve_bench(a.target, requests, a.load);
  nlohmann::json j = serve::serve_bench_json(r, a.load);
  j["base_url"] = a.target.base_url;
  j["endpoint"] = a.target.endpoint;
  j["model_id"] = a.target.model;
  j["label"] =
      a.label.empty() ? fmt::format("{} at {}", a.target.model, a.target.base_url) : a.label;
  j["num_prompts"] = a.load.num_prompts;
  j["dataset"] = a.dataset;
  j["suite"] = "serve";
  j["system"] = system_json(*model, 1);  // the client's: the server may run elsewhere
  nlohmann::ordered_json record;
  for (const auto& [key, value] : j.items())
    if (!value.is_array() && !value.is_object()) record[key] = value;
  emit(a.output, *model, 1, "serve", console_text(r, j), j,
       nlohmann::ordered_json::array({record}));
  if (r.completed == 0) fail("no request succeeded against {}", a.target.base_url);
}

}  // namespace

void add_bench_serve(CLI::App& bench) {
  auto* cmd = bench.add_subcommand(
      "serve", "Measure an OpenAI-compatible server (kvscope serve, llama-server, vLLM, ...)");
  cmd->footer(
      "Examples:\n  kvscope bench serve --base-url http://127.0.0.1:8080 --num-prompts 64 "
      "--max-concurrency 8\n"
      "  kvscope bench serve --random-input-len 512 --random-output-len 128 --request-rate 4 "
      "--json serve.json");
  auto a = std::make_shared<ServeBenchArgs>();
  cmd->add_option("--tokenizer", a->model_path,
                  "Model file whose tokenizer makes and counts the prompts (default: the default "
                  "model)");
  cmd->add_option("--base-url", a->target.base_url, "The server")->capture_default_str();
  cmd->add_option("--endpoint", a->target.endpoint, "The API to drive")
      ->check(CLI::IsMember({"/v1/completions", "/v1/chat/completions"}))
      ->capture_default_str();
  cmd->add_option("--model", a->target.model, "Model name sent (default: the server's first)");
  cmd->add_option("--label", a->label,
                  "The server's name in the result and in kvscope report's charts (default: MODEL "
                  "at BASE_URL)");
  cmd->add_option("--api-key", a->target.api_key, "Sent as 'Authorization: Bearer KEY'");
  cmd->add_option("--num-prompts", a->load.num_prompts, "Requests to send")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--request-rate", a->request_rate,
                  "Requests per second, arriving as a Poisson process (inf: all at once)")
      ->capture_default_str();
  cmd->add_option("--burstiness", a->load.burstiness,
                  "Shape of the gamma-distributed gaps (1: Poisson; lower: burstier)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-concurrency", a->load.max_concurrency, "Most requests in flight (0: any)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--num-warmups", a->load.num_warmups, "Unmeasured requests first")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", a->load.seed, "Seed of the prompts and arrivals");
  cmd->add_flag("--ignore-eos", a->ignore_eos,
                "Ask for exactly the output length (vLLM's extension)");
  cmd->add_option("--dataset-name", a->dataset, "random, or sharegpt (with --dataset-path)")
      ->check(CLI::IsMember({"random", "sharegpt"}))
      ->capture_default_str();
  cmd->add_option("--dataset-path", a->dataset_path, "A ShareGPT JSON file")
      ->check(CLI::ExistingFile);
  cmd->add_option("--random-input-len", a->random.input_len, "Prompt tokens")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--random-output-len", a->random.output_len, "Tokens to generate")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--random-range-ratio", a->random.range_ratio,
                  "Lengths vary in [len·(1-r), len·(1+r)]")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--random-prefix-len", a->random.prefix_len,
                  "Tokens of a prefix every prompt shares")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--goodput", a->goodput, "SLOs a good request meets: ttft:MS tpot:MS e2el:MS");
  add_output_options(*cmd, a->output);
  cmd->callback([a] {
    if (a->dataset == "sharegpt" && a->dataset_path.empty())
      fail("--dataset-name sharegpt needs --dataset-path");
    run_bench_serve(*a);
  });
}

}  // namespace kvscope::cli
