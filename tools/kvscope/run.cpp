// kvscope run: generate text from a prompt (or a batch of prompts), streaming it as it comes.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "common.h"
#include "core/error.h"
#include "generate/chat.h"
#include "generate/session.h"
#include "metrics/memory.h"
#include "metrics/op_profile.h"
#include "metrics/request_metrics.h"
#include "metrics/roofline.h"
#include "metrics/system.h"

namespace kvscope::cli {
namespace {

struct RunArgs {
  std::string model, prompt, prompts_file;
  KvArgs kv;
  int max_new = 128, threads = 2, ctx = 0;
  bool chat = false, metrics = false, detailed_metrics = false;
  std::string metrics_json, trace_json;
  SuiteOutput log;  // only the log options are offered
  int warmup = 0, discard_first = 0;
  Precision precision = Precision::kFast;
  SamplingArgs sampling;  // greedy unless given
  std::vector<std::string> stops;
};

std::vector<std::string> read_prompts(const RunArgs& args) {
  std::vector<std::string> prompts;
  if (!args.prompts_file.empty()) {
    std::ifstream in(args.prompts_file);
    if (!in) fail("{}: cannot open the prompts file", args.prompts_file);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) prompts.push_back(line);
    if (prompts.empty()) fail("{}: no prompts in the file (one a line)", args.prompts_file);
  } else {
    if (args.prompt.empty()) fail("the prompt is empty (give one with -p or --prompts-file)");
    prompts.push_back(args.prompt);
  }
  return prompts;
}

// With --chat, the prompt is the user's message in the model's chat template, which writes the
// BOS text itself where the model wants one.
std::vector<int32_t> encode_prompt(const Model& model, const ChatTemplate* chat,
                                   const std::string& prompt) {
  const Tokenizer& tok = model.tokenizer();
  if (chat == nullptr) return tok.encode(prompt, false, true);
  return tok.encode(chat->render({{"user", prompt}}, true), true, false);
}

void run(const RunArgs& args) {
  const auto model = load_model(args.model);
  const std::vector<std::string> prompts = read_prompts(args);
  std::optional<ChatTemplate> chat;
  if (args.chat) chat = ChatTemplate::for_model(model->file().meta, model->tokenizer());
  std::vector<std::vector<int32_t>> encoded;
  size_t longest = 0;
  for (const std::string& p : prompts) {
    encoded.push_back(encode_prompt(*model, chat ? &*chat : nullptr, p));
    longest = std::max(longest, encoded.back().size());
  }
  SessionOptions session_options;
  args.kv.apply(session_options);
  session_options.n_seqs = static_cast<int>(prompts.size());
  session_options.threads = args.threads;
  session_options.precision = args.precision;
  // Reserve what this run can reach, not the model's whole context.
  session_options.n_ctx = args.ctx > 0 ? args.ctx : static_cast<int>(longest) + args.max_new;
  Session session(*model, session_options);

  GenerateOptions options;
  options.max_new_tokens = args.max_new;
  options.sampling = args.sampling.over({});
  options.stop_strings = args.stops;
  if (chat)  // the answer ends with the template's turn
    for (const std::string& end : chat->end_of_turn(model->tokenizer()))
      options.stop_strings.push_back(end);
  for (int w = 0; w < args.warmup; ++w) {
    session.generate(encoded, options);
    for (int seq = 0; seq < session_options.n_seqs; ++seq) session.reset(seq);
  }
  const bool stream = prompts.size() == 1;
  // The observer joins after the warm-up, and only when asked: without it no op is timed.
  OpProfile profile;
  const bool detailed = args.detailed_metrics || !args.trace_json.empty();
  if (detailed) session.set_observer(&profile);
  reset_peak_memory();
  const MemoryUsage before = read_memory();
  const GenerationResult result = session.generate(
      encoded, options, stream ? TokenCallback(stream_to_stdout) : TokenCallback());
  if (stream) {
    std::fputc('\n', stdout);
  } else {
    for (size_t i = 0; i < prompts.size(); ++i)
      fmt::print("=== {} ===\n{}{}\n", i + 1, prompts[i], result.sequences[i].text);
  }

  int64_t generated = 0, prompt_tokens = 0;
  auto end = result.start;
  auto first = result.sequences[0].token_times.front();
  for (const SequenceResult& s : result.sequences) {
    generated += static_cast<int64_t>(s.token_times.size());
    prompt_tokens += s.prompt_tokens;
    end = std::max(end, s.token_times.back());
    first = std::min(first, s.token_times.front());
  }
  const double seconds = std::chrono::duration<double>(end - result.start).count();
  const double ttft = std::chrono::duration<double>(first - result.start).count();
  // Decode as a whole: every sequence's tokens after its first, over the time after the first
  // token.
  const double decode_s = seconds - ttft;
  const double decode_tps =
      decode_s > 0 ? static_cast<double>(generated - result.sequences.size()) / decode_s : 0;
  fmt::print(stderr,
             "{} prompt + {} generated tokens in {:.3f} s: prefill {:.1f} tok/s, decode {:.1f} "
             "tok/s, time to first token "
             "{:.1f} ms (cache {}, stop: {})\n",
             prompt_tokens, generated, seconds, ttft > 0 ? prompt_tokens / ttft : 0.0, decode_tps,
             ttft * 1e3, args.kv.cache, stop_reason_name(result.sequences[0].stop));
  if (!args.metrics && args.metrics_json.empty() && !detailed) return;
  const MemoryUsage after = read_memory();
  nlohmann::json all = {{"model", model->file().path},
                        {"cpu", cpu_name()},
                        {"isa", kernel_isa_name()},
                        {"threads", args.threads},
                        {"cache", args.kv.cache},
                        {"kv_type", args.kv.kv_type},
                        {"precision", precision_name(args.precision)},
                        {"system", system_json(*model, args.threads)},
                        {"sequences", nlohmann::json::array()}};
  std::string report;
  double mean_context = 0;
  for (size_t i = 0; i < result.sequences.size(); ++i) {
    const SequenceResult& s = result.sequences[i];
    const RequestMetrics m = request_metrics(result.start, s, args.discard_first);
    const MemoryReport memory{before,
                              after,
                              session.cache().bytes_reserved(),
                              session.cache().bytes_used(),
                              session.cache().shape().bytes_per_token(),
                              model->file().file_bytes,
                              model->packed_bytes()};
    report += format_request_metrics(m, memory, i + 1, result.sequences.size());
    all["sequences"].push_back(request_metrics_json(m, memory));
    mean_context += (s.prompt_tokens + s.token_times.size() / 2.0) /
                    static_cast<double>(result.sequences.size());
  }
  const Roofline roofline = decode_roofline(
      *model, session_options.kv_type, mean_context, static_cast<int>(result.sequences.size()),
      decode_tps, args.metrics ? measure_read_bandwidth(args.threads) : 0.0);
  report += format_roofline(roofline) + pool_line(session.cache());
  all["roofline"] = roofline_json(roofline);
  all["kv_pool"] = pool_json(session.cache());
  if (detailed) {
    report += format_op_profile(profile, seconds);
    all["ops"] = op_profile_json(profile, seconds);
  }
  if (args.metrics) fmt::print(stderr, "{}", report);
  if (!args.metrics_json.empty()) write_text_file(args.metrics_json, all.dump(2) + "\n");
  if (!args.trace_json.empty()) {
    std::vector<TraceMark> marks;
    for (size_t i = 0; i < result.sequences.size(); ++i)
      for (size_t t = 0; t < result.sequences[i].token_times.size(); ++t)
        marks.emplace_back(fmt::format("seq {} token {}", i + 1, t + 1),
                           result.sequences[i].token_times[t]);
    write_text_file(args.trace_json, chrome_trace_json(profile, result.start, marks).dump() + "\n");
  }
  if (args.metrics)
    emit_log(args.log, *model, args.threads, "run", report, all);  // unless --no-log
}

}  // namespace

void add_run(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Generate text from a prompt, streamed to stdout");
  cmd->footer(
      "Examples:\n  kvscope run -p 'The capital of France is' -n 32\n"
      "  kvscope run --chat -p 'What is 2 plus 3?'\n"
      "  kvscope run --cache none -p 'Once upon a time' --temp 0.8 --seed 7\n"
      "  kvscope run --prompts-file prompts.txt -n 64");
  auto args = std::make_shared<RunArgs>();
  add_model_option(*cmd, args->model);
  cmd->add_option("-p,--prompt", args->prompt, "Prompt text");
  cmd->add_option("--prompts-file", args->prompts_file,
                  "File with one prompt a line, run as a batch");
  cmd->add_option("-n,--max-new-tokens", args->max_new, "Most tokens to generate")
      ->check(CLI::PositiveNumber);
  add_kv_options(*cmd, args->kv);
  cmd->add_option("--ctx", args->ctx, "Context to reserve per sequence (default: prompt + -n)");
  add_sampling_options(*cmd, args->sampling);
  cmd->add_option("--stop", args->stops, "Stop when this text appears (repeatable)");
  cmd->add_flag("--chat", args->chat, "Wrap the prompt in the model's chat template");
  cmd->add_flag("--metrics", args->metrics,
                "Print the performance metrics (to stderr; output tokens include an end token that "
                "stopped a sequence)");
  cmd->add_option("--metrics-json", args->metrics_json,
                  "Write the performance metrics as JSON to this file");
  cmd->add_flag("--detailed-metrics", args->detailed_metrics,
                "Time every op per kind and per layer (embedding, norm, attention, feed-forward, "
                "output head, sampling)");
  cmd->add_option("--trace-json", args->trace_json,
                  "Write a Chrome trace of every op and token (open it in Perfetto)");
  add_log_options(*cmd, args->log);
  cmd->add_option("--warmup", args->warmup, "Unmeasured generations first")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--discard-first", args->discard_first,
                  "Leave this many first tokens out of the decode figures")
      ->check(CLI::NonNegativeNumber);
  add_precision_option(*cmd, args->precision);
  cmd->add_option("-t,--threads", args->threads, "Threads")->check(CLI::Range(1, 256));
  cmd->callback([args] { run(*args); });
}

}  // namespace kvscope::cli
