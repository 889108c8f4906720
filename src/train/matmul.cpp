#include "train/matmul.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <vector>

#include "train/lanes.h"

namespace kvscope::train {
namespace {

// A register tile is Rows × 2 vectors of c, kept in registers while k runs. AVX-512's 32
// registers hold 12 × 2 accumulators, 2 operands of b and a broadcast of a; AVX2's 16 hold 6 × 2.
template <class V>
constexpr int64_t kCols = 2 * sizeof(V) / sizeof(float);
template <class V>
constexpr int kRows = sizeof(V) == 64 ? 12 : 6;

float a_at(const GemmArgs& g, int64_t i, int64_t k) { return g.a[i * g.a_row + k * g.a_col]; }
float b_at(const GemmArgs& g, int64_t k, int64_t j) { return g.b[k * g.b_row + j * g.b_col]; }

// Scratch that keeps its memory from call to call, aligned for whole-vector loads.
class Scratch {
 public:
  float* get(int64_t n) {
    if (static_cast<int64_t>(data_.size()) < n + 16) data_.resize(static_cast<size_t>(n + 16));
    auto address = reinterpret_cast<uintptr_t>(data_.data());
    return data_.data() + (-(address / sizeof(float)) & 15);
  }

 private:
  std::vector<float> data_;
};

// b's columns [j0, j0 + kCols) as one panel of k rows × kCols (zeros past n), so that the
// tile reads it as one contiguous stream whatever b's strides.
template <class V>
void pack_b_panel(const GemmArgs& g, int64_t j0, float* panel) {
  const int64_t cols = std::min(kCols<V>, g.n - j0);
  if (g.b_col == 1) {
    for (int64_t k = 0; k < g.k; ++k) {
      float* row = panel + k * kCols<V>;
      std::memcpy(row, g.b + k * g.b_row + j0, cols * sizeof(float));
      std::fill(row + cols, row + kCols<V>, 0.0f);
    }
    return;
  }
  for (int64_t j = 0; j < kCols<V>; ++j)
    for (int64_t k = 0; k < g.k; ++k)
      panel[k * kCols<V> + j] = j < cols ? b_at(g, k, j0 + j) : 0.0f;
}

// a's rows [i0, i0 + rows) as k columns of kRows (a(i0 + r, k) at panel[k * kRows + r]).
template <class V>
void pack_a_panel(const GemmArgs& g, int64_t i0, int64_t rows, float* panel) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < g.k; ++k) panel[k * kRows<V> + r] = a_at(g, i0 + r, k);
}

// c[r * ldc + j] (+)= Σ_k a[k * a_step + r] · b[k * kCols + j] for r < Rows, j < kCols, summing
// k in order from c's value (load) or zero.
template <class V, int Rows>
[[gnu::always_inline]] inline void tile(const float* a, int64_t a_step, const float* b, int64_t k,
                                        float* c, int64_t ldc, bool load) {
  // (Loads and stores are memcpy: a function taking or returning vectors would change the ABI.
  // Every loop over r is unrolled, so that GCC keeps each accumulator in a register.)
  V acc[Rows][2] = {};
  if (load)
#pragma GCC unroll 16
    for (int r = 0; r < Rows; ++r) std::memcpy(acc[r], c + r * ldc, sizeof acc[r]);
  for (int64_t kk = 0; kk < k; ++kk) {
    V b0, b1;
    std::memcpy(&b0, b + kk * kCols<V>, sizeof b0);
    std::memcpy(&b1, b + kk * kCols<V> + kCols<V> / 2, sizeof b1);
#pragma GCC unroll 16
    for (int r = 0; r < Rows; ++r) {
      const float x = a[kk * a_step + r];
      acc[r][0] += x * b0;
      acc[r][1] += x * b1;
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < Rows; ++r) std::memcpy(c + r * ldc, acc[r], sizeof acc[r]);
}

// The tile for the last block of rows, which may have fewer than kRows.
template <class V, int Rows>
[[gnu::always_inline]] inline void tile_rows(int64_t rows, const float* a, int64_t a_step,
                                             const float* b, int64_t k, float* c, int64_t ldc,
                                             bool load) {
  if constexpr (Rows > 1)
    if (rows < Rows) return tile_rows<V, Rows - 1>(rows, a, a_step, b, k, c, ldc, load);
  tile<V, Rows>(a, a_step, b, k, c, ldc, load);
}

// Rows [i0, i0 + rows) of c against every packed panel of b. A panel of columns past n goes
// through a small buffer, so that the tile always writes whole vectors.
template <class V>
[[gnu::always_inline]] inline void row_block(const GemmArgs& g, const float* packed_b, int64_t i0,
                                             int64_t rows, Scratch& a_scratch) {
  const float* a = g.a + i0 * g.a_row;
  int64_t a_step = g.a_col;
  if (g.a_row != 1) {  // rows of a are not contiguous columns: pack them
    float* panel = a_scratch.get(g.k * kRows<V>);
    pack_a_panel<V>(g, i0, rows, panel);
    a = panel;
    a_step = kRows<V>;
  }
  for (int64_t j0 = 0; j0 < g.n; j0 += kCols<V>) {
    const float* b = packed_b + j0 * g.k;
    float* c = g.c + i0 * g.c_row + j0;
    if (j0 + kCols<V> <= g.n) {
      tile_rows<V, kRows<V>>(rows, a, a_step, b, g.k, c, g.c_row, g.accumulate);
      continue;
    }
    const int64_t cols = g.n - j0;
    float edge[kRows<V> * kCols<V>] = {};
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(edge + r * kCols<V>, c + r * g.c_row, cols * sizeof(float));
    tile_rows<V, kRows<V>>(rows, a, a_step, b, g.k, edge, kCols<V>, g.accumulate);
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(c + r * g.c_row, edge + r * kCols<V>, cols * sizeof(float));
  }
}

template <class V>
[[gnu::always_inline]] inline void pack_b_panels(const GemmArgs& g, float* packed, int64_t begin,
                                                 int64_t end) {
  for (int64_t p = begin; p < end; ++p)
    pack_b_panel<V>(g, p * kCols<V>, packed + p * kCols<V> * g.k);
}

template <class V>
[[gnu::always_inline]] inline void row_blocks(const GemmArgs& g, const float* packed, int64_t begin,
                                              int64_t end) {
  thread_local Scratch a_scratch;
  for (int64_t block = begin; block < end; ++block) {
    const int64_t i0 = block * kRows<V>;
    row_block<V>(g, packed, i0, std::min<int64_t>(kRows<V>, g.m - i0), a_scratch);
  }
}

// One instruction set's halves of a gemm: packing panels [begin, end) of b, and computing blocks
// [begin, end) of kRows rows of c from the packed panels.
struct GemmSteps {
  int64_t cols, rows;
  void (*pack)(const GemmArgs& g, float* packed, int64_t begin, int64_t end);
  void (*compute)(const GemmArgs& g, const float* packed, int64_t begin, int64_t end);
};

void pack_scalar(const GemmArgs& g, float* packed, int64_t begin, int64_t end) {
  pack_b_panels<Lanes8>(g, packed, begin, end);
}
void rows_scalar(const GemmArgs& g, const float* packed, int64_t begin, int64_t end) {
  row_blocks<Lanes8>(g, packed, begin, end);
}
[[gnu::target("avx2,fma")]] void pack_avx2(const GemmArgs& g, float* packed, int64_t begin,
                                           int64_t end) {
  pack_b_panels<Lanes8>(g, packed, begin, end);
}
[[gnu::target("avx2,fma")]] void rows_avx2(const GemmArgs& g, const float* packed, int64_t begin,
                                           int64_t end) {
  row_blocks<Lanes8>(g, packed, begin, end);
}
[[gnu::target("avx512f,avx2,fma")]] void pack_avx512(const GemmArgs& g, float* packed,
                                                     int64_t begin, int64_t end) {
  pack_b_panels<Lanes16>(g, packed, begin, end);
}
[[gnu::target("avx512f,avx2,fma")]] void rows_avx512(const GemmArgs& g, const float* packed,
                                                     int64_t begin, int64_t end) {
  row_blocks<Lanes16>(g, packed, begin, end);
}

GemmSteps steps_for(Isa isa) {
  if (isa == Isa::kAvx512) return {kCols<Lanes16>, kRows<Lanes16>, pack_avx512, rows_avx512};
  if (isa == Isa::kAvx2) return {kCols<Lanes8>, kRows<Lanes8>, pack_avx2, rows_avx2};
  return {kCols<Lanes8>, kRows<Lanes8>, pack_scalar, rows_scalar};
}

// b packed into panels (shared), then blocks of rows (each packing its own rows of a where they
// are strided), both split over the pool if there is one.
void run_gemm(ThreadPool* pool, const GemmArgs& g, const GemmSteps& steps) {
  if (g.m == 0 || g.n == 0) return;
  const auto split = [pool](int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
    if (pool != nullptr) return pool->parallel_for(n, fn);
    fn(0, n);
  };
  thread_local Scratch b_scratch;
  const int64_t panels = (g.n + steps.cols - 1) / steps.cols;
  float* packed = b_scratch.get(panels * steps.cols * g.k);
  split(panels, [&](int64_t begin, int64_t end) { steps.pack(g, packed, begin, end); });
  split((g.m + steps.rows - 1) / steps.rows,
        [&](int64_t begin, int64_t end) { steps.compute(g, packed, begin, end); });
}

}  // namespace

void gemm(ThreadPool& pool, const GemmArgs& args, Isa isa) {
  run_gemm(&pool, args, steps_for(isa));
}

void gemm(ThreadPool& pool, const GemmArgs& args) { gemm(pool, args, kernels().isa); }

void gemm(const GemmArgs& args) { run_gemm(nullptr, args, steps_for(kernels().isa)); }

void gemm_reference(const GemmArgs& g) {
  for (int64_t i = 0; i < g.m; ++i)
    for (int64_t j = 0; j < g.n; ++j) {
      float& c = g.c[i * g.c_row + j];
      double sum = g.accumulate ? c : 0.0;
      for (int64_t k = 0; k < g.k; ++k) sum += double(a_at(g, i, k)) * b_at(g, k, j);
      c = static_cast<float>(sum);
    }
}

void linear_forward(ThreadPool& pool, const float* x, const float* w, int64_t n, int64_t in,
                    int64_t out, float* y) {
  // b = wᵀ, read in place (packing transposes it).
  gemm(pool, {.m = n,
              .n = out,
              .k = in,
              .a = x,
              .a_row = in,
              .b = w,
              .b_row = 1,
              .b_col = in,
              .c = y,
              .c_row = out});
}

void linear_backward_input(ThreadPool& pool, const float* dy, const float* w, int64_t n, int64_t in,
                           int64_t out, float* dx, bool accumulate) {
  gemm(pool, {.m = n,
              .n = in,
              .k = out,
              .a = dy,
              .a_row = out,
              .b = w,
              .b_row = in,
              .c = dx,
              .c_row = in,
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
              .b_row = in,
              .c = dw,
              .c_row = in,
              .accumulate = true});
}

}  // namespace kvscope::train
