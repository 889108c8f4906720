#include "serve/serve_bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "core/error.h"
#include "metrics/progress.h"

namespace kvscope::serve {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

int draw_length(int len, double ratio, std::mt19937_64& rng) {
  const int lo = std::max(1, static_cast<int>(len * (1 - ratio)));
  const int hi = std::max(lo, static_cast<int>(len * (1 + ratio)));
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

std::vector<int32_t> random_tokens(const Tokenizer& tokenizer, int n, std::mt19937_64& rng) {
  std::uniform_int_distribution<int32_t> pick(0, tokenizer.vocab_size() - 1);
  std::vector<int32_t> ids;
  while (static_cast<int>(ids.size()) < n)
    if (const int32_t id = pick(rng); !tokenizer.is_special(id)) ids.push_back(id);
  return ids;
}

// Admits at most `limit` requests at once (0: any number).
class Slots {
 public:
  explicit Slots(int limit) : free_(limit) {}
  void acquire() {
    std::unique_lock lock(mutex_);
    freed_.wait(lock, [&] { return free_ != 0; });
    --free_;
  }
  void release() {
    {
      std::lock_guard lock(mutex_);
      ++free_;
    }
    freed_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable freed_;
  int free_;  // negative: unlimited
};

json summary_fields(const char* name, const Summary& s) {
  return {{fmt::format("mean_{}_ms", name), s.mean},  {fmt::format("median_{}_ms", name), s.median},
          {fmt::format("std_{}_ms", name), s.stddev}, {fmt::format("p50_{}_ms", name), s.p50},
          {fmt::format("p90_{}_ms", name), s.p90},    {fmt::format("p99_{}_ms", name), s.p99}};
}

bool meets_slos(const RequestTiming& t, double tpot_ms, const LoadOptions& o) {
  return (o.goodput_ttft_ms <= 0 || t.ttft_s * 1e3 <= o.goodput_ttft_ms) &&
         (o.goodput_tpot_ms <= 0 || tpot_ms <= o.goodput_tpot_ms) &&
         (o.goodput_e2el_ms <= 0 || t.latency_s * 1e3 <= o.goodput_e2el_ms);
}

void summarize_into(ServeBenchResult& r, const LoadOptions& o) {
  std::vector<double> ttft, tpot, itl, e2el;
  for (const RequestTiming& t : r.requests) {
    if (!t.success) {
      ++r.failed;
      if (r.errors.size() < 5) r.errors.push_back(t.error);
      continue;
    }
    ++r.completed;
    r.input_tokens += t.prompt_tokens;
    r.output_tokens += t.output_tokens;
    ttft.push_back(t.ttft_s * 1e3);
    e2el.push_back(t.latency_s * 1e3);
    const double per_token =
        t.output_tokens > 1 ? (t.latency_s - t.ttft_s) * 1e3 / (t.output_tokens - 1) : 0;
    if (t.output_tokens > 1) tpot.push_back(per_token);
    for (double gap : t.itl_s) itl.push_back(gap * 1e3);
    if (meets_slos(t, per_token, o)) ++r.good;
  }
  r.ttft_ms = summarize(ttft);
  r.tpot_ms = summarize(tpot);
  r.itl_ms = summarize(itl);
  r.e2el_ms = summarize(e2el);
}

}  // namespace

std::vector<ClientRequest> random_requests(const Tokenizer& tokenizer, const RandomDataset& d,
                                           int count, uint64_t seed, bool ignore_eos) {
  std::mt19937_64 rng(seed);
  const std::vector<int32_t> prefix = random_tokens(tokenizer, d.prefix_len, rng);
  std::vector<ClientRequest> out;
  for (int i = 0; i < count; ++i) {
    std::vector<int32_t> ids = prefix;
    const std::vector<int32_t> own =
        random_tokens(tokenizer, draw_length(d.input_len, d.range_ratio, rng), rng);
    ids.insert(ids.end(), own.begin(), own.end());
    out.push_back({tokenizer.decode(ids), static_cast<int>(ids.size()),
                   draw_length(d.output_len, d.range_ratio, rng), ignore_eos});
  }
  return out;
}

std::vector<ClientRequest> sharegpt_requests(const std::string& path, const Tokenizer& tokenizer,
                                             int count, uint64_t seed, bool ignore_eos) {
  std::ifstream in(path);
  if (!in) fail("{}: cannot open the dataset", path);
  const json all = json::parse(in, nullptr, false);
  if (!all.is_array()) fail("{}: expected a JSON list of ShareGPT conversations", path);
  std::vector<ClientRequest> out;
  for (const json& item : all) {
    const json turns = item.is_object() ? item.value("conversations", json()) : json();
    if (!turns.is_array() || turns.size() < 2 || !turns[0].value("value", json()).is_string() ||
        !turns[1].value("value", json()).is_string())
      continue;
    const std::string prompt = turns[0]["value"];
    const int prompt_len = static_cast<int>(tokenizer.encode(prompt, false, false).size());
    const int output_len = static_cast<int>(
        tokenizer.encode(turns[1]["value"].get<std::string>(), false, false).size());
    if (prompt_len < 4 || output_len < 4) continue;  // as vLLM filters them
    out.push_back({prompt, prompt_len, output_len, ignore_eos});
  }
  if (static_cast<int>(out.size()) < count)
    fail("{}: {} usable conversations, fewer than the {} prompts asked", path, out.size(), count);
  std::shuffle(out.begin(), out.end(), std::mt19937_64(seed));
  out.resize(static_cast<size_t>(count));
  return out;
}

ServeBenchResult run_serve_bench(const Target& target, const std::vector<ClientRequest>& requests,
                                 const LoadOptions& o) {
  for (int i = 0; i < o.num_warmups && !requests.empty(); ++i)
    send_request(target, requests[static_cast<size_t>(i) % requests.size()]);
  ServeBenchResult r;
  r.requests.resize(requests.size());
  std::mt19937_64 rng(o.seed);
  // Gaps of mean 1/rate; the shape is the burstiness (1: exponential, so arrivals are Poisson).
  std::gamma_distribution<double> gap(o.burstiness,
                                      1.0 / (std::max(o.request_rate, 1e-9) * o.burstiness));
  Slots slots(o.max_concurrency > 0 ? o.max_concurrency : -1);
  std::mutex done_mutex;
  int done = 0;
  ProgressBar bar("bench serve");
  std::vector<std::thread> senders;
  const Clock::time_point start = Clock::now();
  Clock::time_point next = start;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (o.request_rate > 0) {
      std::this_thread::sleep_until(next);
      next += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(gap(rng)));
    }
    slots.acquire();
    senders.emplace_back([&, i] {
      r.requests[i] = send_request(target, requests[i]);
      slots.release();
      std::lock_guard lock(done_mutex);
      bar.update(++done, static_cast<int>(requests.size()));
    });
  }
  for (std::thread& t : senders) t.join();
  r.duration_s = std::chrono::duration<double>(Clock::now() - start).count();
  summarize_into(r, o);
  return r;
}

json serve_bench_json(const ServeBenchResult& r, const LoadOptions& o) {
  const double d = r.duration_s > 0 ? r.duration_s : 1;
  json j = {{"duration", r.duration_s},
            {"completed", r.completed},
            {"failed", r.failed},
            {"total_input_tokens", r.input_tokens},
            {"total_output_tokens", r.output_tokens},
            {"request_throughput", r.completed / d},
            {"request_goodput", r.good / d},
            {"output_throughput", static_cast<double>(r.output_tokens) / d},
            {"total_token_throughput", static_cast<double>(r.input_tokens + r.output_tokens) / d},
            {"max_concurrency", o.max_concurrency > 0 ? json(o.max_concurrency) : json()},
            {"request_rate", o.request_rate > 0 ? json(o.request_rate) : json("inf")},
            {"burstiness", o.burstiness},
            {"errors", r.errors}};
  j.update(summary_fields("ttft", r.ttft_ms));
  j.update(summary_fields("tpot", r.tpot_ms));
  j.update(summary_fields("itl", r.itl_ms));
  j.update(summary_fields("e2el", r.e2el_ms));
  // Each request in the order sent, as vLLM's --save-detailed writes them (seconds; a failed
  // request has 0 output tokens), and its end-to-end latency beside.
  json input_lens = json::array(), output_lens = json::array(), ttfts = json::array(),
       itls = json::array(), e2els = json::array();
  for (const RequestTiming& t : r.requests) {
    input_lens.push_back(t.prompt_tokens);
    output_lens.push_back(t.success ? t.output_tokens : 0);
    ttfts.push_back(t.success ? t.ttft_s : 0.0);
    itls.push_back(t.itl_s);
    e2els.push_back(t.success ? t.latency_s : 0.0);
  }
  j["input_lens"] = std::move(input_lens);
  j["output_lens"] = std::move(output_lens);
  j["ttfts"] = std::move(ttfts);
  j["itls"] = std::move(itls);
  j["e2els"] = std::move(e2els);
  return j;
}

}  // namespace kvscope::serve
