#include "kvcache/kv_cache.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "kernels/ref/dequantize.h"
#include "random_tensors.h"

namespace kvscope {
namespace {

constexpr CacheStrategy kStrategies[] = {CacheStrategy::kNone, CacheStrategy::kConcat,
                                         CacheStrategy::kPrealloc, CacheStrategy::kPaged};

// 3 layers of 32-value rows, 2 slots of 16 positions, blocks of 4 positions.
KvShape small_shape(KvType type) { return {3, 32, 2, 16, type, 4}; }

std::vector<float> read_row(const CachedRows& rows, bool key, int pos, int width) {
  std::vector<float> out(static_cast<size_t>(width));
  ref::dequantize_row(rows.type, key ? rows.key(pos) : rows.value(pos), out.data(), width);
  return out;
}

TEST(KvCache, EveryStrategyAndTypeReturnsWhatWasWritten) {
  for (KvType type : {KvType::kF32, KvType::kF16, KvType::kQ8_0}) {
    for (CacheStrategy s : kStrategies) {
      const KvShape shape = small_shape(type);
      auto cache = make_kv_cache(s, shape);
      const auto k = testing::random_floats(7 * shape.kv_dim, 1),
                 v = testing::random_floats(7 * shape.kv_dim, 2);
      // Two appends per layer to slot 1: positions 0..2, then 3..6 (across a block edge).
      ASSERT_TRUE(cache->reserve(1, 7));
      for (int layer = 0; layer < shape.n_layers; ++layer)
        cache->write(layer, 1, 0, 3, k.data(), v.data());
      for (int layer = 0; layer < shape.n_layers; ++layer)
        cache->write(layer, 1, 3, 4, &k[3 * shape.kv_dim], &v[3 * shape.kv_dim]);
      EXPECT_EQ(cache->length(1), 7);
      EXPECT_EQ(cache->length(0), 0);
      for (int layer = 0; layer < shape.n_layers; ++layer) {
        const CachedRows rows = cache->view(layer, 1);
        for (int pos = 0; pos < 7; ++pos) {
          const auto got_k = read_row(rows, true, pos, shape.kv_dim),
                     got_v = read_row(rows, false, pos, shape.kv_dim);
          float amax =
              0;  // q8_0 rounds to within half a step of max|x| / 127 (one block per row here)
          for (int i = 0; i < shape.kv_dim; ++i)
            amax = std::max(
                {amax, std::fabs(k[pos * shape.kv_dim + i]), std::fabs(v[pos * shape.kv_dim + i])});
          for (int i = 0; i < shape.kv_dim; ++i) {
            const float want_k = k[pos * shape.kv_dim + i], want_v = v[pos * shape.kv_dim + i];
            const float tol = type == KvType::kF32   ? 0.0f
                              : type == KvType::kF16 ? 1e-3f
                                                     : 0.502f * amax / 127;
            ASSERT_NEAR(got_k[i], want_k, tol) << strategy_name(s) << " " << kv_type_name(type);
            ASSERT_NEAR(got_v[i], want_v, tol) << strategy_name(s) << " " << kv_type_name(type);
          }
        }
      }
      EXPECT_EQ(cache->bytes_used(), 7 * shape.bytes_per_token());
      cache->release(1);
      EXPECT_EQ(cache->length(1), 0);
      EXPECT_EQ(cache->bytes_reserved(), 0u) << strategy_name(s);
    }
  }
}

TEST(KvCache, Q8RowsAreBlocksOfAScaleAndThirtyTwoBytes) {
  EXPECT_EQ(small_shape(KvType::kQ8_0).row_bytes(), 34u);
  EXPECT_EQ(small_shape(KvType::kF16).row_bytes(), 64u);
  EXPECT_THROW(make_kv_cache(CacheStrategy::kPaged, KvShape{1, 48, 1, 8, KvType::kQ8_0, 4}), Error);
}

TEST(KvCache, BytesReservedFollowTheStrategy) {
  const KvShape shape = small_shape(KvType::kF16);
  const size_t token = shape.bytes_per_token();
  auto prealloc = make_kv_cache(CacheStrategy::kPrealloc, shape);
  auto concat = make_kv_cache(CacheStrategy::kConcat, shape);
  auto paged = make_kv_cache(CacheStrategy::kPaged, shape);
  const auto rows = testing::random_floats(5 * shape.kv_dim, 3);
  for (auto* cache : {prealloc.get(), concat.get(), paged.get()}) {
    ASSERT_TRUE(cache->reserve(0, 10));
    for (int layer = 0; layer < shape.n_layers; ++layer)
      cache->write(layer, 0, 0, 5, rows.data(), rows.data());
  }
  EXPECT_EQ(prealloc->bytes_reserved(), 10 * token);  // the whole reservation
  EXPECT_EQ(concat->bytes_reserved(), 5 * token);     // exactly the rows written
  EXPECT_EQ(paged->bytes_reserved(), 12 * token);     // three blocks of four
  for (auto* cache : {prealloc.get(), concat.get(), paged.get()})
    EXPECT_EQ(cache->bytes_used(), 5 * token);
  EXPECT_EQ(paged->pool_stats().blocks_total, 8);  // the default budget: 2 slots of 16 positions
  EXPECT_EQ(paged->pool_stats().blocks_used, 3);
}

// A session fed a token at a time grows its reservation by one each step: prealloc doubles it
// instead (up to the context, and as the budget allows), keeping the rows written.
TEST(KvCache, PreallocContinuationsDoubleTheirReservation) {
  KvShape shape = small_shape(KvType::kF32);
  const size_t token = shape.bytes_per_token();
  auto cache = make_kv_cache(CacheStrategy::kPrealloc, shape);
  const auto rows = testing::random_floats(3 * shape.kv_dim, 9);
  ASSERT_TRUE(cache->reserve(0, 3));
  EXPECT_EQ(cache->bytes_reserved(), 3 * token);  // a request's first reservation: exact
  for (int layer = 0; layer < shape.n_layers; ++layer)
    cache->write(layer, 0, 0, 3, rows.data(), rows.data());
  ASSERT_TRUE(cache->reserve(0, 4));
  EXPECT_EQ(cache->bytes_reserved(), 6 * token);
  ASSERT_TRUE(cache->reserve(0, 7));
  EXPECT_EQ(cache->bytes_reserved(), 12 * token);
  ASSERT_TRUE(cache->reserve(0, 13));
  EXPECT_EQ(cache->bytes_reserved(), 16 * token);  // the context
  const std::vector<float> want(rows.begin() + 2 * shape.kv_dim, rows.end());
  EXPECT_EQ(read_row(cache->view(2, 0), true, 2, shape.kv_dim), want);
  EXPECT_EQ(read_row(cache->view(2, 0), false, 2, shape.kv_dim), want);

  shape.budget_bytes = 8 * token;
  auto tight = make_kv_cache(CacheStrategy::kPrealloc, shape);
  ASSERT_TRUE(tight->reserve(0, 5));
  ASSERT_TRUE(tight->reserve(0, 6));
  EXPECT_EQ(tight->bytes_reserved(), 6 * token);  // ten would pass the budget
}

TEST(KvCache, BudgetsBoundWhatCanBeReserved) {
  KvShape shape = small_shape(KvType::kF32);
  shape.budget_bytes = 20 * shape.bytes_per_token();
  for (CacheStrategy s :
       {CacheStrategy::kConcat, CacheStrategy::kPrealloc, CacheStrategy::kPaged}) {
    auto cache = make_kv_cache(s, shape);
    EXPECT_TRUE(cache->reserve(0, 12)) << strategy_name(s);
    EXPECT_FALSE(cache->reserve(1, 12)) << strategy_name(s);
    EXPECT_TRUE(cache->reserve(1, 8)) << strategy_name(s);
    EXPECT_TRUE(cache->could_fit(20)) << strategy_name(s);
    EXPECT_FALSE(cache->could_fit(21)) << strategy_name(s);
    cache->release(0);
    EXPECT_TRUE(cache->reserve(1, 16)) << strategy_name(s);
  }
}

// The paged pool's prefix index: full blocks found by their chained hash and verified, shared by
// reference, kept in LRU order once unreferenced, evicted when the pool needs them.
TEST(PagedKvCache, ReusesIndexedBlocksAndEvictsTheLeastRecentlyUsed) {
  KvShape shape = small_shape(KvType::kF32);
  shape.prefix_cache = true;
  shape.budget_bytes = 4 * 4 * shape.bytes_per_token();  // four blocks
  auto cache = make_kv_cache(CacheStrategy::kPaged, shape);
  const std::vector<int32_t> tokens = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  const auto rows = testing::random_floats(10 * shape.kv_dim, 5);
  ASSERT_TRUE(cache->reserve(0, 10));
  for (int layer = 0; layer < shape.n_layers; ++layer)
    cache->write(layer, 0, 0, 10, rows.data(), rows.data());
  cache->commit(0, tokens);
  // Slot 1 shares both full blocks of the same prompt, and the rows read back are the same memory.
  EXPECT_EQ(cache->reuse_prefix(1, tokens), 8);
  EXPECT_EQ(cache->block_table(1)[0], cache->block_table(0)[0]);
  EXPECT_EQ(cache->view(0, 1).key(5), cache->view(0, 0).key(5));
  EXPECT_EQ(cache->pool_stats().blocks_used, 3);
  const int32_t first = cache->block_table(0)[0];
  EXPECT_EQ(cache->block_states()[first].refs, 2);
  // A prompt that differs in its second block shares only the first; one of 8 tokens only one
  // block.
  cache->release(1);
  EXPECT_EQ(cache->reuse_prefix(1, std::vector<int32_t>{1, 2, 3, 4, 5, 6, 0, 8, 9}), 4);
  cache->release(1);
  EXPECT_EQ(cache->reuse_prefix(1, std::vector<int32_t>{1, 2, 3, 4, 5, 6, 7, 8}), 4);
  cache->release(1);
  cache->release(0);
  EXPECT_EQ(cache->pool_stats().blocks_used, 0);
  EXPECT_EQ(cache->pool_stats().blocks_cached, 2);
  const std::vector<BlockState> kept = cache->block_states();
  ASSERT_EQ(kept.size(), 4u);
  EXPECT_TRUE(kept[first].cached);
  EXPECT_EQ(kept[first].refs, 0);
  // Taking all four blocks evicts both cached ones; the prefix is gone.
  ASSERT_TRUE(cache->reserve(0, 16));
  EXPECT_EQ(cache->pool_stats().evictions, 2);
  int evicted = 0;
  for (const BlockState& b : cache->block_states()) {
    EXPECT_EQ(b.refs, 1);
    EXPECT_FALSE(b.cached);
    evicted += static_cast<int>(b.evictions);
  }
  EXPECT_EQ(evicted, 2);
  EXPECT_FALSE(cache->reserve(1, 1));
  cache->release(0);
  EXPECT_EQ(cache->reuse_prefix(1, tokens), 0);
  EXPECT_EQ(cache->bytes_reserved(), 0u);
}

// Blocks behind a sliding window go back to the pool: the table keeps its positions, the rows
// after them read as written, nothing is given back twice, and a block another sequence shares or
// the prefix index holds stays with it.
TEST(PagedKvCache, DroppedBlocksGoBackOnceAndLeaveTheRestReadable) {
  KvShape shape = small_shape(KvType::kF32);
  shape.prefix_cache = true;
  auto cache = make_kv_cache(CacheStrategy::kPaged, shape);  // 8 blocks of 4
  const std::vector<int32_t> tokens = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const auto rows = testing::random_floats(12 * shape.kv_dim, 6);
  ASSERT_TRUE(cache->reserve(0, 12));
  for (int layer = 0; layer < shape.n_layers; ++layer)
    cache->write(layer, 0, 0, 12, rows.data(), rows.data());
  cache->commit(0, tokens);
  const std::vector<int32_t> table(cache->block_table(0).begin(), cache->block_table(0).end());
  ASSERT_EQ(cache->reuse_prefix(1, tokens), 8);  // slot 1 shares blocks 0 and 1
  cache->drop_before(0, 9);                      // positions 0..7: blocks 0 and 1
  cache->drop_before(0, 9);                      // again: nothing more
  EXPECT_EQ(cache->block_table(0).size(), 1u);
  EXPECT_EQ(cache->block_table(0)[0], table[2]);
  EXPECT_EQ(cache->pool_stats().blocks_used, 3);  // slot 1 still holds the shared ones
  for (int pos = 8; pos < 12; ++pos)
    EXPECT_EQ(read_row(cache->view(1, 0), true, pos, shape.kv_dim),
              std::vector<float>(&rows[pos * shape.kv_dim], &rows[(pos + 1) * shape.kv_dim]));
  EXPECT_THROW(cache->write(0, 0, 4, 1, rows.data(), rows.data()), Error);  // a dropped block
  cache->release(1);
  // Unreferenced, the dropped blocks stay indexed with their rows: a prompt of the same prefix
  // still finds them.
  EXPECT_EQ(cache->pool_stats().blocks_used, 1);
  EXPECT_EQ(cache->pool_stats().blocks_cached, 2);
  EXPECT_EQ(cache->reuse_prefix(1, tokens), 8);
  EXPECT_EQ(cache->block_table(1)[0], table[0]);
  cache->release(1);
  cache->drop_before(0, 12);  // the last block too
  EXPECT_EQ(cache->pool_stats().blocks_used, 0);
  EXPECT_EQ(cache->bytes_used(), 0u);
  cache->release(0);
  EXPECT_EQ(cache->pool_stats().blocks_used, 0);
  EXPECT_EQ(cache->pool_stats().blocks_cached, 3);
  // Every block can be taken again, each by one sequence.
  ASSERT_TRUE(cache->reserve(0, 16));
  ASSERT_TRUE(cache->reserve(1, 16));
  std::vector<int32_t> taken(cache->block_table(0).begin(), cache->block_table(0).end());
  taken.insert(taken.end(), cache->block_table(1).begin(), cache->block_table(1).end());
  std::sort(taken.begin(), taken.end());
  EXPECT_EQ(std::unique(taken.begin(), taken.end()), taken.end());
  EXPECT_EQ(taken.size(), 8u);
  EXPECT_EQ(cache->pool_stats().evictions, 3);
}

// Once the dropped blocks of a sequence are evicted, the prefix they began is gone: no prompt is
// offered the later blocks that the sequence still holds and indexes.
TEST(PagedKvCache, APrefixWhoseDroppedBlocksWereEvictedIsNotOffered) {
  KvShape shape = small_shape(KvType::kF32);
  shape.prefix_cache = true;
  shape.budget_bytes = 4 * 4 * shape.bytes_per_token();  // four blocks
  auto cache = make_kv_cache(CacheStrategy::kPaged, shape);
  std::vector<int32_t> tokens = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const auto rows = testing::random_floats(16 * shape.kv_dim, 7);
  ASSERT_TRUE(cache->reserve(0, 12));
  for (int layer = 0; layer < shape.n_layers; ++layer)
    cache->write(layer, 0, 0, 12, rows.data(), rows.data());
  cache->commit(0, tokens);
  cache->drop_before(0, 8);
  EXPECT_EQ(cache->pool_stats().blocks_cached, 2);
  ASSERT_TRUE(cache->reserve(1, 12));  // takes the free block and evicts both dropped ones
  EXPECT_EQ(cache->pool_stats().evictions, 2);
  cache->release(1);
  EXPECT_EQ(cache->reuse_prefix(1, tokens), 0);
  // The sequence grows on and indexes its next block after the ones it dropped.
  ASSERT_TRUE(cache->reserve(0, 16));
  for (int layer = 0; layer < shape.n_layers; ++layer)
    cache->write(layer, 0, 12, 4, &rows[12 * shape.kv_dim], &rows[12 * shape.kv_dim]);
  for (int32_t t : {13, 14, 15, 16}) tokens.push_back(t);
  cache->commit(0, tokens);
  EXPECT_EQ(cache->reuse_prefix(1, tokens), 0);
  cache->release(0);
  EXPECT_EQ(cache->pool_stats().blocks_used, 0);
  EXPECT_EQ(cache->pool_stats().blocks_cached, 2);
}

TEST(KvCache, OnlyNoneForgetsBetweenSteps) {
  for (CacheStrategy s : kStrategies)
    EXPECT_EQ(make_kv_cache(s, small_shape(KvType::kF32))->keeps_history(),
              s != CacheStrategy::kNone);
}

TEST(KvCache, WritingPastTheContextOrTheReservationIsAnError) {
  for (CacheStrategy s : kStrategies) {
    auto cache = make_kv_cache(s, small_shape(KvType::kF32));
    const auto rows = testing::random_floats(17 * 32, 4);
    EXPECT_THROW(cache->write(0, 0, 10, 7, rows.data(), rows.data()), Error) << strategy_name(s);
    EXPECT_THROW(cache->write(0, 2, 0, 1, rows.data(), rows.data()), Error) << strategy_name(s);
  }
  for (CacheStrategy s : {CacheStrategy::kPrealloc, CacheStrategy::kPaged}) {
    auto cache = make_kv_cache(s, small_shape(KvType::kF32));
    const auto rows = testing::random_floats(8 * 32, 4);
    ASSERT_TRUE(cache->reserve(0, 3));
    EXPECT_THROW(cache->write(0, 0, 0, 8, rows.data(), rows.data()), Error) << strategy_name(s);
  }
}

TEST(KvCache, ParsesNames) {
  EXPECT_EQ(parse_strategy("none"), CacheStrategy::kNone);
  EXPECT_EQ(parse_strategy("paged"), CacheStrategy::kPaged);
  EXPECT_THROW(parse_strategy("radix"), Error);
  EXPECT_EQ(parse_kv_type("q8_0"), KvType::kQ8_0);
  EXPECT_THROW(parse_kv_type("q3"), Error);
}

}  // namespace
}  // namespace kvscope
