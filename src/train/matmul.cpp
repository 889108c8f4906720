#include "train/matmul.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace kvscope::train {
namespace {

// Eight or sixteen f32 lanes; GCC turns arithmetic on them into one AVX or AVX-512 register
// operation in the functions compiled for those targets, into SSE pairs in the scalar build.
typedef float Lanes8 __attribute__((vector_size(32)));
typedef float Lanes16 __attribute__((vector_size(64)));
constexpr int kTileRows = 6;
// A tile is two vectors wide: 6 × 2 accumulators, 2 operands and a broadcast fill 15 of AVX2's 16
// registers (AVX-512's 32 leave room, but 6 rows measured best there too).
template <class V>
constexpr int64_t kTileCols = 2 * sizeof(V) / sizeof(float);

float a_at(const GemmArgs& g, int64_t i, int64_t k) { return g.a[i * g.a_row + k * g.a_col]; }

// Rows [i0, i0 + Rows) × columns [j0, j0 + kTileCols<V>) of c, summing k in order.
template <class V, int Rows>
[[gnu::always_inline]] inline void full_tile(const GemmArgs& g, int64_t i0, int64_t j0) {
  // (Loads and stores are memcpy: a function taking or returning vectors would change the ABI.)
  V acc[Rows][2] = {};
  if (g.accumulate)
    for (int r = 0; r < Rows; ++r) std::memcpy(acc[r], g.c + (i0 + r) * g.n + j0, sizeof acc[r]);
  for (int64_t k = 0; k < g.k; ++k) {
    V b[2];
    std::memcpy(b, g.b + k * g.n + j0, sizeof b);
    for (int r = 0; r < Rows; ++r) {
      const float a = a_at(g, i0 + r, k);
      acc[r][0] += a * b[0];
      acc[r][1] += a * b[1];
    }
  }
  for (int r = 0; r < Rows; ++r) std::memcpy(g.c + (i0 + r) * g.n + j0, acc[r], sizeof acc[r]);
}

// The last block of rows may have fewer than kTileRows.
template <class V, int Rows>
[[gnu::always_inline]] inline void partial_tile(const GemmArgs& g, int64_t i0, int64_t j0,
                                                int64_t rows) {
  if constexpr (Rows > 1)
    if (rows < Rows) return partial_tile<V, Rows - 1>(g, i0, j0, rows);
  full_tile<V, Rows>(g, i0, j0);
}

// Row blocks [begin, end) of c over the whole column strips of width kTileCols<V> from column j0,
// strip by strip, so that a strip of b stays in cache while the blocks' rows of a stream past it.
// Returns the first column left.
template <class V>
[[gnu::always_inline]] inline int64_t column_strips(const GemmArgs& g, int64_t begin, int64_t end,
                                                    int64_t j0) {
  constexpr int64_t cols = kTileCols<V>;
  for (; j0 + cols <= g.n; j0 += cols)
    for (int64_t block = begin; block < end; ++block) {
      const int64_t i0 = block * kTileRows;
      partial_tile<V, kTileRows>(g, i0, j0, std::min<int64_t>(kTileRows, g.m - i0));
    }
  return j0;
}

// The columns from j0 on, one element at a time, in the same k order.
void edge_columns(const GemmArgs& g, int64_t begin, int64_t end, int64_t j0) {
  for (int64_t i = begin * kTileRows; i < std::min(end * kTileRows, g.m); ++i)
    for (int64_t j = j0; j < g.n; ++j) {
      float sum = g.accumulate ? g.c[i * g.n + j] : 0.0f;
      for (int64_t k = 0; k < g.k; ++k) sum += a_at(g, i, k) * g.b[k * g.n + j];
      g.c[i * g.n + j] = sum;
    }
}

void gemm_blocks_scalar(const GemmArgs& g, int64_t begin, int64_t end) {
  edge_columns(g, begin, end, column_strips<Lanes8>(g, begin, end, 0));
}

[[gnu::target("avx2,fma")]] void gemm_blocks_avx2(const GemmArgs& g, int64_t begin, int64_t end) {
  edge_columns(g, begin, end, column_strips<Lanes8>(g, begin, end, 0));
}

[[gnu::target("avx512f,avx2,fma")]] void gemm_blocks_avx512(const GemmArgs& g, int64_t begin,
                                                            int64_t end) {
  const int64_t j0 = column_strips<Lanes16>(g, begin, end, 0);
  edge_columns(g, begin, end, column_strips<Lanes8>(g, begin, end, j0));
}

}  // namespace

void gemm(ThreadPool& pool, const GemmArgs& args, Isa isa) {
  const auto blocks_fn = isa == Isa::kAvx512 ? gemm_blocks_avx512
                         : isa == Isa::kAvx2 ? gemm_blocks_avx2
                                             : gemm_blocks_scalar;
  const int64_t blocks = (args.m + kTileRows - 1) / kTileRows;
  pool.parallel_for(blocks, [&](int64_t begin, int64_t end) { blocks_fn(args, begin, end); });
}

void gemm(ThreadPool& pool, const GemmArgs& args) { gemm(pool, args, kernels().isa); }

void gemm_reference(const GemmArgs& g) {
  for (int64_t i = 0; i < g.m; ++i)
    for (int64_t j = 0; j < g.n; ++j) {
      double sum = g.accumulate ? g.c[i * g.n + j] : 0.0;
      for (int64_t k = 0; k < g.k; ++k) sum += double(a_at(g, i, k)) * g.b[k * g.n + j];
      g.c[i * g.n + j] = static_cast<float>(sum);
    }
}

void linear_forward(ThreadPool& pool, const float* x, const float* w, int64_t n, int64_t in,
                    int64_t out, float* y) {
  // b must be [in][out]: wᵀ, copied once (in × out, small beside n × in × out).
  std::vector<float> wt(static_cast<size_t>(in * out));
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) wt[i * out + o] = w[o * in + i];
  gemm(pool, {.m = n, .n = out, .k = in, .a = x, .a_row = in, .b = wt.data(), .c = y});
}

void linear_backward_input(ThreadPool& pool, const float* dy, const float* w, int64_t n, int64_t in,
                           int64_t out, float* dx, bool accumulate) {
  gemm(pool, {.m = n,
              .n = in,
              .k = out,
              .a = dy,
              .a_row = out,
              .b = w,
              .c = dx,
              .accumulate = accumulate});
}

void linear_backward_weight(ThreadPool& pool, const float* dy, const float* x, int64_t n,
                            int64_t in, int64_t out, float* dw) {
  gemm(pool, {.m = out,
              .n = in,
              .k = n,
              .a = dy,
              .a_row = 1,
              .a_col = out,
              .b = x,
              .c = dw,
              .accumulate = true});
}

}  // namespace kvscope::train
