// kvscope chat: a multi-turn conversation in the model's chat template; the KV cache carries
// over between turns, so each turn prefills only its own new tokens.
#include "generate/chat.h"

#include <fmt/format.h>
#include <unistd.h>

#include <iostream>

#include "common.h"
#include "core/error.h"

namespace kvscope::cli {
namespace {

struct ChatArgs {
  std::string model;
  KvArgs kv;
  int max_new = 256, threads = 2, ctx = 2048;
  Precision precision = Precision::kFast;
  SamplingArgs sampling;  // over the model's recommended sampling
};

// The sampling in use, and where its values come from.
std::string sampling_line(const SamplingOptions& s, const SamplingHints& hints) {
  return fmt::format("sampling: {} ({}; --temp 0 for greedy)", describe(s),
                     hints.any() ? "as the model file recommends, llama.cpp's defaults otherwise"
                                 : "llama.cpp's defaults; the model file recommends none");
}

void print_stats(const Session& session, const Chat& chat, int64_t prefilled,
                 const std::string& sampling) {
  fmt::print(
      "turns {} | tokens in context {} / {} | KV cache {:.2f} MiB used, {:.2f} MiB reserved | "
      "last turn prefilled {} tokens\n{}\n",
      chat.messages().size() / 2, session.history(0).size(), session.n_ctx(),
      session.cache().bytes_used() / 1048576.0, session.cache().bytes_reserved() / 1048576.0,
      prefilled, sampling);
}

void run_chat(const ChatArgs& args) {
  const auto model = load_model(args.model);
  SessionOptions so;
  args.kv.apply(so);
  so.threads = args.threads;
  so.n_ctx = args.ctx;
  so.precision = args.precision;
  Session session(*model, so);
  Chat chat(session);
  GenerateOptions g;
  g.max_new_tokens = args.max_new;
  g.sampling = args.sampling.over(recommended_sampling(model->config().sampling));
  const std::string sampling = sampling_line(g.sampling, model->config().sampling);
  const bool interactive = ::isatty(STDIN_FILENO) != 0;
  if (interactive)
    fmt::print("Chat with {} (/reset, /stats, /quit)\n{}\n", model->config().name, sampling);
  int64_t prefilled = 0;
  for (std::string line;;) {
    if (interactive) {
      fmt::print("\n> ");
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line) || line == "/quit") break;
    if (line.empty()) continue;
    if (line == "/reset") {
      chat.reset();
      fmt::print("(conversation cleared)\n");
      continue;
    }
    if (line == "/stats") {
      print_stats(session, chat, prefilled, sampling);
      continue;
    }
    GenerationResult r;
    try {
      r = chat.say(line, g, stream_to_stdout);
    } catch (const Error& e) {
      fail("{} (/reset starts a new conversation; --ctx reserves a longer one)", e.what());
    }
    prefilled = session.last_prefill_tokens();
    const SequenceResult& s = r.sequences[0];
    const double seconds = std::chrono::duration<double>(s.token_times.back() - r.start).count();
    // Distinct 4-grams fall far below 100% when the model loops.
    fmt::print(
        "\n⚡ {:.1f} tok/s | 📊 {} tokens | ⏱️  {:.3f}s | prefill {} tokens | "
        "distinct 4-grams {:.0f}%\n",
        s.token_times.size() / seconds, s.token_times.size(), seconds, prefilled,
        100.0 * distinct_ngram_share(s.output, 4));
  }
}

}  // namespace

void add_chat(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("chat", "Talk with the model; the KV cache carries over between turns");
  cmd->footer(
      "Commands: /reset clears the conversation, /stats shows the context, the KV cache and the "
      "sampling, /quit ends.\n"
      "Without a terminal, each line of standard input is one message.\n"
      "Examples:\n  kvscope chat\n  printf 'Hi!\\nWhat is 2 plus 3?\\n/stats\\n' | kvscope chat");
  auto args = std::make_shared<ChatArgs>();
  add_model_option(*cmd, args->model);
  cmd->add_option("-n,--max-new-tokens", args->max_new, "Most tokens per answer")
      ->check(CLI::PositiveNumber);
  add_kv_options(*cmd, args->kv);
  cmd->add_option("--ctx", args->ctx, "Context length to reserve")->check(CLI::PositiveNumber);
  add_sampling_options(*cmd, args->sampling);
  cmd->add_option("-t,--threads", args->threads, "Threads")->check(CLI::Range(1, 256));
  add_precision_option(*cmd, args->precision);
  cmd->callback([args] { run_chat(*args); });
}

}  // namespace kvscope::cli
