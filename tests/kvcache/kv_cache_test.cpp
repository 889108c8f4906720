#include "kvcache/kv_cache.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/half.h"
#include "random_tensors.h"

namespace kvscope {
namespace {

constexpr CacheStrategy kStrategies[] = {CacheStrategy::kNone, CacheStrategy::kConcat,
                                          CacheStrategy::kPrealloc};

KvShape small_shape(KvType type) { return {3, 8, 2, 16, type}; }

float read_value(const KvView& v, bool key, int pos, int i, int kv_dim) {
  const uint8_t* base = key ? v.k : v.v;
  if (v.type == KvType::kF32) return reinterpret_cast<const float*>(base)[pos * kv_dim + i];
  return f16_to_f32(reinterpret_cast<const uint16_t*>(base)[pos * kv_dim + i]);
}

TEST(KvCache, EveryStrategyReturnsWhatWasWritten) {
  for (KvType type : {KvType::kF32, KvType::kF16}) {
    for (CacheStrategy s : kStrategies) {
      const KvShape shape = small_shape(type);
      auto cache = make_kv_cache(s, shape);
      const auto k = testing::random_floats(5 * shape.kv_dim, 1), v = testing::random_floats(5 * shape.kv_dim, 2);
      // Two appends per layer to sequence 1: positions 0..2, then 3..4.
      for (int layer = 0; layer < shape.n_layers; ++layer) cache->write(layer, 1, 0, 3, k.data(), v.data());
      for (int layer = 0; layer < shape.n_layers; ++layer)
        cache->write(layer, 1, 3, 2, &k[3 * shape.kv_dim], &v[3 * shape.kv_dim]);
      EXPECT_EQ(cache->length(1), 5);
      EXPECT_EQ(cache->length(0), 0);
      for (int layer = 0; layer < shape.n_layers; ++layer) {
        const KvView view = cache->view(layer, 1, 5);
        for (int pos = 0; pos < 5; ++pos)
          for (int i = 0; i < shape.kv_dim; ++i) {
            const float want_k = k[pos * shape.kv_dim + i], want_v = v[pos * shape.kv_dim + i];
            const float tol = type == KvType::kF16 ? 1e-3f * (1 + std::fabs(want_k) + std::fabs(want_v)) : 0.0f;
            ASSERT_NEAR(read_value(view, true, pos, i, shape.kv_dim), want_k, tol) << strategy_name(s);
            ASSERT_NEAR(read_value(view, false, pos, i, shape.kv_dim), want_v, tol) << strategy_name(s);
          }
      }
      EXPECT_EQ(cache->bytes_used(), 5 * shape.bytes_per_token());
    }
  }
}

TEST(KvCache, BytesReservedFollowTheStrategy) {
  const KvShape shape = small_shape(KvType::kF16);
  auto prealloc = make_kv_cache(CacheStrategy::kPrealloc, shape);
  auto concat = make_kv_cache(CacheStrategy::kConcat, shape);
  EXPECT_EQ(prealloc->bytes_reserved(), shape.bytes_per_token() * shape.n_ctx * shape.n_seqs);
  EXPECT_EQ(concat->bytes_reserved(), 0u);
  const auto rows = testing::random_floats(4 * shape.kv_dim, 3);
  for (int layer = 0; layer < shape.n_layers; ++layer) concat->write(layer, 0, 0, 4, rows.data(), rows.data());
  EXPECT_EQ(concat->bytes_reserved(), 4 * shape.bytes_per_token());
  concat->truncate(0, 1);
  EXPECT_EQ(concat->bytes_reserved(), 1 * shape.bytes_per_token());
  EXPECT_EQ(concat->length(0), 1);
}

TEST(KvCache, OnlyNoneForgetsBetweenSteps) {
  for (CacheStrategy s : kStrategies)
    EXPECT_EQ(make_kv_cache(s, small_shape(KvType::kF32))->keeps_history(), s != CacheStrategy::kNone);
}

TEST(KvCache, WritingPastTheContextIsAnError) {
  for (CacheStrategy s : kStrategies) {
    auto cache = make_kv_cache(s, small_shape(KvType::kF32));
    const auto rows = testing::random_floats(17 * 8, 4);
    EXPECT_THROW(cache->write(0, 0, 10, 7, rows.data(), rows.data()), Error) << strategy_name(s);
  }
}

TEST(KvCache, ParsesNames) {
  EXPECT_EQ(parse_strategy("none"), CacheStrategy::kNone);
  EXPECT_EQ(parse_strategy("prealloc"), CacheStrategy::kPrealloc);
  EXPECT_THROW(parse_strategy("paged"), Error);
  EXPECT_EQ(parse_kv_type("f16"), KvType::kF16);
  EXPECT_THROW(parse_kv_type("q3"), Error);
}

}  // namespace
}  // namespace kvscope
