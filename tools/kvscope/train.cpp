// kvscope train: trains a small Llama (TinyBot) from scratch on a chat dataset, with a
// checkpoint every few epochs that shows its losses, its training speed and its live answers to
// the demo's questions, each with its generation speed.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "answers.h"
#include "common.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "metrics/progress.h"
#include "metrics/system.h"
#include "train/tokenizer_files.h"
#include "train/trainer.h"

namespace kvscope::cli {
namespace {

using nlohmann::json;
using train::TrainConfig;

struct TrainArgs {
  std::string data, config_file, out, resume;
  train::TrainOptions options;
  int eval_every = 3, threads = 2, max_new = 48;
  int ctx = 0;  // 0: the checkpoint's context when resuming, else 64
  // Model shape flags; 0: the config file's or the default's.
  int layers = 0, dim = 0, heads = 0, kv_heads = 0, ffn = 0, vocab = 0;
};

std::string default_data() { return std::string(KVSCOPE_SOURCE_DIR) + "/data/tinybot_chat.jsonl"; }

TrainConfig model_config(const TrainArgs& a) {
  TrainConfig c;
  if (!a.config_file.empty()) {
    std::ifstream in(a.config_file);
    if (!in) fail("{}: cannot open the model config", a.config_file);
    json j;
    try {
      j = json::parse(in);
    } catch (const json::parse_error& e) {
      fail("{}: not valid JSON (byte {})", a.config_file, e.byte);
    }
    c = train::config_from_json(j, a.config_file);
  }
  for (auto [flag, field] : {std::pair{a.layers, &c.n_layers},
                             {a.dim, &c.dim},
                             {a.heads, &c.n_heads},
                             {a.kv_heads, &c.n_kv_heads},
                             {a.ffn, &c.ffn_dim},
                             {a.vocab, &c.vocab_size}})
    if (flag > 0) *field = flag;
  c.context = a.ctx > 0 ? a.ctx : 64;
  train::check_config(c, "the command line");
  return c;
}

// The data's texts, a tokenizer trained on them (or the checkpoint's) and the split examples.
struct Prepared {
  TrainConfig config;
  train::BpeVocab vocab;
  std::unique_ptr<Tokenizer> tokenizer;
  train::Split split;
  int64_t train_tokens = 0;
  size_t train_examples = 0, held_out_examples = 0;
  std::optional<train::CheckpointState> resume;
};

Prepared prepare(const TrainArgs& a) {
  Prepared p;
  const std::vector<std::string> texts =
      train::read_texts(a.data.empty() ? default_data() : a.data);
  if (!a.resume.empty()) {
    p.resume = train::load_checkpoint(a.resume);
    p.config = p.resume->config;
    p.vocab = p.resume->vocab;
  } else {
    p.config = model_config(a);
    p.vocab = train::train_bpe(texts, p.config.vocab_size);
    // The model's vocabulary rounded up to whole matmul tiles; the extra rows are never targets.
    p.config.vocab_size = (static_cast<int>(p.vocab.tokens.size()) + 15) / 16 * 16;
  }
  p.tokenizer = train::make_tokenizer(p.vocab);
  p.split = train::split_examples(train::tokenize_all(*p.tokenizer, texts));
  for (const auto& e : p.split.train) p.train_tokens += static_cast<int64_t>(e.size());
  p.train_examples = p.split.train.size();
  p.held_out_examples = p.split.held_out.size();
  return p;
}

// The demo's questions put to the checkpoint as `kvscope run` would load it.
json live_predictions(const std::string& dir, const TrainArgs& a) {
  const auto model = Model::load(dir);
  fmt::print("🧪 Testing Live Predictions\n");
  json answers = json::array();
  double seconds = 0;
  int tokens = 0;
  for (const std::string& q : demo_questions()) {
    fmt::print("Q: {}\nA: ", q);
    std::fflush(stdout);
    std::string text;
    const Answer ans = answer(*model, q, CacheStrategy::kPrealloc, a.max_new, a.threads, {},
                              [&](int seq, int32_t token, const std::string& piece) {
                                text += piece;
                                stream_to_stdout(seq, token, piece);
                              });
    fmt::print("\n{}\n", speed_line(ans));
    seconds += ans.seconds;
    tokens += ans.tokens;
    answers.push_back({{"question", q},
                       {"answer", text},
                       {"tokens", ans.tokens},
                       {"tokens_per_s", ans.tokens_per_s()}});
  }
  const double average = seconds > 0 ? tokens / seconds : 0.0;
  fmt::print("⚡ Average generation speed: {:.1f} tok/s\n\n", average);
  return {{"answers", answers}, {"generation_tokens_per_s", average}};
}

json checkpoint(train::Trainer& trainer, const train::EpochReport& r, const Prepared& p,
                const TrainArgs& a, const std::string& name) {
  const double held_out = trainer.held_out_loss();
  const std::string dir = (std::filesystem::path(a.out) / name).string();
  train::CheckpointState state = trainer.state(p.vocab);
  state.extra = {{"seed", a.options.seed}, {"epochs", a.options.epochs}};
  train::save_checkpoint(dir, state);
  fmt::print(
      "💾 Checkpoint {} (epoch {}, step {}): train loss {:.4f}, held-out loss {:.4f}, "
      "training {:.0f} tokens/s\n",
      dir, r.epoch, r.step, r.train_loss, held_out, r.tokens_per_s);
  json record = live_predictions(dir, a);
  record.update({{"name", name},
                 {"epoch", r.epoch},
                 {"step", r.step},
                 {"train_loss", r.train_loss},
                 {"held_out_loss", std::isnan(held_out) ? json() : json(held_out)},
                 {"tokens_per_s", r.tokens_per_s}});
  return record;
}

void print_header(const Prepared& p, const TrainArgs& a, const train::Trainer& t) {
  const TrainConfig& c = p.config;
  fmt::print(
      "🤖 kvscope train: TinyBot, {} parameters ({} layers, width {}, {} heads, {} KV heads, "
      "FFN {}, vocabulary {}, context {})\n",
      train::parameter_count(train::parameter_layout(c)), c.n_layers, c.dim, c.n_heads,
      c.n_kv_heads, c.ffn_dim, c.vocab_size, c.context);
  fmt::print(
      "📚 {} training examples ({} tokens), {} held out; batch {} × {}, {} steps, lr {}, "
      "seed {}, {} threads on {}\n\n",
      p.train_examples, p.train_tokens, p.held_out_examples, a.options.batch, a.options.seq_len,
      t.total_steps(), a.options.lr, a.options.seed, a.threads, cpu_name());
}

void run_train(TrainArgs a) {
  Prepared p = prepare(a);
  a.options.seq_len = a.ctx > 0 ? a.ctx : p.config.context;
  std::error_code ec;
  std::filesystem::create_directories(a.out, ec);
  if (ec) fail("{}: cannot create the output folder: {}", a.out, ec.message());
  ThreadPool pool(a.threads);
  train::Trainer trainer(p.config, a.options, pool, std::move(p.split), 0,
                         p.resume ? &*p.resume : nullptr);
  print_header(p, a, trainer);
  json log = {{"suite", "train"},
              {"system",
               {{"model_name", "TinyBot"},
                {"cpu", cpu_name()},
                {"isa", kernel_isa_name()},
                {"threads", a.threads}}},
              {"config", train::config_to_json(p.config, 2)},
              {"steps", json::array()},
              {"checkpoints", json::array()}};
  install_interrupt_handler();
  while (trainer.epochs_done() < a.options.epochs) {
    ProgressBar bar(fmt::format("epoch {}/{}", trainer.epochs_done() + 1, a.options.epochs));
    const train::EpochReport r = trainer.run_epoch([&](const train::StepLog& s, int done,
                                                       int total) {
      bar.update(done, total,
                 fmt::format("loss {:.3f} lr {:.2e} {:.0f} tok/s", s.loss, s.lr, s.tokens_per_s));
      log["steps"].push_back({{"step", s.step},
                              {"epoch", s.epoch},
                              {"loss", s.loss},
                              {"lr", s.lr},
                              {"grad_norm", s.grad_norm},
                              {"tokens_per_s", s.tokens_per_s}});
    });
    bar.update(0, 0);
    fmt::print("epoch {}: train loss {:.4f}, {:.0f} tokens/s{}\n", r.epoch, r.train_loss,
               r.tokens_per_s, r.interrupted ? " (interrupted)" : "");
    const bool last = trainer.epochs_done() >= a.options.epochs || r.interrupted;
    if (last || r.epoch % a.eval_every == 0)
      log["checkpoints"].push_back(
          checkpoint(trainer, r, p, a, last ? "final" : fmt::format("epoch-{}", r.epoch)));
    write_text_file((std::filesystem::path(a.out) / "train_log.json").string(), log.dump(1) + "\n");
    if (r.interrupted) {
      fmt::print("Stopped by Ctrl-C; resume with --resume {}/final\n", a.out);
      return;
    }
  }
}

}  // namespace

void add_train(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("train", "Train TinyBot, a small Llama, from scratch on a chat dataset");
  cmd->footer(
      "Examples:\n  kvscope train --out runs/tinybot\n"
      "  kvscope train --epochs 3 --eval-every 1 --out runs/quick\n"
      "  kvscope train --data my.jsonl --config my_config.json --out runs/mine\n"
      "  kvscope train --resume runs/tinybot/final --epochs 15 --out runs/tinybot\n"
      "  kvscope demo -m runs/tinybot/final");
  auto args = std::make_shared<TrainArgs>();
  train::TrainOptions& o = args->options;
  cmd->add_option("--data", args->data,
                  "Training data: JSONL of {\"messages\": [...]} or {\"text\": ...}, or any text "
                  "file (default: data/tinybot_chat.jsonl)");
  cmd->add_option("--config", args->config_file,
                  "Model hyperparameters as a Hugging Face config.json");
  cmd->add_option("--out", args->out,
                  "Folder for the checkpoints (epoch-N/, final/) and train_log.json")
      ->required();
  cmd->add_option("--resume", args->resume, "Continue from a checkpoint folder");
  cmd->add_option("--epochs", o.epochs, "Epochs in all")->check(CLI::PositiveNumber);
  cmd->add_option("--eval-every", args->eval_every, "Epochs between checkpoints")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--batch", o.batch, "Sequences per step")->check(CLI::Range(1, 4096));
  cmd->add_option("--ctx", args->ctx, "Tokens per sequence (and the model's context)")
      ->check(CLI::Range(2, 8192));
  cmd->add_option("--lr", o.lr, "Peak learning rate")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o.seed, "Seed of the initialisation and the shuffles");
  cmd->add_option("-t,--threads", args->threads, "Threads")->check(CLI::Range(1, 256));
  cmd->add_option("--layers", args->layers, "Transformer blocks")->check(CLI::Range(1, 64));
  cmd->add_option("--dim", args->dim, "Width of the residual stream")->check(CLI::Range(2, 8192));
  cmd->add_option("--heads", args->heads, "Query heads")->check(CLI::Range(1, 256));
  cmd->add_option("--kv-heads", args->kv_heads, "KV heads")->check(CLI::Range(1, 256));
  cmd->add_option("--ffn", args->ffn, "Feed-forward width")->check(CLI::Range(1, 65536));
  cmd->add_option("--vocab", args->vocab, "Tokens of the trained BPE vocabulary")
      ->check(CLI::Range(259, 65536));
  cmd->add_option("-n,--max-new-tokens", args->max_new, "Most tokens per live answer")
      ->check(CLI::PositiveNumber);
  cmd->callback([args] { run_train(*args); });
}

}  // namespace kvscope::cli
