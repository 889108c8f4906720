#pragma once
// Attention's weighted sum of value rows (ref::weighted_rows) on one instruction set's vectors,
// shared by avx2.cpp and avx512.cpp, each compiling it for its own target. S describes the
// vectors: S::V, S::kLanes, zero(), broadcast(x), fma(a, b, c) = a b + c, store(p, v), and
// load<T>(row, i): values i .. i + kLanes - 1 of a row as stored, widened as the scalar
// definitions do.
#include <algorithm>
#include <cstdint>

#include "core/dtype.h"
#include "kernels/cpu/tile_shape.h"

namespace kvscope {

// Columns [i, i + kLanes Q) of G heads' weighted sums, their accumulators held in registers over
// all rows: one FMA per term in row order, as a chain of axpy calls would make it.
template <class S, DType T, int G, int Q>
[[gnu::always_inline]] inline void weighted_rows_tile(const uint8_t* const* rows, int64_t count,
                                                      const float* weights, int64_t weight_stride,
                                                      int64_t i, float* out, int64_t out_stride) {
  typename S::V acc[G][Q];
  for (int g = 0; g < G; ++g)
    for (int q = 0; q < Q; ++q) acc[g][q] = S::zero();
  for (int64_t j = 0; j < count; ++j) {
    typename S::V v[Q];
    for (int q = 0; q < Q; ++q) v[q] = S::template load<T>(rows[j], i + S::kLanes * q);
    for (int g = 0; g < G; ++g) {
      const typename S::V w = S::broadcast(weights[g * weight_stride + j]);
      for (int q = 0; q < Q; ++q) acc[g][q] = S::fma(w, v[q], acc[g][q]);
    }
  }
  for (int g = 0; g < G; ++g)
    for (int q = 0; q < Q; ++q) S::store(out + g * out_stride + i + S::kLanes * q, acc[g][q]);
}

// Tiles of up to MaxGroup heads by MaxVectors vectors of columns (n a multiple of S::kLanes).
template <class S, int MaxGroup, int MaxVectors>
void weighted_rows_by_tiles(DType type, const uint8_t* const* rows, int64_t count,
                            const float* weights, int64_t weight_stride, int group, int64_t n,
                            float* out, int64_t out_stride) {
  for (int g = 0; g < group; g += MaxGroup)
    for (int64_t i = 0; i < n; i += S::kLanes * MaxVectors) {
      const int heads = std::min(MaxGroup, group - g);
      const int vectors = static_cast<int>(std::min<int64_t>(MaxVectors, (n - i) / S::kLanes));
      const float* w = weights + g * weight_stride;
      float* o = out + g * out_stride;
      with_tile_shape<MaxGroup, MaxVectors>(heads, vectors, [&]<int G, int Q>() {
        switch (type) {
          case DType::kF16:
            return weighted_rows_tile<S, DType::kF16, G, Q>(rows, count, w, weight_stride, i, o,
                                                            out_stride);
          case DType::kQ8_0:
            return weighted_rows_tile<S, DType::kQ8_0, G, Q>(rows, count, w, weight_stride, i, o,
                                                             out_stride);
          default:
            return weighted_rows_tile<S, DType::kF32, G, Q>(rows, count, w, weight_stride, i, o,
                                                            out_stride);
        }
      });
    }
}

}  // namespace kvscope
