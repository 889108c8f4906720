#include "kernels/matmul.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/packed.h"
#include "kernels/ref/bf16.h"
#include "kernels/ref/quantized.h"

namespace kvscope {

namespace {

// Weight rows handled together, so that a tile is reused across all activation rows while it is
// in L1 (8 rows of SmolLM2's widest matrix, 1536 inputs, dequantized: 48 KiB).
constexpr int64_t kRowTile = 8;

// F32 weights are read in place, and F16 and BF16 ones when a single tile of activation rows would
// widen each weight once anyway; other types and larger batches dequantize a row tile at a time.
// Widening is exact, so the result is the same either way.
void matmul_exact(ThreadPool& pool, const TensorView& w, const float* x, int64_t n, float* out) {
  const Kernels& k = kernels();
  const int64_t rows = w.rows(), cols = w.cols();
  const bool in_place = w.type == DType::kF32 ||
                        ((w.type == DType::kF16 || w.type == DType::kBF16) && n <= kDotTileCols);
  const DType tile_type = in_place ? w.type : DType::kF32;
  // A single token reads rows in place one at a time: one stream of weights per thread, where 4
  // rows' interleaved streams left decode 1.5 times slower once the matrix was out of the caches.
  const int64_t step = in_place && n == 1 ? 1 : kDotTileRows;
  pool.parallel_for((rows + kRowTile - 1) / kRowTile, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> tile;
    if (!in_place) tile.resize(static_cast<size_t>(kRowTile * cols));
    for (int64_t t = begin; t < end; ++t) {
      const int64_t r0 = t * kRowTile, nr = std::min(kRowTile, rows - r0);
      const void* weights[kRowTile];
      for (int64_t r = 0; r < nr; ++r) {
        if (in_place) {
          weights[r] = w.row(r0 + r);
        } else {
          k.dequantize_row(w.type, w.row(r0 + r), &tile[r * cols], cols);
          weights[r] = &tile[r * cols];
        }
      }
      for (int64_t i = 0; i < n; i += kDotTileCols) {
        const int nc = static_cast<int>(std::min<int64_t>(kDotTileCols, n - i));
        const float* activations[kDotTileCols];
        for (int c = 0; c < nc; ++c) activations[c] = x + (i + c) * cols;
        for (int64_t r = 0; r < nr; r += step)
          k.dot_tile(tile_type, weights + r, static_cast<int>(std::min<int64_t>(step, nr - r)),
                     activations, nc, cols, out + i * rows + r0 + r, rows);
      }
    }
  });
}

// This thread's buffer for n quantized activation rows, each starting on a cache line (row_bytes
// is a multiple of 64).
uint8_t* activation_rows(int64_t n, size_t row_bytes) {
  thread_local std::vector<uint8_t> buffer;
  buffer.resize(row_bytes * static_cast<size_t>(n) + 64);
  return buffer.data() + (64 - reinterpret_cast<uintptr_t>(buffer.data()) % 64) % 64;
}

// The fast path rounds activations to 8 bits per block of 32, each block on the scale of its
// largest value, so a block's rounding error grows with its scale. The few channels that the
// residual stream makes large set the scales of their blocks, and carry most of the fast path's
// error: each row's kOutlierBlocks blocks of largest scale also have their rounding error rounded
// to 8 bits (on a scale 254 times finer) and multiplied by the weights, for about 15 bits there.
// On the default model this cuts the mean KL divergence from the exact path by 3.5x, for 2 blocks
// of 18, at about 7% of prefill (README, "Precisions").
constexpr int kOutlierBlocks = 2;

enum class RoundingErrors {
  kNone,           // int8
  kOutlierBlocks,  // the fast path: each row's outlier blocks
  kEveryBlock,     // split: whole rows
};

RoundingErrors rounding_errors(Precision precision) {
  return precision == Precision::kInt8    ? RoundingErrors::kNone
         : precision == Precision::kSplit ? RoundingErrors::kEveryBlock
                                          : RoundingErrors::kOutlierBlocks;
}

// A matrix's activations in 8 bits: the rows rounded, then the rows of their rounding errors
// (with outlier blocks, only those blocks of them are written).
struct QuantizedActivations {
  const uint8_t* base = nullptr;  // rows [0, n) rounded, [n, 2n) their errors (none for int8)
  size_t row_bytes = 0;
  int64_t n = 0;
  int64_t blocks = 0;
  RoundingErrors errors = RoundingErrors::kOutlierBlocks;
  // The outlier blocks of rows 8t..8t+7: bit i % 8 of outliers[t * blocks + b] marks row i's
  // block b (PackedActivations).
  const uint8_t* outliers = nullptr;

  const uint8_t* row(int64_t i) const { return base + static_cast<size_t>(i) * row_bytes; }
  const uint8_t* error(int64_t i) const { return row(n + i); }
  const uint8_t* outliers_of(int64_t i) const { return outliers + i / kPackedTileCols * blocks; }
  bool is_outlier(int64_t i, int64_t b) const {
    return (outliers_of(i)[b] >> i % kPackedTileCols & 1) != 0;
  }
};
static_assert(kPackedTileCols == 8, "a byte of outlier marks per tile of rows");

// Block from_b of the q8 row `from` (from_cols columns) into block to_b of `to` (to_cols): its
// values, then its scale, sum and integer sum, 4 bytes each (kernels/ref/quantized.h's layout).
void copy_q8_block(const uint8_t* from, int64_t from_cols, int64_t from_b, uint8_t* to,
                   int64_t to_cols, int64_t to_b) {
  std::memcpy(to + to_b * kQ8Block, from + from_b * kQ8Block, kQ8Block);
  for (int64_t field = 0; field < 3; ++field)
    std::memcpy(to + to_cols + 4 * (field * (to_cols / kQ8Block) + to_b),
                from + from_cols + 4 * (field * (from_cols / kQ8Block) + from_b), 4);
}
// A row of one block: its q8 row's bytes (q8_row_bytes(kQ8Block)).
using Q8Block = std::array<uint8_t, 64>;

// The rows of x rounded to 8 bits, and their rounding errors, in this thread's buffers.
QuantizedActivations quantize_activations(ThreadPool& pool, const float* x, int64_t n, int64_t cols,
                                          RoundingErrors errors) {
  const Kernels& k = kernels();
  const int64_t blocks = cols / kQ8Block;
  const int outliers = static_cast<int>(std::min<int64_t>(kOutlierBlocks, blocks));
  QuantizedActivations a;
  a.row_bytes = q8_row_bytes(cols);
  a.n = n;
  a.blocks = blocks;
  a.errors = errors;
  uint8_t* base = activation_rows(errors == RoundingErrors::kNone ? n : 2 * n, a.row_bytes);
  a.base = base;
  thread_local std::vector<int32_t> chosen;  // row i's outlier blocks at [i * outliers, ...)
  chosen.resize(static_cast<size_t>(n * outliers));
  int32_t* chosen_blocks = chosen.data();  // the workers see this thread's buffer through it
  pool.parallel_for(n, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> error;
    error.resize(static_cast<size_t>(cols));
    for (int64_t i = begin; i < end; ++i) {
      const float* row = x + i * cols;
      uint8_t* rounded = base + i * a.row_bytes;
      uint8_t* rounding_error = base + (n + i) * a.row_bytes;
      k.quantize_row_q8(row, rounded, cols);
      if (errors == RoundingErrors::kNone) continue;
      const float* scales = q8_scales(rounded, cols);
      const auto error_of = [&](int64_t b) {
        const auto* q = reinterpret_cast<const int8_t*>(rounded);
        for (int64_t j = b * kQ8Block; j < (b + 1) * kQ8Block; ++j)
          error[j] = row[j] - static_cast<float>(q[j]) * scales[b];
      };
      if (errors == RoundingErrors::kEveryBlock) {
        for (int64_t b = 0; b < blocks; ++b) error_of(b);
        k.quantize_row_q8(error.data(), rounding_error, cols);
        continue;
      }
      // The blocks of largest scale (the first of equal ones).
      int32_t* top = chosen_blocks + i * outliers;
      int found = 0;
      for (int32_t b = 0; b < blocks; ++b) {
        int at = found < outliers ? found++ : outliers;
        while (at > 0 && scales[top[at - 1]] < scales[b]) {
          if (at < outliers) top[at] = top[at - 1];
          --at;
        }
        if (at < outliers) top[at] = b;
      }
      for (int o = 0; o < outliers; ++o) {
        error_of(top[o]);
        alignas(64) Q8Block block;
        k.quantize_row_q8(&error[top[o] * kQ8Block], block.data(), kQ8Block);
        copy_q8_block(block.data(), kQ8Block, 0, rounding_error, cols, top[o]);
      }
    }
  });
  if (errors == RoundingErrors::kOutlierBlocks) {
    thread_local std::vector<uint8_t> marks;
    marks.assign(static_cast<size_t>((n + kPackedTileCols - 1) / kPackedTileCols * blocks), 0);
    for (int64_t i = 0; i < n; ++i)
      for (int o = 0; o < outliers; ++o)
        marks[i / kPackedTileCols * blocks + chosen[i * outliers + o]] |= 1 << i % kPackedTileCols;
    a.outliers = marks.data();
  }
  return a;
}

// Tile t of a packed matrix (16 rows) times the quantized rows, up to kPackedTileCols rows at a
// time, with their outlier blocks' errors.
void packed_tile(const TensorView& w, const QuantizedActivations& a, int64_t t, float* out) {
  static_assert(kPackedTileRows == 2 * kPackedRows);
  const int64_t rows = w.rows(), cols = w.cols();
  const int nr = static_cast<int>(std::min<int64_t>(kPackedTileRows, rows - t * kPackedTileRows));
  const uint8_t* groups = w.packed + t * 2 * packed_group_bytes(w.type, cols);
  const bool outliers = a.errors == RoundingErrors::kOutlierBlocks;
  for (int64_t i = 0; i < a.n; i += kPackedTileCols) {
    const int nc = static_cast<int>(std::min<int64_t>(kPackedTileCols, a.n - i));
    const uint8_t* activations[kPackedTileCols];
    const uint8_t* errors[kPackedTileCols];
    for (int c = 0; c < nc; ++c) {
      activations[c] = a.row(i + c);
      errors[c] = outliers ? a.error(i + c) : nullptr;
    }
    const PackedActivations x{activations, outliers ? errors : nullptr,
                              outliers ? a.outliers_of(i) : nullptr};
    kernels().dot_packed(w.type, groups, cols, x, nc, nr, out + i * rows + t * kPackedTileRows,
                         rows);
  }
}

int64_t packed_tiles(const TensorView& w) {
  return (w.rows() + kPackedTileRows - 1) / kPackedTileRows;
}

bool is_packed(const TensorView& w) {
  return w.packed != nullptr && kernels().dot_packed != nullptr;
}

// The outlier blocks' errors times their weights, added to `out` in column order, for weights in
// rows of their file's blocks (the row-major kernels): one block of 32 columns is then a row of its
// own.
void add_outlier_products(ThreadPool& pool, const TensorView& w, const QuantizedActivations& a,
                          float* out) {
  const Kernels& k = kernels();
  const int64_t rows = w.rows(), cols = w.cols();
  const int block_bytes = dtype_info(w.type).block_bytes;
  pool.parallel_for(a.n, [&](int64_t begin, int64_t end) {
    alignas(64) Q8Block block;
    for (int64_t i = begin; i < end; ++i)
      for (int64_t b = 0; b < cols / kQ8Block; ++b) {
        if (!a.is_outlier(i, b)) continue;
        copy_q8_block(a.error(i), cols, b, block.data(), kQ8Block, 0);
        for (int64_t r = 0; r < rows; ++r)
          out[i * rows + r] += k.dot_q8(w.type, w.row(r) + b * block_bytes, block.data(), kQ8Block);
      }
  });
}

// out[i] = W times the quantized activation row i, plus the outlier blocks' products.
void dot_quantized(ThreadPool& pool, const TensorView& w, const QuantizedActivations& a,
                   float* out) {
  const Kernels& k = kernels();
  const int64_t rows = w.rows(), cols = w.cols(), n = a.n;
  if (is_packed(w)) {
    pool.parallel_for(packed_tiles(w), [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) packed_tile(w, a, t, out);
    });
    return;
  }
  // Tiles of up to kQ8TileMax weight rows by kQ8TileMax activation rows: each weight block is
  // unpacked once for several tokens, each activation block loaded once for several rows. A single
  // token takes one row at a time instead: interleaving several rows' streams measured 3x slower
  // once the matrix no longer fits in the caches. Every pair's result is the same either way.
  const int64_t tile_rows = n == 1 ? 1 : kQ8TileMax;
  pool.parallel_for((rows + tile_rows - 1) / tile_rows, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t r0 = t * tile_rows;
      const int nr = static_cast<int>(std::min(tile_rows, rows - r0));
      const uint8_t* weights[kQ8TileMax];
      for (int r = 0; r < nr; ++r) weights[r] = w.row(r0 + r);
      for (int64_t i = 0; i < n; i += kQ8TileMax) {
        const int nc = static_cast<int>(std::min<int64_t>(kQ8TileMax, n - i));
        const uint8_t* activations[kQ8TileMax];
        for (int c = 0; c < nc; ++c) activations[c] = a.row(i + c);
        k.dot_q8_tile(w.type, weights, nr, activations, nc, cols, out + i * rows + r0, rows);
      }
    }
  });
  if (a.errors == RoundingErrors::kOutlierBlocks) add_outlier_products(pool, w, a, out);
}

void matmul_fast(ThreadPool& pool, const TensorView& w, const float* x, int64_t n, float* out,
                 RoundingErrors errors) {
  if (errors != RoundingErrors::kEveryBlock)
    return dot_quantized(pool, w, quantize_activations(pool, x, n, w.cols(), errors), out);
  // Both halves of a row go through the same kernel as rows of their own, so the sum keeps its
  // batch invariance.
  QuantizedActivations halves_in =
      quantize_activations(pool, x, n, w.cols(), RoundingErrors::kEveryBlock);
  halves_in.n = 2 * n;  // the errors as rows of their own
  const int64_t rows = w.rows();
  thread_local std::vector<float> halves;
  halves.resize(static_cast<size_t>(2 * n * rows));
  const float* h = halves.data();  // this thread's buffer: the workers see it through h
  dot_quantized(pool, w, halves_in, halves.data());
  pool.parallel_for(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      for (int64_t r = 0; r < rows; ++r)
        out[i * rows + r] = h[i * rows + r] + h[(n + i) * rows + r];
  });
}

// BF16 weights on the fast path: the activations rounded to BF16 once, then tiles of weight rows
// read in place against all of them (kernels/ref/bf16.h). A single token takes one row at a time,
// as dot_quantized does: one stream of weights per thread.
void matmul_bf16(ThreadPool& pool, const TensorView& w, const float* x, int64_t n, float* out) {
  const Kernels& k = kernels();
  const int64_t rows = w.rows(), cols = w.cols();
  const size_t row_bytes = bf16_row_bytes(cols);
  uint8_t* base = activation_rows(n, row_bytes);
  const auto rounded = [&](int64_t i) {
    return reinterpret_cast<uint16_t*>(base + static_cast<size_t>(i) * row_bytes);
  };
  pool.parallel_for(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) k.round_row_bf16(x + i * cols, rounded(i), cols);
  });
  const int64_t tile_rows = n == 1 ? 1 : kBf16TileRows;
  pool.parallel_for((rows + tile_rows - 1) / tile_rows, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t r0 = t * tile_rows;
      const int nr = static_cast<int>(std::min(tile_rows, rows - r0));
      const uint16_t* weights[kBf16TileRows];
      for (int r = 0; r < nr; ++r) weights[r] = reinterpret_cast<const uint16_t*>(w.row(r0 + r));
      for (int64_t i = 0; i < n; i += kBf16TileCols) {
        const int nc = static_cast<int>(std::min<int64_t>(kBf16TileCols, n - i));
        const uint16_t* activations[kBf16TileCols];
        for (int c = 0; c < nc; ++c) activations[c] = rounded(i + c);
        k.dot_bf16_tile(weights, nr, activations, nc, cols, out + i * rows + r0, rows);
      }
    }
  });
}

void matmul_wide(ThreadPool& pool, const TensorView& w, const float* x, int64_t n, float* out) {
  const Kernels& k = kernels();
  const int64_t rows = w.rows(), cols = w.cols();
  const size_t row_bytes = q16_row_bytes(cols);
  uint8_t* base = activation_rows(n, row_bytes);
  for (int64_t i = 0; i < n; ++i) ref::quantize_row_q16(x + i * cols, base + i * row_bytes, cols);
  pool.parallel_for(rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      for (int64_t i = 0; i < n; ++i)
        out[i * rows + r] = k.dot_q8_0_q16(w.row(r), base + i * row_bytes, cols);
  });
}

}  // namespace

std::string_view precision_name(Precision p) {
  switch (p) {
    case Precision::kExact:
      return "exact";
    case Precision::kFast:
      return "fast";
    case Precision::kInt8:
      return "int8";
    case Precision::kSplit:
      return "split";
    case Precision::kWide:
      return "wide";
  }
  return "";
}

std::string_view matrix_kind_name(MatrixKind kind) {
  switch (kind) {
    case MatrixKind::kQkv:
      return "qkv";
    case MatrixKind::kAttentionOut:
      return "attn_out";
    case MatrixKind::kFeedForwardIn:
      return "ffn_in";
    case MatrixKind::kFeedForwardDown:
      return "ffn_down";
    case MatrixKind::kOutputHead:
      return "head";
  }
  return "";
}

MatrixKind parse_matrix_kind(std::string_view name) {
  for (MatrixKind k : kMatrixKinds)
    if (matrix_kind_name(k) == name) return k;
  fail("unknown matrix kind '{}' (expected qkv, attn_out, ffn_in, ffn_down or head)", name);
}

std::string matrix_kinds_name(MatrixKinds kinds) {
  std::string names;
  for (MatrixKind k : kMatrixKinds)
    if (kinds & matrix_kind_bit(k))
      names += (names.empty() ? "" : ",") + std::string(matrix_kind_name(k));
  return names;
}

Precision parse_precision(std::string_view name) {
  for (Precision p : kChoosablePrecisions)
    if (precision_name(p) == name) return p;
  fail("unknown precision '{}' (expected fast, int8, split or exact)", name);
}

void matmul_shared_input(ThreadPool& pool, std::span<const TensorView* const> ws, const float* x,
                         int64_t n, std::span<float* const> outs, Precision precision) {
  const bool fused =
      is_fast_path(precision) &&
      std::all_of(ws.begin(), ws.end(), [](const TensorView* w) { return is_packed(*w); });
  if (!fused) {
    for (size_t m = 0; m < ws.size(); ++m) matmul(pool, *ws[m], x, n, outs[m], precision);
    return;
  }
  const QuantizedActivations a =
      quantize_activations(pool, x, n, ws[0]->cols(), rounding_errors(precision));
  std::vector<int64_t> first_tile{0};  // matrix m's tiles are [first_tile[m], first_tile[m + 1])
  for (const TensorView* w : ws) first_tile.push_back(first_tile.back() + packed_tiles(*w));
  pool.parallel_for(first_tile.back(), [&](int64_t begin, int64_t end) {
    size_t m = 0;
    for (int64_t t = begin; t < end; ++t) {
      while (t >= first_tile[m + 1]) ++m;
      packed_tile(*ws[m], a, t - first_tile[m], outs[m]);
    }
  });
}

void matmul(ThreadPool& pool, const TensorView& w, const float* x, int64_t n, float* out,
            Precision precision) {
  if (precision == Precision::kWide && w.type == DType::kQ8_0)
    matmul_wide(pool, w, x, n, out);
  else if (precision != Precision::kExact && (has_q8_dot(w.type) || is_packed(w)))
    matmul_fast(pool, w, x, n, out, rounding_errors(precision));
  else if (is_fast_path(precision) && w.type == DType::kBF16 && w.cols() % kBf16Chunk == 0 &&
           kernels().dot_bf16_tile != nullptr)
    matmul_bf16(pool, w, x, n, out);
  else
    matmul_exact(pool, w, x, n, out);
}

}  // namespace kvscope
