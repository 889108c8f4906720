#include "train/matmul.h"

#include <cstring>
#include <vector>

namespace kvscope::train {
namespace {

// Eight f32 lanes; GCC and Clang turn arithmetic on it into one AVX register operation where the
// target has AVX, into SSE pairs elsewhere.
typedef float Lanes __attribute__((vector_size(32)));
constexpr int kTileRows = 6;
constexpr int kTileCols = 16;  // two vectors: 6 × 2 accumulators, 2 operands and a broadcast fill
                               // 15 of AVX2's 16 registers

float a_at(const GemmArgs& g, int64_t i, int64_t k) { return g.a[i * g.a_row + k * g.a_col]; }

// Rows [i0, i0 + Rows) × columns [j0, j0 + 16) of c, summing k in order.
template <int Rows>
[[gnu::always_inline]] inline void full_tile(const GemmArgs& g, int64_t i0, int64_t j0) {
  // (Loads and stores are memcpy: a function taking or returning Lanes would change the ABI.)
  Lanes acc[Rows][2] = {};
  if (g.accumulate)
    for (int r = 0; r < Rows; ++r) std::memcpy(acc[r], g.c + (i0 + r) * g.n + j0, sizeof acc[r]);
  for (int64_t k = 0; k < g.k; ++k) {
    Lanes b[2];
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
template <int Rows>
[[gnu::always_inline]] inline void partial_tile(const GemmArgs& g, int64_t i0, int64_t j0,
                                                int64_t rows) {
  if constexpr (Rows > 1)
    if (rows < Rows) return partial_tile<Rows - 1>(g, i0, j0, rows);
  full_tile<Rows>(g, i0, j0);
}

// The columns past the last full tile, one element at a time, in the same k order.
void edge_columns(const GemmArgs& g, int64_t i0, int64_t rows, int64_t j0) {
  for (int64_t i = i0; i < i0 + rows; ++i)
    for (int64_t j = j0; j < g.n; ++j) {
      float sum = g.accumulate ? g.c[i * g.n + j] : 0.0f;
      for (int64_t k = 0; k < g.k; ++k) sum += a_at(g, i, k) * g.b[k * g.n + j];
      g.c[i * g.n + j] = sum;
    }
}

// Row blocks [begin, end) of c: column strip by column strip, so that a strip of b stays in
// cache while the blocks' rows of a stream past it.
__attribute__((target_clones("default", "arch=x86-64-v3"))) void gemm_blocks(const GemmArgs& g,
                                                                             int64_t begin,
                                                                             int64_t end) {
  const int64_t full_cols = g.n / kTileCols * kTileCols;
  for (int64_t j0 = 0; j0 < full_cols; j0 += kTileCols)
    for (int64_t block = begin; block < end; ++block) {
      const int64_t i0 = block * kTileRows;
      partial_tile<kTileRows>(g, i0, j0, std::min<int64_t>(kTileRows, g.m - i0));
    }
  if (full_cols == g.n) return;
  for (int64_t block = begin; block < end; ++block) {
    const int64_t i0 = block * kTileRows;
    edge_columns(g, i0, std::min<int64_t>(kTileRows, g.m - i0), full_cols);
  }
}

}  // namespace

void gemm(ThreadPool& pool, const GemmArgs& args) {
  const int64_t blocks = (args.m + kTileRows - 1) / kTileRows;
  pool.parallel_for(blocks, [&](int64_t begin, int64_t end) { gemm_blocks(args, begin, end); });
}

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
