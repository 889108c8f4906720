#include "bench/workload.h"

#include <gtest/gtest.h>

#include <fstream>

#include "bench/cases.h"
#include "bench/sweep.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "test_paths.h"

namespace kvscope {
namespace {

std::unique_ptr<Model> tiny_model() {
  return Model::load(testing::fixture("models/tiny-llama-q4_1.gguf"));
}

TEST(RunAlternating, AlternatesVariantsAfterTheWarmUp) {
  std::vector<std::pair<int, bool>> calls;
  int progress_calls = 0;
  const int done = run_alternating(
      2, 1, 2, [&](int v, bool measured) { calls.emplace_back(v, measured); },
      [&](int d, int total) {
        EXPECT_EQ(total, 6);
        EXPECT_EQ(d, ++progress_calls);
      });
  EXPECT_EQ(done, 2);
  const std::vector<std::pair<int, bool>> expected = {{0, false}, {1, false}, {0, true},
                                                      {1, true},  {0, true},  {1, true}};
  EXPECT_EQ(calls, expected);
}

TEST(RunAlternating, StopsAtTheNextRunAfterCtrlC) {
  clear_interrupt();
  int runs = 0;
  const int done = run_alternating(2, 1, 5,
                                   [&](int, bool) {
                                     if (++runs == 5)
                                       request_interrupt();  // during the second measured round
                                   },
                                   {});
  clear_interrupt();
  EXPECT_EQ(runs, 5);
  EXPECT_EQ(done, 1);
}

TEST(MeasureWorkloads, BatchesOfDifferentPromptsAreIdenticalAcrossStrategies) {
  const auto model = tiny_model();
  MeasureOptions o;
  o.repetitions = 2;
  o.warmup = 0;
  o.strategies = {CacheStrategy::kNone, CacheStrategy::kConcat, CacheStrategy::kPrealloc};
  const std::vector<Workload> workloads = sweep_workloads(*model, {5, 9}, {6}, {1, 3});
  ASSERT_EQ(workloads.size(), 4u);
  EXPECT_EQ(workloads[3].name, "p9 g6 b3");
  EXPECT_NE(workloads[3].prompts[0], workloads[3].prompts[1]);  // the batch's prompts differ
  const MeasureResult r = measure_workloads(*model, workloads, o);
  EXPECT_TRUE(r.all_identical);
  EXPECT_FALSE(r.interrupted);
  EXPECT_EQ(r.repetitions_done, 2);
  ASSERT_EQ(r.workloads.size(), 4u);
  for (const WorkloadResult& w : r.workloads) {
    ASSERT_EQ(w.strategies.size(), 3u);
    for (const Measurement& m : w.strategies) {
      EXPECT_EQ(m.seconds.count, 2);
      ASSERT_EQ(m.outputs.size(), w.workload.prompts.size());
      for (const auto& out : m.outputs) EXPECT_EQ(out.size(), 6u);
      EXPECT_GT(m.throughput_tps.min, 0);
      EXPECT_LE(m.ttft_s.max, m.seconds.max);
      EXPECT_TRUE(m.identical);
    }
    // Prealloc reserves every sequence's whole context: batch × (prompt + generated) positions.
    const size_t positions = w.workload.prompts.size() * (w.workload.prompts[0].size() + 6);
    EXPECT_EQ(w.strategies[2].kv_bytes_reserved, positions * 2 * 2 * 32 * 4u);
  }
}

// One run of one sequence: its figures are those of its timestamps (throughput = tokens / time,
// TPOT = the decode time over the gaps), so each can be checked against the others.
TEST(MeasureWorkloads, OneRunsFiguresAgreeWithEachOther) {
  const auto model = tiny_model();
  MeasureOptions o;
  o.repetitions = 1;
  o.warmup = 0;
  const MeasureResult r = measure_workloads(*model, sweep_workloads(*model, {5}, {6}, {1, 2}), o);
  ASSERT_EQ(r.workloads.size(), 2u);
  for (const WorkloadResult& w : r.workloads)
    for (const Measurement& m : w.strategies) {
      const double seconds = m.seconds.median, ttft = m.ttft_s.median;
      EXPECT_GT(ttft, 0);
      EXPECT_LT(ttft, seconds);
      EXPECT_DOUBLE_EQ(m.throughput_tps.median,
                       6.0 * static_cast<double>(w.workload.prompts.size()) / seconds);
      if (w.workload.prompts.size() == 1) {
        EXPECT_NEAR(m.tpot_s.median, (seconds - ttft) / 5, 1e-12);
      }
    }
}

// The identity check compares a hash of every logit of every step: recomputed here from the
// logits themselves, it must match the measured one (a hash of less, such as each step's first
// logit, would not).
// Each sequence's logits are hashed byte by byte in step order, then the sequences' hashes in
// sequence order, so the hash covers every logit but not the order the scheduler ran them in.
TEST(MeasureWorkloads, TheLogitsHashCoversEveryLogitOfEverySequenceAndStep) {
  const auto model = tiny_model();
  MeasureOptions o;
  o.repetitions = 1;
  o.warmup = 0;
  o.strategies = {CacheStrategy::kPrealloc};
  const std::vector<Workload> workloads = sweep_workloads(*model, {5}, {4}, {2});
  const MeasureResult r = measure_workloads(*model, workloads, o);
  ASSERT_EQ(r.workloads.size(), 1u);
  const auto fnv = [](uint64_t hash, const void* data, size_t n) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < n; ++i) hash = (hash ^ bytes[i]) * 1099511628211ull;
    return hash;
  };
  constexpr uint64_t kOffset = 14695981039346656037ull;  // FNV-1a
  std::vector<uint64_t> per_sequence(2, kOffset);
  size_t logits = 0;
  std::unique_ptr<Session> session;
  generate_exactly(*model, workloads[0].prompts, CacheStrategy::kPrealloc, o, 4, session,
                   [&](int seq, std::span<const float> l) {
                     per_sequence.at(seq) = fnv(per_sequence[seq], l.data(), l.size_bytes());
                     logits += l.size();
                   });
  EXPECT_EQ(logits,
            2u * 4u * static_cast<size_t>(model->config().vocab_size));  // 2 sequences, 4 steps
  uint64_t hash = kOffset;
  for (uint64_t h : per_sequence) hash = fnv(hash, &h, sizeof h);
  EXPECT_EQ(r.workloads[0].strategies[0].logits_hash, hash);
}

// paged+prefix keeps its session between runs: the second run finds the prompts' full blocks
// cached, and gives the same bits as a fresh paged run, as every strategy must.
TEST(MeasureWorkloads, PagedWithPrefixReuseKeepsItsPoolBetweenRuns) {
  const auto model = tiny_model();
  MeasureOptions o;
  o.repetitions = 2;
  o.warmup = 1;
  o.strategies = {CacheStrategy::kNone, CacheStrategy::kPaged, CacheStrategy::kPagedPrefix};
  const std::vector<Workload> workloads = sweep_workloads(*model, {40}, {5}, {1, 2});
  const MeasureResult r = measure_workloads(*model, workloads, o);
  EXPECT_TRUE(r.all_identical);
  ASSERT_EQ(r.workloads.size(), 2u);
  for (const WorkloadResult& w : r.workloads)
    EXPECT_EQ(strategy_name(w.strategies[2].strategy), "paged+prefix");
  std::unique_ptr<Session> kept, fresh;
  const auto& prompts = workloads[1].prompts;
  generate_exactly(*model, prompts, CacheStrategy::kPagedPrefix, o, 5, kept);
  const Session* first = kept.get();
  const GenerationResult again =
      generate_exactly(*model, prompts, CacheStrategy::kPagedPrefix, o, 5, kept);
  EXPECT_EQ(kept.get(), first);
  // Two prompts of 40 tokens: two full blocks of 16 each reused.
  EXPECT_EQ(kept->cache().pool_stats().prefix_hit_tokens, 2 * 32);
  const GenerationResult paged =
      generate_exactly(*model, prompts, CacheStrategy::kPaged, o, 5, fresh);
  for (size_t i = 0; i < prompts.size(); ++i)
    EXPECT_EQ(again.sequences[i].output, paged.sequences[i].output);
  EXPECT_EQ(fresh->cache().pool_stats().prefix_hit_tokens, 0);
}

TEST(MeasureWorkloads, KeepsWhatWasMeasuredWhenInterrupted) {
  const auto model = tiny_model();
  MeasureOptions o;
  o.repetitions = 4;
  o.warmup = 0;
  int runs = 0;
  clear_interrupt();
  const MeasureResult r =
      measure_workloads(*model, sweep_workloads(*model, {4}, {3}, {1, 2}), o, [&](int, int) {
        if (++runs == 6)
          request_interrupt();  // after the first round (4 runs) and half of the second
      });
  clear_interrupt();
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.repetitions_done, 1);
  ASSERT_EQ(r.workloads.size(), 2u);
  EXPECT_EQ(r.workloads[0].strategies[0].seconds.count, 2);  // the partial round's runs are kept
  EXPECT_EQ(r.workloads[1].strategies[0].seconds.count, 1);
  EXPECT_TRUE(r.all_identical);
}

TEST(Cases, BuiltInCasesFollowSeed004) {
  const auto model = tiny_model();
  const std::vector<Workload> cases = builtin_cases(*model, 5);
  std::vector<std::string> names;
  std::vector<size_t> batches;
  for (const Workload& w : cases) {
    names.push_back(w.name);
    batches.push_back(w.prompts.size());
    EXPECT_EQ(w.new_tokens, 5);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"single_short", "single_medium", "batch_4_short",
                                             "batch_4_medium", "batch_3_mixed"}));
  EXPECT_EQ(batches, (std::vector<size_t>{1, 1, 4, 4, 3}));
  EXPECT_LT(cases[0].prompts[0].size(), cases[1].prompts[0].size());
}

TEST(Cases, LoadsAFileAndRejectsBadOnesClearly) {
  const auto model = tiny_model();
  const std::string path = ::testing::TempDir() + "/cases.json";
  const auto write = [&](const std::string& text) { std::ofstream(path) << text; };
  write(R"({"cases": [{"name": "two", "prompts": ["Hello there", "Why?"], "new_tokens": 4},
                      {"name": "one", "prompts": ["A"]}]})");
  const std::vector<Workload> cases = load_cases(*model, path, 7);
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0].name, "two");
  EXPECT_EQ(cases[0].prompts.size(), 2u);
  EXPECT_EQ(cases[0].new_tokens, 4);
  EXPECT_EQ(cases[1].new_tokens, 7);
  for (const std::string& bad :
       {std::string("{"), std::string(R"({"cases": []})"),
        std::string(R"({"cases": [{"name": "x"}]})"),
        std::string(R"({"cases": [{"name": "x", "prompts": [3]}]})"),
        std::string(R"({"cases": [{"name": "x", "prompts": ["a"], "new_tokens": 0}]})"),
        std::string("{\"cases\": [{\"name\": \"x\", \"prompts\": [\"\xff\"]}]}")}) {
    write(bad);
    EXPECT_THROW(load_cases(*model, path, 7), Error) << bad;
  }
  EXPECT_THROW(load_cases(*model, path + ".missing", 7), Error);
}

}  // namespace
}  // namespace kvscope
