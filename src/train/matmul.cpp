#include "train/matmul.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <vector>

#include "kernels/cpu/lanes.h"

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

// A panel of `depth` rows × Width: panel[k * Width + i] = src[i * i_step + k * k_step] for
// i < count, zeros past it, so that the tile reads a and b as contiguous streams whatever their
// strides. Reads run along whichever of i and k is contiguous in src; along k, 64 rows of the
// panel at a time, so that the rows being written stay in L1.
template <int64_t Width>
void pack_panel(const float* src, int64_t i_step, int64_t k_step, int64_t count, int64_t depth,
                float* panel) {
  if (i_step == 1) {
    for (int64_t k = 0; k < depth; ++k) {
      float* row = panel + k * Width;
      if (count == Width) {  // a copy of constant size, inlined rather than a call to memcpy
        std::memcpy(row, src + k * k_step, Width * sizeof(float));
      } else {
        std::memcpy(row, src + k * k_step, count * sizeof(float));
        std::fill(row + count, row + Width, 0.0f);
      }
    }
    return;
  }
  for (int64_t k0 = 0; k0 < depth; k0 += 64)
    for (int64_t i = 0; i < Width; ++i)
      for (int64_t k = k0; k < std::min(depth, k0 + 64); ++k)
        panel[k * Width + i] = i < count ? src[i * i_step + k * k_step] : 0.0f;
}

// c[r * ldc + j] (+)= Σ_k a[k * kRows + r] · b[k * kCols + j] for r < Rows, j < kCols, summing
// k in order from c's value (load) or zero.
template <class V, int Rows>
[[gnu::always_inline]] inline void tile(const float* a, const float* b, int64_t k, float* c,
                                        int64_t ldc, bool load) {
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
      const float x = a[kk * kRows<V> + r];
      acc[r][0] += x * b0;
      acc[r][1] += x * b1;
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < Rows; ++r) std::memcpy(c + r * ldc, acc[r], sizeof acc[r]);
}

// The tile for the last block of rows, which may have fewer than kRows.
template <class V, int Rows>
[[gnu::always_inline]] inline void tile_rows(int64_t rows, const float* a, const float* b,
                                             int64_t k, float* c, int64_t ldc, bool load) {
  if constexpr (Rows > 1)
    if (rows < Rows) return tile_rows<V, Rows - 1>(rows, a, b, k, c, ldc, load);
  tile<V, Rows>(a, b, k, c, ldc, load);
}

// Rows [i0, i0 + rows) of c against every packed panel of b, kKBlock steps of k at a time, so
// that the slices of a's and b's panels that a tile reads stay in L1 while it runs over the
// panels. A panel of columns past n goes through a small buffer, so that the tile always writes
// whole vectors.
constexpr int64_t kKBlock = 128;

template <class V>
[[gnu::always_inline]] inline void row_block(const GemmArgs& g, const float* packed_b, int64_t i0,
                                             int64_t rows, Scratch& a_scratch) {
  float* a = a_scratch.get(g.k * kRows<V>);
  pack_panel<kRows<V>>(g.a + i0 * g.a_row, g.a_row, g.a_col, rows, g.k, a);
  for (int64_t k0 = 0; k0 < g.k; k0 += kKBlock) {
    const int64_t k = std::min(kKBlock, g.k - k0);
    const bool load = g.accumulate || k0 > 0;
    for (int64_t j0 = 0; j0 < g.n; j0 += kCols<V>) {
      const float* a_k = a + k0 * kRows<V>;
      const float* b = packed_b + j0 * g.k + k0 * kCols<V>;
      float* c = g.c + i0 * g.c_row + j0;
      if (j0 + kCols<V> <= g.n) {
        tile_rows<V, kRows<V>>(rows, a_k, b, k, c, g.c_row, load);
        continue;
      }
      const int64_t cols = g.n - j0;
      float edge[kRows<V> * kCols<V>] = {};
      for (int64_t r = 0; r < rows; ++r)
        std::memcpy(edge + r * kCols<V>, c + r * g.c_row, cols * sizeof(float));
      tile_rows<V, kRows<V>>(rows, a_k, b, k, edge, kCols<V>, load);
      for (int64_t r = 0; r < rows; ++r)
        std::memcpy(c + r * g.c_row, edge + r * kCols<V>, cols * sizeof(float));
    }
  }
}

template <class V>
[[gnu::always_inline]] inline void pack_b_panels(const GemmArgs& g, float* packed, int64_t begin,
                                                 int64_t end) {
  for (int64_t j0 = begin * kCols<V>; j0 < std::min(end * kCols<V>, g.n); j0 += kCols<V>)
    pack_panel<kCols<V>>(g.b + j0 * g.b_col, g.b_col, g.b_row, std::min(kCols<V>, g.n - j0), g.k,
                         packed + j0 * g.k);
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

// b packed into panels (shared), then blocks of rows (each packing its own rows of a), both
// split over the pool if there is one.
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
