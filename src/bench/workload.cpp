#include "bench/workload.h"

#include <algorithm>

#include "bench/serving.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "metrics/request_metrics.h"

namespace kvscope {
namespace {

constexpr const char* kPromptText =
    "The history of the bicycle is a story of many small improvements. Early machines had no "
    "pedals: riders "
    "pushed themselves along with their feet. Later designs put cranks on the front wheel, which "
    "grew larger "
    "so that one turn of the pedals carried the rider further. The safety bicycle, with two wheels "
    "of equal "
    "size and a chain driving the rear wheel, changed everything. ";

// The one definition of "the same output", for repetitions of a strategy and across strategies:
// every sequence's token ids, and the hash of every sequence's logits, step by step (sequences
// hashed apart, so that the order in which the scheduler runs them does not count).
bool same_output(const std::vector<std::vector<int32_t>>& a, uint64_t a_hash,
                 const std::vector<std::vector<int32_t>>& b, uint64_t b_hash) {
  return a == b && a_hash == b_hash;
}

struct Run {
  double seconds = 0, ttft = 0, tpot = 0, tps = 0;
  uint64_t kv_reserved = 0;
  std::vector<std::vector<int32_t>> outputs;
  uint64_t hash = kFnvOffset;
};

Run time_run(const Model& model, const Workload& w, CacheStrategy strategy, const MeasureOptions& o,
             std::unique_ptr<Session>& session) {
  Run run;
  std::vector<uint64_t> sequence_hashes(w.prompts.size(), kFnvOffset);
  const GenerationResult r = generate_exactly(
      model, w.prompts, strategy, o, w.new_tokens, session,
      [&](int seq, std::span<const float> l) {
        sequence_hashes.at(static_cast<size_t>(seq)) =
            fnv1a_floats(sequence_hashes[static_cast<size_t>(seq)], l.data(), l.size());
      },
      &run.kv_reserved);
  for (uint64_t h : sequence_hashes) run.hash = fnv1a(run.hash, &h, sizeof h);
  Clock::time_point end = r.start, first = r.start;
  int64_t generated = 0;
  for (const SequenceResult& s : r.sequences) {
    end = std::max(end, s.token_times.back());
    first = std::max(first, s.token_times.front());
    run.tpot += request_metrics(r.start, s).tpot_s / static_cast<double>(r.sequences.size());
    generated += static_cast<int64_t>(
        s.token_times.size());  // every sampled token, as request_metrics counts
    run.outputs.push_back(s.output);
  }
  run.seconds = std::chrono::duration<double>(end - r.start).count();
  run.ttft = std::chrono::duration<double>(first - r.start).count();
  run.tps = static_cast<double>(generated) / run.seconds;
  return run;
}

Measurement summarize_runs(CacheStrategy strategy, const std::vector<Run>& runs) {
  Measurement m;
  m.strategy = strategy;
  std::vector<double> seconds, ttft, tpot, tps;
  for (const Run& r : runs) {
    seconds.push_back(r.seconds);
    ttft.push_back(r.ttft);
    tpot.push_back(r.tpot);
    tps.push_back(r.tps);
    m.repeatable = m.repeatable && same_output(r.outputs, r.hash, runs[0].outputs, runs[0].hash);
  }
  m.seconds = summarize(seconds);
  m.ttft_s = summarize(ttft);
  m.tpot_s = summarize(tpot);
  m.throughput_tps = summarize(tps);
  m.kv_bytes_reserved = runs[0].kv_reserved;
  m.outputs = runs[0].outputs;
  m.logits_hash = runs[0].hash;
  return m;
}

SessionOptions exact_session_options(const std::vector<std::vector<int32_t>>& prompts,
                                     CacheStrategy cache, const MeasureOptions& o, int new_tokens) {
  SessionOptions so;
  so.cache = cache;
  so.kv_type = o.kv_type;
  so.precision = o.precision;
  so.threads = o.threads;
  so.block_size = o.block_size;
  so.prefix_cache = o.prefix_cache;
  so.n_seqs = static_cast<int>(prompts.size());
  size_t longest = 0;
  for (const auto& p : prompts) longest = std::max(longest, p.size());
  so.n_ctx = static_cast<int>(longest) + new_tokens;
  return so;
}

}  // namespace

int run_alternating(int variants, int warmup, int repetitions,
                    const std::function<void(int, bool)>& run,
                    const std::function<void(int, int)>& on_progress) {
  const int total = (warmup + repetitions) * variants;
  int done = 0;
  for (int round = 0; round < warmup + repetitions; ++round) {
    for (int v = 0; v < variants; ++v) {
      if (interrupt_requested()) return std::max(0, round - warmup);
      run(v, round >= warmup);
      if (on_progress) on_progress(++done, total);
    }
  }
  return repetitions;
}

bool verify_identical(std::vector<Measurement>& strategies) {
  bool all = true;
  for (Measurement& m : strategies) {
    m.identical = m.repeatable && same_output(m.outputs, m.logits_hash, strategies.front().outputs,
                                              strategies.front().logits_hash);
    all = all && m.identical;
  }
  return all;
}

GenerationResult generate_exactly(const Model& model,
                                  const std::vector<std::vector<int32_t>>& prompts,
                                  CacheStrategy cache, const MeasureOptions& o, int new_tokens,
                                  std::unique_ptr<Session>& session,
                                  const LogitsCallback& on_logits, uint64_t* kv_bytes_reserved) {
  if (session && cache == CacheStrategy::kPagedPrefix) {
    for (size_t s = 0; s < prompts.size(); ++s) session->reset(static_cast<int>(s));
  } else {
    session =
        std::make_unique<Session>(model, exact_session_options(prompts, cache, o, new_tokens));
  }
  GenerateOptions g;
  g.max_new_tokens = new_tokens;
  g.stop_at_end_token = false;  // every strategy generates exactly new_tokens
  g.on_logits = on_logits;
  GenerationResult r = session->generate(prompts, g);
  if (kv_bytes_reserved != nullptr) *kv_bytes_reserved = session->cache().peak_bytes_reserved();
  return r;
}

std::vector<int32_t> benchmark_prompt(const Model& model, int n, int shift) {
  const std::vector<int32_t> text = model.tokenizer().encode(kPromptText, false, false);
  std::vector<int32_t> out;
  if (model.tokenizer().bos_id() >= 0 &&
      model.file().meta.get_bool("tokenizer.ggml.add_bos_token", false))
    out.push_back(model.tokenizer().bos_id());
  for (size_t i = 0; static_cast<int>(out.size()) < n; ++i)
    out.push_back(text[(i + shift) % text.size()]);
  out.resize(static_cast<size_t>(n));
  return out;
}

MeasureResult measure_workloads(const Model& model, const std::vector<Workload>& workloads,
                                const MeasureOptions& o,
                                const std::function<void(int, int)>& on_progress) {
  if (workloads.empty() || o.repetitions < 1 || o.warmup < 0 || o.strategies.empty())
    fail("a measurement needs workloads, repetitions and strategies");
  for (const Workload& w : workloads)
    if (w.prompts.empty() || w.new_tokens < 1)
      fail("workload '{}' needs prompts and tokens to generate", w.name);
  const size_t n_strategies = o.strategies.size();
  // runs[workload][strategy]; every run of a round goes workload by workload, strategy by strategy.
  std::vector<std::vector<std::vector<Run>>> runs(workloads.size(),
                                                  std::vector<std::vector<Run>>(n_strategies));
  std::vector<std::vector<std::unique_ptr<Session>>> sessions(workloads.size());
  for (auto& per_workload : sessions) per_workload.resize(n_strategies);
  MeasureResult result;
  result.repetitions_done = run_alternating(
      static_cast<int>(workloads.size() * n_strategies), o.warmup, o.repetitions,
      [&](int v, bool measured) {
        const size_t w = v / n_strategies, s = v % n_strategies;
        Run run = time_run(model, workloads[w], o.strategies[s], o, sessions[w][s]);
        if (measured) runs[w][s].push_back(std::move(run));
      },
      on_progress);
  result.interrupted = result.repetitions_done < o.repetitions;
  for (size_t w = 0; w < workloads.size(); ++w) {
    // Interrupted before every strategy of this workload was measured once: nothing to compare.
    if (std::any_of(runs[w].begin(), runs[w].end(), [](const auto& r) { return r.empty(); }))
      continue;
    WorkloadResult wr;
    wr.workload = workloads[w];
    for (size_t s = 0; s < n_strategies; ++s)
      wr.strategies.push_back(summarize_runs(o.strategies[s], runs[w][s]));
    wr.all_identical = verify_identical(wr.strategies);
    result.all_identical = result.all_identical && wr.all_identical;
    result.workloads.push_back(std::move(wr));
  }
  return result;
}

}  // namespace kvscope
