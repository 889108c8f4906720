// kvscope viz: seed 001's animated KV-cache dashboard, from a real greedy generation; with
// --pool, the paged block pool animated over a real run of the engine.
#include <fmt/format.h>

#include <fstream>

#include "common.h"
#include "core/error.h"
#include "report/kv_view.h"
#include "report/pool_view.h"

namespace kvscope::cli {
namespace {

struct VizArgs {
  std::string model, prompt, out;
  int new_tokens = 16, layer = -1, head = 0, threads = 2;
  bool pool = false;
  report::PoolMix mix;
};

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void write_page(const std::string& path, const std::string& page) {
  std::ofstream out(path);
  if (!(out << page)) fail("{}: cannot write", path);
}

void run_pool_viz(const VizArgs& a, bool gif) {
  if (!a.prompt.empty()) fail("--pool runs its own mix of requests: give no -p");
  const auto model = load_model(a.model);
  report::PoolMix mix = a.mix;
  mix.threads = a.threads;
  const report::PoolCapture capture = report::capture_pool(*model, mix);
  if (gif)
    report::write_pool_gif(a.out, capture);
  else
    write_page(a.out, report::pool_page_html(capture));
  const report::PoolFrame& last = capture.frames.back();
  int preemptions = 0;
  for (const report::PoolFrame& f : capture.frames)
    preemptions += static_cast<int>(f.preempted.size());
  fmt::print(
      "{}: {} requests, {} frames, {} blocks of {}; {} prefix hit tokens, {} evictions, {} "
      "preemptions\n",
      a.out, capture.requests, capture.frames.size(), capture.blocks, capture.block_size,
      last.stats.prefix_hit_tokens, last.stats.evictions, preemptions);
}

void run_viz(const VizArgs& a) {
  const bool gif = ends_with(a.out, ".gif"), html = ends_with(a.out, ".html");
  if (!gif && !html) fail("--out {}: give a .gif or .html file", a.out);
  if (a.pool) {
    run_pool_viz(a, gif);
    return;
  }
  if (a.prompt.empty()) fail("the prompt is empty (give one with -p)");
  const auto model = load_model(a.model);
  // Seed 001 shows layer 5; smaller models get their last layer.
  const int layer = a.layer >= 0 ? a.layer : std::min(5, model->config().n_layers - 1);
  const std::vector<int32_t> prompt = model->tokenizer().encode(a.prompt, false, true);
  const report::KvCapture capture = report::capture_kv(*model, prompt, a.new_tokens, a.threads);
  if (gif) {
    report::write_kv_gif(a.out, capture, layer, a.head);
  } else {
    write_page(a.out, report::kv_page_html(capture, layer, a.head));
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
      "  kvscope viz -p 'Once upon a time' --layer 10 --head 3 --out kv.html\n"
      "With --pool: the paged KV pool after every engine step of a mix of --requests requests\n"
      "  (request i arrives at step 2i; two of every three share a 48-token system prompt and add "
      "24\n"
      "  tokens of their own, the third has a 40-token prompt; 16, 24 or 32 tokens generated), "
      "in a pool\n"
      "  of --blocks blocks: small enough by default that cached blocks are evicted and requests "
      "preempted.\n"
      "  Blocks take the colour of the request holding them; shared ones are marked, cached ones "
      "grey,\n"
      "  evicted ones outlined in red; the caption names the requests preempted in the step.\n"
      "  kvscope viz --pool --out pool.gif\n"
      "  kvscope viz --pool --requests 20 --blocks 40 --block-size 8 --out pool.html",
      report::kMaxEmbeddedValues));
  auto a = std::make_shared<VizArgs>();
  add_model_option(*cmd, a->model);
  cmd->add_option("-p,--prompt", a->prompt, "Prompt text (required without --pool)");
  cmd->add_option("-n,--new-tokens", a->new_tokens, "Tokens to generate: one frame each")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--out", a->out, "Output file: .gif or .html")->required();
  cmd->add_option("--layer", a->layer, "Layer to show (default: 5, or the last of a smaller model)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--head", a->head, "Query head to show")->check(CLI::NonNegativeNumber);
  cmd->add_option("-t,--threads", a->threads, "Threads")->check(CLI::Range(1, 256));
  cmd->add_flag("--pool", a->pool, "Show the paged KV block pool over a mix of requests instead");
  cmd->add_option("--requests", a->mix.requests, "--pool: requests in the mix")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--blocks", a->mix.blocks, "--pool: KV budget in blocks")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--block-size", a->mix.block_size, "--pool: positions per block")
      ->check(CLI::Range(1, 256));
  cmd->add_flag("--prefix-cache,!--no-prefix-cache", a->mix.prefix_cache,
                "--pool: reuse cached prefix blocks (default on)");
  cmd->callback([a] { run_viz(*a); });
}

}  // namespace kvscope::cli
