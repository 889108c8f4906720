// The engine's promise: a request's logits and tokens never depend on the strategy, the block
// size, the chunking of its prompt, its neighbours in the batch, the order of arrivals, prefix
// hits or preemptions; and the pool gives every block back.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <random>
#include <thread>

#include "core/error.h"
#include "core/hash.h"
#include "test_paths.h"

namespace kvscope {
namespace {

#ifdef KVSCOPE_SANITIZED
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// What a request produced, bit for bit: its tokens and a hash of every logit it was sampled from.
struct Trace {
  std::vector<int32_t> tokens;
  uint64_t logits_hash = kFnvOffset;
  bool operator==(const Trace&) const = default;
};

class EngineTest : public ::testing::Test {
 public:  // the helpers serve the free functions below too
  static const Model& model() { return *model_; }
  static void SetUpTestSuite() {
    model_ = Model::load(testing::fixture("models/tiny-llama-f32.gguf")).release();
  }
  static void TearDownTestSuite() { delete model_; }

  static std::vector<int32_t> prompt(int length, int shift) {
    std::vector<int32_t> ids;
    for (int i = 0; i < length; ++i) ids.push_back(5 + (i * 7 + shift * 13) % 300);
    return ids;
  }
  static Request request(std::vector<int32_t> ids, int new_tokens, uint64_t seed = 0) {
    Request r;
    r.prompt = std::move(ids);
    r.max_new_tokens = new_tokens;
    r.stop_at_end_token = false;
    if (seed != 0) {
      r.sampling.temperature = 0.9f;
      r.sampling.top_k = 40;
      r.sampling.seed = seed;
    }
    return r;
  }
  // Adds `r` to the engine, recording its trace into `trace`.
  static RequestId add(Engine& engine, Request r, Trace& trace) {
    r.on_logits = [&trace](std::span<const float> l) {
      trace.logits_hash = fnv1a_floats(trace.logits_hash, l.data(), l.size());
    };
    r.on_token = [&trace](const TokenEvent& e) { trace.tokens.push_back(e.token); };
    return engine.add(std::move(r));
  }
  static Trace alone(const Request& r, KvType type = KvType::kF32,
                     Precision precision = Precision::kFast) {
    EngineOptions o;
    o.cache = CacheStrategy::kPrealloc;
    o.kv_type = type;
    o.precision = precision;
    o.max_seqs = 1;
    o.max_batch_tokens = 4096;
    Engine engine(*model_, o);
    Trace t;
    add(engine, r, t);
    engine.run_until_idle();
    return t;
  }
  // The KV memory of `positions` f32 rows of the model, every layer's keys and values.
  static size_t budget_for(int positions) {
    return static_cast<size_t>(positions) *
           KvShape{model_->config().n_layers, model_->config().kv_dim()}.bytes_per_token();
  }
  // Runs `r` alone on the paged pool with blocks of `block_size`: its trace, and the most blocks
  // the pool held at once. The pool ends empty.
  static std::pair<Trace, int64_t> alone_paged(const Request& r, int block_size, bool prefix) {
    EngineOptions o;
    o.cache = CacheStrategy::kPaged;
    o.block_size = block_size;
    o.prefix_cache = prefix;
    Engine engine(*model_, o);
    Trace t;
    add(engine, r, t);
    engine.run_until_idle();
    EXPECT_EQ(engine.cache().pool_stats().blocks_used, 0);
    return {t, static_cast<int64_t>(engine.cache().peak_bytes_reserved() / budget_for(block_size))};
  }
  static Model* model_;
};
Model* EngineTest::model_ = nullptr;

struct Variant {
  CacheStrategy cache;
  int block_size;
  bool prefix_cache;
};

// Every strategy, block size and batch budget gives each request the tokens and logits it gets
// alone, bit for bit.
void expect_the_same_bits_everywhere(const std::vector<KvType>& types,
                                     Precision precision = Precision::kFast) {
  const std::vector<int> lengths = {15, 16, 17, 33, 5};
  const Variant variants[] = {
      {CacheStrategy::kNone, 16, false},     {CacheStrategy::kConcat, 16, false},
      {CacheStrategy::kPrealloc, 16, false}, {CacheStrategy::kPaged, 1, false},
      {CacheStrategy::kPaged, 16, false},    {CacheStrategy::kPaged, 32, false},
      {CacheStrategy::kPaged, 16, true}};
  for (KvType type : types) {
    std::vector<Trace> want;
    for (size_t i = 0; i < lengths.size(); ++i)
      want.push_back(
          EngineTest::alone(EngineTest::request(EngineTest::prompt(lengths[i], static_cast<int>(i)),
                                                12, i % 2 ? 7 + i : 0),
                            type, precision));
    for (const Variant& v : variants)
      for (int budget : {1, 7, 16, 4096}) {
        EngineOptions o;
        o.cache = v.cache;
        o.kv_type = type;
        o.precision = precision;
        o.block_size = v.block_size;
        o.prefix_cache = v.prefix_cache;
        o.max_batch_tokens = budget;
        o.max_seqs = 8;
        Engine engine(EngineTest::model(), o);
        std::vector<Trace> got(lengths.size());
        for (size_t i = 0; i < lengths.size(); ++i)
          EngineTest::add(engine,
                          EngineTest::request(EngineTest::prompt(lengths[i], static_cast<int>(i)),
                                              12, i % 2 ? 7 + i : 0),
                          got[i]);
        engine.run_until_idle();
        for (size_t i = 0; i < lengths.size(); ++i)
          EXPECT_EQ(got[i], want[i])
              << strategy_name(v.cache) << " block " << v.block_size << " budget " << budget << " "
              << kv_type_name(type) << " prompt of " << lengths[i];
        EXPECT_EQ(engine.cache().bytes_reserved(), 0u);
      }
  }
}

// Thousands of steps of random arrivals, lengths and cancellations in a pool of `blocks` blocks of
// 4: every request that was not cancelled gives its tokens alone; nothing stays referenced; the
// pool ends empty.
void expect_random_arrivals_exact(int requests, int blocks) {
  std::mt19937 rng(42);
  EngineOptions o;
  o.cache = CacheStrategy::kPaged;
  o.prefix_cache = true;
  o.block_size = 4;
  o.max_seqs = 6;
  o.max_batch_tokens = 24;
  o.kv_budget_bytes = EngineTest::budget_for(blocks * 4);
  Engine engine(EngineTest::model(), o);
  struct Sent {
    Request request;
    Trace trace;
    RequestId id = 0;
  };
  std::deque<Sent> sent;  // stable addresses: the callbacks write into the traces
  std::vector<RequestId> ids;
  const std::vector<int32_t> system = EngineTest::prompt(12, 5);  // shared by some: prefixes hit
  int added = 0, steps = 0;
  while (added < requests || !engine.idle()) {
    if (added < requests && rng() % 3 == 0) {
      std::vector<int32_t> ids_in = rng() % 2 ? system : std::vector<int32_t>{};
      const std::vector<int32_t> tail =
          EngineTest::prompt(1 + static_cast<int>(rng() % 30), static_cast<int>(rng() % 50));
      ids_in.insert(ids_in.end(), tail.begin(), tail.end());
      sent.push_back({EngineTest::request(ids_in, 1 + static_cast<int>(rng() % 20),
                                          rng() % 2 ? 1 + rng() % 1000 : 0),
                      {},
                      0});
      sent.back().id = EngineTest::add(engine, sent.back().request, sent.back().trace);
      ids.push_back(sent.back().id);
      ++added;
    }
    if (!ids.empty() && rng() % 25 == 0) engine.cancel(ids[rng() % ids.size()]);
    engine.step();
    ++steps;
  }
  EXPECT_GT(steps, 2 * requests);  // thousands of steps in the release build
  int checked = 0;
  for (const Sent& s : sent) {
    const RequestOutput& out = engine.output(s.id);
    EXPECT_TRUE(out.finished);
    if (out.stop == StopReason::kCancelled) continue;
    EXPECT_EQ(s.trace, EngineTest::alone(s.request)) << "request " << s.id;
    ++checked;
  }
  EXPECT_GT(checked, requests / 2);
  EXPECT_GT(engine.stats().preemptions, 0);
  EXPECT_GT(engine.cache().pool_stats().prefix_hit_tokens, 0);
  EXPECT_EQ(engine.cache().pool_stats().blocks_used, 0);
  EXPECT_EQ(engine.cache().bytes_reserved(), 0u);
}

// A request kept with keep_kv and continued by a longer prompt feeds only the new tokens, and
// gives the tokens the whole prompt gives alone.
void expect_continuations_feed_only_new_tokens() {
  for (CacheStrategy s :
       {CacheStrategy::kConcat, CacheStrategy::kPrealloc, CacheStrategy::kPaged}) {
    EngineOptions o;
    o.cache = s;
    o.block_size = 4;
    Engine engine(EngineTest::model(), o);
    Trace t1;
    Request first = EngineTest::request(EngineTest::prompt(9, 3), 12);
    first.keep_kv = true;
    const RequestId a = EngineTest::add(engine, first, t1);
    engine.run_until_idle();
    std::vector<int32_t> ids = first.prompt;
    ids.insert(ids.end(), t1.tokens.begin(), t1.tokens.end());
    const std::vector<int32_t> more = EngineTest::prompt(4, 8);
    ids.insert(ids.end(), more.begin(), more.end());
    Request second = EngineTest::request(ids, 5);
    second.continue_from = a;
    Trace t2;
    const RequestId b = EngineTest::add(engine, second, t2);
    engine.run_until_idle();
    EXPECT_EQ(engine.output(b).cached_tokens, 9 + 11) << strategy_name(s);
    EXPECT_EQ(t2, EngineTest::alone(EngineTest::request(ids, 5))) << strategy_name(s);
  }
}

TEST_F(EngineTest, EveryStrategyBlockSizeAndChunkingGivesTheSameBits) {
  expect_the_same_bits_everywhere({KvType::kF32, KvType::kF16});
}

// The same on Qwen 3 (q/k norms, heads of 32 under a width of 64, so q is wider than the residual
// stream) and Qwen 2 (q/k/v biases).
class QwenEngineTest : public EngineTest {
 protected:
  static void SetUpTestSuite() {
    model_ = Model::load(testing::fixture("models/tiny-qwen3-bf16.gguf")).release();
  }
};

TEST_F(QwenEngineTest, EveryStrategyBlockSizeAndChunkingGivesTheSameBits) {
  ASSERT_NE(model().config().q_dim(), model().config().dim);
  expect_the_same_bits_everywhere({KvType::kF32, KvType::kF16, KvType::kQ8_0});
}

class Qwen2EngineTest : public EngineTest {
 protected:
  static void SetUpTestSuite() {
    model_ = Model::load(testing::fixture("models/tiny-qwen2-hf")).release();
  }
};

TEST_F(Qwen2EngineTest, EveryStrategyBlockSizeAndChunkingGivesTheSameBits) {
  ASSERT_TRUE(model().config().qkv_bias);
  expect_the_same_bits_everywhere({KvType::kF32});
}

// Mistral's sliding window of 8 under prompts of up to 33 and 12 new tokens: every strategy reads
// the same window of rows, whatever its blocks.
class MistralEngineTest : public EngineTest {
 protected:
  static void SetUpTestSuite() {
    model_ = Model::load(testing::fixture("models/tiny-mistral-bf16.gguf")).release();
  }
};

TEST_F(MistralEngineTest, EveryStrategyBlockSizeAndChunkingGivesTheSameBits) {
  ASSERT_EQ(model().config().sliding_window, 8);
  expect_the_same_bits_everywhere({KvType::kF32, KvType::kF16, KvType::kQ8_0});
  expect_the_same_bits_everywhere({KvType::kF32, KvType::kF16}, Precision::kExact);
}

// Generating past nine windows, the paged pool gives back every block behind the window of 8: at
// most it holds the blocks that the 8 positions one query sees can touch (8 of 1 position, 4 of 3,
// 3 of 4, 2 of 16), not one block for every 4 (or 3, or 1) positions of the sequence; the tokens
// and logits stay those of prealloc and none, bit for bit.
TEST_F(MistralEngineTest, BlocksBehindTheWindowGoBackToThePool) {
  const Request r = request(prompt(6, 4), 70, 5);  // 75 positions fed
  const Trace want = alone(r);
  {
    EngineOptions o;
    o.cache = CacheStrategy::kNone;
    Engine engine(model(), o);
    Trace none;
    add(engine, r, none);
    engine.run_until_idle();
    EXPECT_EQ(none, want);
  }
  for (bool prefix : {false, true})
    for (const auto& [block_size, most] : {std::pair{1, 8}, {3, 4}, {4, 3}, {16, 2}}) {
      const auto [got, peak] = alone_paged(r, block_size, prefix);
      EXPECT_EQ(got, want) << "block " << block_size << " prefix " << prefix;
      EXPECT_EQ(peak, most) << "block " << block_size << " prefix " << prefix;
    }
}

// Under the window a request may outgrow the whole pool: what it holds at once is what must fit,
// the window and one step's chunk (7 + 4 positions, from a block boundary: 4 blocks of 4).
TEST_F(MistralEngineTest, ARequestLongerThanThePoolRunsThroughItsWindow) {
  const Request r = request(prompt(6, 4), 64, 5);
  EngineOptions o;
  o.cache = CacheStrategy::kPaged;
  o.block_size = 4;
  o.max_batch_tokens = 4;
  o.kv_budget_bytes = budget_for(4 * 4);
  Engine engine(model(), o);
  Trace t;
  add(engine, r, t);
  // Two prompt chunks, then a step a token; holding every block, it would be preempted and
  // recomputed forever.
  for (int step = 0; step < 100 && !engine.idle(); ++step) engine.step();
  EXPECT_TRUE(engine.idle());
  EXPECT_EQ(engine.stats().steps, 2 + 63);
  EXPECT_EQ(t, alone(r));
  EXPECT_EQ(engine.stats().preemptions, 0);
  o.max_batch_tokens = 8;  // chunks of 8 could need 5 blocks
  EXPECT_THROW(Engine(model(), o).add(r), Error);
  o.cache = CacheStrategy::kPrealloc;  // holds every position
  o.max_batch_tokens = 4;
  EXPECT_THROW(Engine(model(), o).add(r), Error);
}

// Prefix reuse under the window: a later prompt finds the shared prompt's blocks that the first
// request has dropped (unreferenced, still indexed) and the one it still holds (then shared), and
// each gives up its share in turn while the other runs; both give their tokens alone.
TEST_F(MistralEngineTest, PrefixHitsUnderTheWindowChangeNothing) {
  EngineOptions o;
  o.cache = CacheStrategy::kPaged;
  o.prefix_cache = true;
  o.block_size = 4;
  Engine engine(model(), o);
  const std::vector<int32_t> shared = prompt(24, 1);
  std::vector<Request> requests;
  for (int i = 0; i < 2; ++i) {
    std::vector<int32_t> ids = shared;
    const std::vector<int32_t> tail = prompt(3 + 2 * i, 2 + i);
    ids.insert(ids.end(), tail.begin(), tail.end());
    requests.push_back(request(ids, 30, i == 0 ? 0 : 9));
  }
  std::vector<Trace> got(2);
  add(engine, requests[0], got[0]);
  engine.step();  // the first's 27 positions: 6 full blocks indexed, 5 of them behind its window
  EXPECT_EQ(engine.cache().pool_stats().blocks_cached, 5);
  const RequestId second = add(engine, requests[1], got[1]);
  engine.step();
  EXPECT_EQ(engine.output(second).cached_tokens, 24);
  bool shared_block = false;
  for (const BlockState& b : engine.cache().block_states()) shared_block |= b.refs == 2;
  EXPECT_TRUE(shared_block);
  engine.run_until_idle();
  for (int i = 0; i < 2; ++i) EXPECT_EQ(got[i], alone(requests[i])) << "request " << i;
  EXPECT_EQ(engine.cache().pool_stats().blocks_used, 0);
}

TEST_F(MistralEngineTest, ContinuingAKeptRequestFeedsOnlyItsNewTokens) {
  expect_continuations_feed_only_new_tokens();
}

TEST_F(MistralEngineTest, RandomArrivalsAndCancellationsKeepEveryRequestExact) {
  expect_random_arrivals_exact(kSanitized ? 50 : 200, 12);
}

// Phi-3's fused projections, read as views of their rows, and its window of 8.
class Phi3EngineTest : public EngineTest {
 protected:
  static void SetUpTestSuite() {
    model_ = Model::load(testing::fixture("models/tiny-phi3-hf")).release();
  }
};

TEST_F(Phi3EngineTest, EveryStrategyBlockSizeAndChunkingGivesTheSameBits) {
  ASSERT_TRUE(model().config().fused_projections);
  expect_the_same_bits_everywhere({KvType::kF32, KvType::kF16});
  expect_the_same_bits_everywhere({KvType::kF32}, Precision::kExact);
}

// Gemma 3's interleaved local (window 8) and global layers, each with its own RoPE base.
class Gemma3EngineTest : public EngineTest {
 protected:
  static void SetUpTestSuite() {
    model_ = Model::load(testing::fixture("models/tiny-gemma3-bf16.gguf")).release();
  }
};

TEST_F(Gemma3EngineTest, EveryStrategyBlockSizeAndChunkingGivesTheSameBits) {
  ASSERT_EQ(model().config().sliding_pattern, 6);
  expect_the_same_bits_everywhere({KvType::kF32, KvType::kF16, KvType::kQ8_0});
  expect_the_same_bits_everywhere({KvType::kF32}, Precision::kExact);
}

// A block holds the rows of every layer, and Gemma 3's global layer reads every position: its
// local layers' windows give nothing back (one block for every 4 positions fed).
TEST_F(Gemma3EngineTest, AGlobalLayerKeepsEveryBlock) {
  EXPECT_EQ(model().config().first_needed(1000), 0);
  const Request r = request(prompt(6, 4), 40, 5);  // 45 positions fed
  const auto [got, peak] = alone_paged(r, 4, false);
  EXPECT_EQ(got, alone(r));
  EXPECT_EQ(peak, 12);
}

TEST_F(EngineTest, PrefixHitsReuseBlocksAndChangeNothing) {
  EngineOptions o;
  o.cache = CacheStrategy::kPaged;
  o.prefix_cache = true;
  o.max_batch_tokens = 64;
  Engine engine(*model_, o);
  const std::vector<int32_t> shared = prompt(40, 1);
  for (int suffix : {1, 9, 24}) {
    std::vector<int32_t> ids = shared;
    const std::vector<int32_t> tail = prompt(suffix, suffix);
    ids.insert(ids.end(), tail.begin(), tail.end());
    Trace t;
    const RequestId id = add(engine, request(ids, 10, 3), t);
    engine.run_until_idle();
    EXPECT_EQ(t, alone(request(ids, 10, 3))) << "suffix " << suffix;
    // The first request computed everything; later ones reuse the shared prompt's two full blocks.
    EXPECT_EQ(engine.output(id).cached_tokens, suffix == 1 ? 0 : 32) << "suffix " << suffix;
  }
  // A prompt equal to a cached one reuses all but its last token's block.
  Trace again;
  std::vector<int32_t> ids = shared;
  ids.push_back(prompt(1, 1)[0]);
  const RequestId id = add(engine, request(ids, 10, 3), again);
  engine.run_until_idle();
  EXPECT_EQ(engine.output(id).cached_tokens, 32);
  EXPECT_GT(engine.cache().pool_stats().prefix_hit_tokens, 0);
  EXPECT_EQ(engine.cache().pool_stats().blocks_used, 0);
  EXPECT_GT(engine.cache().pool_stats().blocks_cached, 0);
}

TEST_F(EngineTest, GeneratedBlocksServeTheNextTurn) {
  EngineOptions o;
  o.cache = CacheStrategy::kPaged;
  o.prefix_cache = true;
  o.block_size = 4;
  Engine engine(*model_, o);
  Trace first;
  const std::vector<int32_t> turn1 = prompt(10, 2);
  const RequestId a = add(engine, request(turn1, 12), first);
  engine.run_until_idle();
  std::vector<int32_t> turn2 = turn1;
  turn2.insert(turn2.end(), first.tokens.begin(), first.tokens.end());
  const std::vector<int32_t> user = prompt(5, 9);
  turn2.insert(turn2.end(), user.begin(), user.end());
  Trace second;
  const RequestId b = add(engine, request(turn2, 6), second);
  engine.run_until_idle();
  // 10 prompt + 11 fed generated tokens = 21 computed positions: 5 full blocks of 4.
  EXPECT_EQ(engine.output(b).cached_tokens, 20);
  EXPECT_EQ(second, alone(request(turn2, 6)));
  engine.forget(a);
}

TEST_F(EngineTest, PreemptedRequestsRecomputeToTheSameTokens) {
  EngineOptions o;
  o.cache = CacheStrategy::kPaged;
  o.block_size = 8;
  o.max_seqs = 6;
  o.max_batch_tokens = 32;
  // 12 blocks of 8 positions for six requests that grow to 50 positions each.
  o.kv_budget_bytes = budget_for(12 * 8);
  Engine engine(*model_, o);
  std::vector<Trace> got(6);
  std::vector<Request> requests;
  for (int i = 0; i < 6; ++i) {
    requests.push_back(request(prompt(20 + i, i), 30, i % 2 ? 11 + i : 0));
    add(engine, requests.back(), got[i]);
  }
  engine.run_until_idle();
  EXPECT_GT(engine.stats().preemptions, 0);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(got[i], alone(requests[i])) << "request " << i;
  EXPECT_EQ(engine.cache().pool_stats().blocks_used, 0);
}

// Two requests that fit the pool's 12 blocks of 8 one at a time but not together: the second
// waits, although its prompt would fit now, until the first is done, so nothing is preempted.
// (On free blocks alone both would start, grow to 9 blocks each, and one be recomputed.)
TEST_F(EngineTest, AdmissionLeavesRoomForTheRunningRequestsGrowth) {
  EngineOptions o;
  o.cache = CacheStrategy::kPaged;
  o.block_size = 8;
  o.max_seqs = 4;
  o.kv_budget_bytes = budget_for(12 * 8);
  Engine engine(*model_, o);
  std::vector<Trace> got(2);
  const std::vector<Request> requests = {request(prompt(8, 1), 60), request(prompt(8, 2), 60)};
  const RequestId first = add(engine, requests[0], got[0]);
  add(engine, requests[1], got[1]);
  engine.step();
  EXPECT_EQ(engine.stats().running, 1);
  EXPECT_EQ(engine.stats().waiting, 1);
  while (!engine.output(first).finished) {
    EXPECT_EQ(engine.stats().running, 1);
    engine.step();
  }
  engine.run_until_idle();
  EXPECT_EQ(engine.stats().preemptions, 0);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(got[i], alone(requests[i])) << "request " << i;
}

TEST_F(EngineTest, RandomArrivalsAndCancellationsKeepEveryRequestExact) {
  expect_random_arrivals_exact(kSanitized ? 100 : 600, 24);
}

TEST_F(EngineTest, RefusesRequestsThatCanNeverRun) {
  EngineOptions o;
  o.n_ctx = 64;
  o.kv_budget_bytes = budget_for(32);
  Engine engine(*model_, o);
  EXPECT_THROW(engine.add(request({}, 4)), Error);
  EXPECT_THROW(engine.add(request(prompt(60, 0), 8)), Error);  // over the context
  EXPECT_THROW(engine.add(request(prompt(30, 0), 8)), Error);  // over the whole pool
  EXPECT_THROW(engine.add(request({1, 100000}, 4)), Error);    // outside the vocabulary
  EXPECT_NO_THROW(engine.add(request(prompt(20, 0), 8)));
}

TEST_F(EngineTest, CancellingFreesEverythingAndKeepsWhatWasGenerated) {
  EngineOptions o;
  o.max_batch_tokens = 8;
  Engine engine(*model_, o);
  Trace t;
  const RequestId id = add(engine, request(prompt(30, 0), 50), t);
  engine.step();  // prefill only part of the prompt
  engine.cancel(id);
  engine.step();
  EXPECT_TRUE(engine.idle());
  EXPECT_EQ(engine.output(id).stop, StopReason::kCancelled);
  EXPECT_EQ(engine.cache().bytes_reserved(), 0u);
  const RequestId next = add(engine, request(prompt(10, 0), 5), t);
  for (int i = 0; i < 3; ++i) engine.step();
  engine.cancel(next);
  engine.run_until_idle();
  EXPECT_EQ(engine.output(next).output.size(), 2u);  // tokens sampled before the cancel stay
  EXPECT_EQ(engine.cache().bytes_reserved(), 0u);
}

// Without a cache, every step feeds the whole sequence again: counted through the observer.
TEST_F(EngineTest, NoCacheFeedsTheWholeHistoryAtEveryStep) {
  struct Counter : Observer {
    void on_op(OpKind, int, Clock::time_point, Clock::time_point) override {}
    void on_query(int layer, int, int, std::span<const float>) override { fed += layer == 0; }
    int fed = 0;
  } counter;
  for (CacheStrategy s : {CacheStrategy::kNone, CacheStrategy::kPaged}) {
    EngineOptions o;
    o.cache = s;
    o.observer = &counter;
    Engine engine(*model_, o);
    counter.fed = 0;
    Trace t;
    add(engine, request(prompt(10, 0), 5), t);
    engine.run_until_idle();
    // The last token is sampled, never fed: 10 + 11 + 12 + 13 + 14 without a cache, 10 + 4 with
    // one.
    EXPECT_EQ(counter.fed, s == CacheStrategy::kNone ? 60 : 14) << strategy_name(s);
  }
}

// A prompt-only request runs the output head only when its caller takes the logits (the speed
// benchmark times the head, as llama-bench does); they are the first a generating request on the
// same prompt is sampled from, also when the prompt spans several steps.
TEST_F(EngineTest, APromptOnlyRequestComputesItsLastLogitsOnlyWhenAsked) {
  struct HeadCounter : Observer {
    void on_op(OpKind kind, int, Clock::time_point, Clock::time_point) override {
      heads += kind == OpKind::kOutputHead;
    }
    int heads = 0;
  } counter;
  Trace generating;
  {
    EngineOptions o;
    o.max_batch_tokens = 7;
    Engine engine(*model_, o);
    add(engine, request(prompt(17, 3), 1), generating);
    engine.run_until_idle();
  }
  for (bool wants_logits : {false, true}) {
    EngineOptions o;
    o.max_batch_tokens = 7;
    o.observer = &counter;
    Engine engine(*model_, o);
    counter.heads = 0;
    Request r = request(prompt(17, 3), 0);
    uint64_t hash = kFnvOffset;
    int calls = 0;
    if (wants_logits)
      r.on_logits = [&](std::span<const float> l) {
        hash = fnv1a_floats(hash, l.data(), l.size());
        ++calls;
      };
    const RequestId id = engine.add(std::move(r));
    engine.run_until_idle();
    EXPECT_EQ(counter.heads, wants_logits ? 1 : 0);
    EXPECT_EQ(calls, wants_logits ? 1 : 0);
    if (wants_logits) {
      EXPECT_EQ(hash, generating.logits_hash);
    }
    EXPECT_TRUE(engine.output(id).output.empty());
    EXPECT_EQ(engine.output(id).stop, StopReason::kMaxTokens);
  }
}

TEST_F(EngineTest, ContinuingAKeptRequestFeedsOnlyItsNewTokens) {
  expect_continuations_feed_only_new_tokens();
}

// The server's shape: requests are added and cancelled from other threads while one thread steps.
// Each request still gives its tokens alone (ThreadSanitizer checks the hand-off).
TEST_F(EngineTest, AddAndCancelFromOtherThreadsWhileStepping) {
  EngineOptions o;
  o.cache = CacheStrategy::kPaged;
  o.prefix_cache = true;
  o.max_seqs = 4;
  o.max_batch_tokens = 16;
  Engine engine(*model_, o);
  const int kProducers = 2, kEach = 24;
  struct Sent {
    Request request;
    Trace trace;
    RequestId id = 0;
    bool cancelled = false;
  };
  std::vector<std::vector<Sent>> sent(kProducers, std::vector<Sent>(kEach));
  std::atomic<int> producing{kProducers};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p)
    producers.emplace_back([&, p] {
      for (int i = 0; i < kEach; ++i) {
        Sent& s = sent[p][i];
        s.request = request(prompt(3 + (i * 5 + p) % 20, p * kEach + i), 8, i % 3 ? 0 : 17 + i);
        s.id = add(engine, s.request, s.trace);
        if (i % 2 == 1) {
          engine.cancel(sent[p][i - 1].id);
          sent[p][i - 1].cancelled = true;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(500));  // arrive while it steps
      }
      --producing;
    });
  while (producing.load() > 0 || !engine.idle())
    if (!engine.step()) std::this_thread::yield();
  for (std::thread& t : producers) t.join();
  for (const std::vector<Sent>& mine : sent)
    for (const Sent& s : mine) {
      const RequestOutput& out = engine.output(s.id);
      EXPECT_TRUE(out.finished);
      // A cancel can arrive after its request already finished; then its output is whole.
      if (s.cancelled && out.stop == StopReason::kCancelled) continue;
      EXPECT_EQ(s.trace, alone(s.request)) << "request " << s.id;
    }
  EXPECT_EQ(engine.cache().pool_stats().blocks_used, 0);
}

}  // namespace
}  // namespace kvscope
