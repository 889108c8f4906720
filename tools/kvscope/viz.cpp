// kvscope viz: seed 001's animated KV-cache dashboard, from a real greedy generation.
#include <fmt/format.h>

#include <fstream>

#include "common.h"
#include "core/error.h"
#include "report/kv_view.h"

namespace kvscope::cli {
namespace {

struct VizArgs {
  std::string model, prompt, out;
  int new_tokens = 16, layer = -1, head = 0, threads = 2;
};

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void run_viz(const VizArgs& a) {
  const bool gif = ends_with(a.out, ".gif"), html = ends_with(a.out, ".html");
  if (!gif && !html) fail("--out {}: give a .gif or .html file", a.out);
  if (a.prompt.empty()) fail("the prompt is empty (give one with -p)");
  const auto model = load_model(a.model);
  // Seed 001 shows layer 5; smaller models get their last layer.
  const int layer = a.layer >= 0 ? a.layer : std::min(5, model->config().n_layers - 1);
  const std::vector<int32_t> prompt = model->tokenizer().encode(a.prompt, false, true);
  const report::KvCapture capture = report::capture_kv(*model, prompt, a.new_tokens, a.threads);
  if (gif) {
    report::write_kv_gif(a.out, capture, layer, a.head);
  } else {
    std::ofstream out(a.out);
    if (!(out << report::kv_page_html(capture, layer, a.head))) fail("{}: cannot write", a.out);
  }
  fmt::print("{}: layer {}, head {}, {} frames ({} prompt tokens)\n", a.out, layer, a.head,
             capture.frames, capture.prompt_tokens);
}

}  // namespace

void add_viz(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "viz", "The KV cache animated: query, keys, values and attention, token by token");
  cmd->footer(fmt::format(
      "Greedy generation with an f32 prealloc cache; one frame per generated token.\n"
      "  .gif: an animated GIF of --layer and --head.\n"
      "  .html: a self-contained page with a slider and buttons to step through the tokens and a "
      "choice of\n"
      "         layer and head; it embeds every layer when that is at most {} values (the default "
      "model with\n"
      "         a short prompt and the default -n), else only --layer, with all its heads.\n"
      "Examples:\n  kvscope viz -p 'The capital of France is' -n 16 --out kv.gif\n"
      "  kvscope viz -p 'Once upon a time' --layer 10 --head 3 --out kv.html",
      report::kMaxEmbeddedValues));
  auto a = std::make_shared<VizArgs>();
  add_model_option(*cmd, a->model);
  cmd->add_option("-p,--prompt", a->prompt, "Prompt text")->required();
  cmd->add_option("-n,--new-tokens", a->new_tokens, "Tokens to generate: one frame each")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--out", a->out, "Output file: .gif or .html")->required();
  cmd->add_option("--layer", a->layer, "Layer to show (default: 5, or the last of a smaller model)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--head", a->head, "Query head to show")->check(CLI::NonNegativeNumber);
  cmd->add_option("-t,--threads", a->threads, "Threads")->check(CLI::Range(1, 256));
  cmd->callback([a] { run_viz(*a); });
}

}  // namespace kvscope::cli
