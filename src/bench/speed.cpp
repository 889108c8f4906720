#include "bench/speed.h"

#include <fmt/format.h>

#include <random>

#include "metrics/roofline.h"
#include "metrics/stats.h"

namespace kvscope {
namespace {

std::vector<int32_t> random_tokens(std::mt19937& rng, int vocab, int n) {
  std::uniform_int_distribution<int32_t> pick(0, vocab - 1);
  std::vector<int32_t> out(static_cast<size_t>(n));
  for (int32_t& t : out) t = pick(rng);
  return out;
}

// One repetition: returns the seconds of the timed part.
double run_once(Session& session, const SpeedTest& test, std::mt19937& rng, int vocab) {
  for (int s = 0; s < test.n_batch; ++s) session.reset(s);
  if (test.n_depth > 0) {
    std::vector<std::vector<int32_t>> fill(static_cast<size_t>(test.n_batch));
    for (auto& f : fill) f = random_tokens(rng, vocab, test.n_depth);
    session.feed(fill);
  }
  const auto start = Clock::now();
  if (test.n_prompt > 0) {
    std::vector<std::vector<int32_t>> prompt(static_cast<size_t>(test.n_batch));
    for (auto& p : prompt) p = random_tokens(rng, vocab, test.n_prompt);
    session.feed(prompt);
  }
  for (int i = 0; i < test.n_gen; ++i) {
    std::vector<std::vector<int32_t>> step(static_cast<size_t>(test.n_batch));
    for (auto& s : step) s = random_tokens(rng, vocab, 1);
    session.feed(step);
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

std::string speed_test_name(const SpeedTest& test) {
  std::string name = test.n_prompt > 0 && test.n_gen > 0 ? fmt::format("pp{}+tg{}", test.n_prompt, test.n_gen)
                     : test.n_prompt > 0                 ? fmt::format("pp{}", test.n_prompt)
                                                         : fmt::format("tg{}", test.n_gen);
  if (test.n_batch > 1) name += fmt::format(" ×{}", test.n_batch);
  if (test.n_depth > 0) name += fmt::format(" @ d{}", test.n_depth);
  return name;
}

SpeedResult run_speed_test(const Model& model, const SpeedTest& test, const SpeedOptions& options) {
  SessionOptions so;
  so.cache = CacheStrategy::kPrealloc;
  so.kv_type = options.kv_type;
  so.precision = options.precision;
  so.threads = options.threads;
  so.n_seqs = test.n_batch;
  so.n_ctx = test.n_depth + test.n_prompt + test.n_gen;
  Session session(model, so);
  std::mt19937 rng(1234);
  const int vocab = model.config().vocab_size;
  const double tokens = static_cast<double>(test.n_batch) * (test.n_prompt + test.n_gen);
  SpeedResult result;
  result.test = test;
  run_once(session, test, rng, vocab);  // warm-up
  for (int r = 0; r < options.repetitions; ++r)
    result.samples_ts.push_back(tokens / run_once(session, test, rng, vocab));
  const Summary s = summarize(result.samples_ts);
  result.avg_ts = s.mean;
  result.stddev_ts = s.stddev;
  if (test.n_prompt == 0 && test.n_gen > 0) {
    const Roofline r = decode_roofline(model, options.kv_type, test.n_depth + test.n_gen / 2.0, test.n_batch,
                                       result.avg_ts, 0);
    result.bytes_per_step = r.bytes_per_token * test.n_batch;
    result.achieved_gbs = r.achieved_gbs;
  }
  return result;
}

}  // namespace kvscope
