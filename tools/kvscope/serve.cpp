// kvscope serve: the OpenAI-compatible HTTP server, until SIGINT or SIGTERM.
#include <fmt/format.h>

#include <csignal>
#include <filesystem>

#include "common.h"
#include "serve/server.h"

namespace kvscope::cli {
namespace {

struct ServeArgs {
  std::string model, alias, kv_type = "f32";
  serve::ServerOptions server;
  int kv_cache_mib = 1024, threads = 2;
};

// The signals that stop the server, blocked in every thread so that only sigwait sees them.
sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

void run_serve(ServeArgs& args) {
  const sigset_t signals = stop_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts
  std::signal(SIGPIPE, SIG_IGN);
  const std::string path = resolve_model_path(args.model);
  serve::ServerOptions& o = args.server;
  o.model_name = args.alias.empty() ? std::filesystem::path(path).stem().string() : args.alias;
  o.engine.threads = args.threads;
  o.engine.kv_type = parse_kv_type(args.kv_type);
  o.engine.kv_budget_bytes = static_cast<size_t>(args.kv_cache_mib) << 20;
  serve::Server server(o);
  const int port = server.start();
  fmt::print(stderr, "kvscope serve: listening on http://{}:{} (loading {})\n", o.host, port, path);
  const auto model = load_model(args.model);
  server.attach(*model);
  fmt::print(stderr, "kvscope serve: ready: {} as '{}', {} threads, up to {} requests at once\n",
             model->config().name, o.model_name, args.threads, o.engine.max_seqs);
  int signal = 0;
  sigwait(&signals, &signal);
  fmt::print(stderr, "kvscope serve: {}: stopping\n", signal == SIGINT ? "SIGINT" : "SIGTERM");
  server.stop();
}

}  // namespace

void add_serve(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "Serve the model over an OpenAI-compatible HTTP API");
  cmd->footer(
      "Endpoints: POST /v1/completions, POST /v1/chat/completions, GET /v1/models, GET /health, "
      "GET /metrics.\nExamples:\n  kvscope serve --port 8080\n"
      "  curl localhost:8080/v1/completions -H 'Content-Type: application/json' "
      "-d '{\"prompt\": \"The capital of France is\", \"max_tokens\": 16}'");
  auto args = std::make_shared<ServeArgs>();
  serve::ServerOptions& o = args->server;
  add_model_option(*cmd, args->model);
  cmd->add_option("--alias", args->alias, "Model name in the API (default: the file's name)");
  cmd->add_option("--host", o.host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", o.port, "Port to listen on (0: any free one)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--max-seqs", o.engine.max_seqs, "Requests running at once")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--max-batch-tokens", o.engine.max_batch_tokens, "Tokens fed in one step")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-queue", o.max_queue, "Requests waiting beyond the running ones (then 429)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--ctx", o.engine.n_ctx, "Positions per request (0: the model's context)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--kv-cache-mib", args->kv_cache_mib, "KV cache memory for all requests, MiB")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  add_kv_type_option(*cmd, args->kv_type);
  add_block_options(*cmd, o.engine.block_size, o.engine.prefix_cache);
  cmd->add_option("--api-key", o.api_key, "Require 'Authorization: Bearer KEY'");
  cmd->add_option("--max-body", o.max_body, "Largest request body in bytes (then 413)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("-t,--threads", args->threads, "Compute threads")->check(CLI::Range(1, 256));
  add_precision_option(*cmd, o.engine.precision);
  cmd->callback([args] { run_serve(*args); });
}

}  // namespace kvscope::cli
