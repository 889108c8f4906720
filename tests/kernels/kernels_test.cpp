// Every dispatched kernel against its scalar twin, on each instruction set this CPU has.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/attention.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/matmul.h"
#include "kernels/packed.h"
#include "kernels/ref/bf16.h"
#include "kernels/ref/dequantize.h"
#include "kernels/ref/ops.h"
#include "kernels/ref/quantized.h"
#include "random_tensors.h"

namespace kvscope {
namespace {

using testing::kAllTypes;
using testing::random_floats;
using testing::random_row_bytes;

TEST(Kernels, ScalarIsAlwaysSupported) {
  const auto isas = supported_isas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.front(), Isa::kScalar);
  for (Isa isa : isas) RecordProperty(std::string(isa_name(isa)), "supported");
}

TEST(Kernels, DotMatchesScalarOnEveryIsa) {
  for (Isa isa : supported_isas()) {
    const Kernels& k = kernels_for(isa);
    for (int64_t n : {1, 7, 16, 31, 64, 65, 127, 576, 1536, 1000}) {
      const auto a = random_floats(n, 1 + n), b = random_floats(n, 2 + n);
      double magnitude = 0;
      for (int64_t i = 0; i < n; ++i) magnitude += std::fabs(a[i] * b[i]);
      EXPECT_NEAR(k.dot(a.data(), b.data(), n), ref::dot(a.data(), b.data(), n),
                  1e-5 * magnitude + 1e-6)
          << isa_name(isa) << " n=" << n;
    }
  }
}

TEST(Kernels, AxpyAndWidenMatchScalarOnEveryIsa) {
  for (Isa isa : supported_isas()) {
    const Kernels& k = kernels_for(isa);
    for (int64_t n : {1, 9, 64, 100}) {
      const auto x = random_floats(n, 70 + n), y0 = random_floats(n, 71 + n);
      auto got = y0, want = y0;
      k.axpy(got.data(), 0.37f, x.data(), n);
      ref::axpy(want.data(), 0.37f, x.data(), n);
      for (int64_t i = 0; i < n; ++i)
        EXPECT_NEAR(got[i], want[i], 1e-6f * (1 + std::fabs(want[i]))) << isa_name(isa);
      std::vector<uint16_t> halves(n);
      for (int64_t i = 0; i < n; ++i) halves[i] = f32_to_f16(x[i]);
      std::vector<float> wide(n), wide_ref(n);
      k.widen_f16(halves.data(), wide.data(), n);
      ref::widen_f16(halves.data(), wide_ref.data(), n);
      EXPECT_EQ(wide, wide_ref) << isa_name(isa);
    }
  }
}

TEST(Kernels, DequantizeMatchesScalarOnEveryIsa) {
  for (Isa isa : supported_isas()) {
    const Kernels& k = kernels_for(isa);
    for (DType type : kAllTypes) {
      const int64_t n = 512;
      const auto bytes = random_row_bytes(type, n, 7);
      std::vector<float> got(n), want(n);
      k.dequantize_row(type, bytes.data(), got.data(), n);
      ref::dequantize_row(type, bytes.data(), want.data(), n);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(got[i], want[i]) << isa_name(isa) << " " << dtype_name(type) << " at " << i;
    }
  }
}

// The exact path's tile against its scalar twin, for F32, F16 and BF16 weights, and every element
// of every tile shape bitwise equal to the 1x1 tile of its pair (batch invariance).
TEST(Kernels, DotTileMatchesScalarAndPairsOnEveryIsa) {
  for (Isa isa : supported_isas()) {
    const Kernels& k = kernels_for(isa);
    for (DType type : {DType::kF32, DType::kF16, DType::kBF16})
      for (int64_t n : {5, 64, 100, 576}) {
        std::vector<std::vector<float>> wf, x;
        std::vector<std::vector<uint16_t>> wh;
        const void* wp[kDotTileRows];
        const float* xp[kDotTileCols];
        for (int r = 0; r < kDotTileRows; ++r) {
          wf.push_back(random_floats(n, 80 + r));
          wh.emplace_back(n);
          for (int64_t i = 0; i < n; ++i)
            wh.back()[i] = type == DType::kBF16
                               ? static_cast<uint16_t>(float_to_bits(wf.back()[i]) >> 16)
                               : f32_to_f16(wf.back()[i]);
        }
        for (int r = 0; r < kDotTileRows; ++r)
          wp[r] = type == DType::kF32 ? static_cast<const void*>(wf[r].data()) : wh[r].data();
        for (int c = 0; c < kDotTileCols; ++c) {
          x.push_back(random_floats(n, 90 + c));
          xp[c] = x.back().data();
        }
        float want[kDotTileRows * kDotTileCols];
        ref::dot_tile(type, wp, kDotTileRows, xp, kDotTileCols, n, want, kDotTileRows);
        for (int nr = 1; nr <= kDotTileRows; ++nr)
          for (int nc = 1; nc <= kDotTileCols; ++nc) {
            float got[kDotTileRows * kDotTileCols];
            k.dot_tile(type, wp, nr, xp, nc, n, got, kDotTileRows);
            for (int c = 0; c < nc; ++c)
              for (int r = 0; r < nr; ++r) {
                float alone;
                k.dot_tile(type, wp + r, 1, xp + c, 1, n, &alone, 1);
                const float expected = want[c * kDotTileRows + r];
                ASSERT_EQ(got[c * kDotTileRows + r], alone)
                    << isa_name(isa) << " tile " << nr << "x" << nc;
                ASSERT_NEAR(alone, expected, 1e-5 * n * (1 + std::fabs(expected)))
                    << isa_name(isa) << " " << dtype_name(type) << " n=" << n;
              }
          }
      }
  }
}

TensorView matrix_view(DType type, int64_t cols, int64_t rows, const std::vector<uint8_t>& bytes) {
  TensorView w;
  w.type = type;
  w.n_dims = 2;
  w.shape = {cols, rows, 1, 1};
  w.data = bytes.data();
  return w;
}

TEST(Matmul, MatchesDequantizedReference) {
  ThreadPool pool(2);
  for (DType type : kAllTypes) {
    const int64_t cols = 256, rows = 37, n = 3;
    const auto bytes = random_row_bytes(type, cols * rows, 11);
    const TensorView w = matrix_view(type, cols, rows, bytes);
    const auto x = random_floats(n * cols, 5);
    std::vector<float> out(n * rows);
    matmul(pool, w, x.data(), n, out.data());
    std::vector<float> row(cols);
    for (int64_t r = 0; r < rows; ++r) {
      ref::dequantize_row(type, w.row(r), row.data(), cols);
      for (int64_t i = 0; i < n; ++i) {
        const float want = ref::dot(row.data(), &x[i * cols], cols);
        EXPECT_NEAR(out[i * rows + r], want, 1e-4 * (1 + std::fabs(want))) << dtype_name(type);
      }
    }
  }
}

// A row's result is bitwise the same alone, in a batch, and with any thread count.
TEST(Matmul, IsBatchInvariant) {
  ThreadPool one(1), two(2);
  for (DType type : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ4_1, DType::kQ5_1,
                     DType::kQ5_K, DType::kQ6_K}) {
    const int64_t cols = 512, rows = 45, n = 9;
    const auto bytes = random_row_bytes(type, cols * rows, 3);
    const TensorView w = matrix_view(type, cols, rows, bytes);
    const auto x = random_floats(n * cols, 4);
    std::vector<float> batch(n * rows), alone(rows);
    matmul(two, w, x.data(), n, batch.data());
    for (int64_t i = 0; i < n; ++i) {
      matmul(i % 2 ? one : two, w, &x[i * cols], 1, alone.data());
      for (int64_t r = 0; r < rows; ++r)
        ASSERT_EQ(batch[i * rows + r], alone[r]) << dtype_name(type) << " row " << i;
    }
  }
}

}  // namespace
}  // namespace kvscope

namespace kvscope {
namespace {

TEST(FastPath, QuantizeMatchesScalarBitwiseOnEveryIsa) {
  for (Isa isa : supported_isas()) {
    for (int64_t n : {32, 576, 1536}) {
      auto x = testing::random_floats(n, 9 + n, 3.0f);
      x[5] = 0.0f;
      std::fill(x.begin() + 32 * (n / 64), x.begin() + 32 * (n / 64) + 32,
                0.0f);  // an all-zero block
      std::vector<uint8_t> got(q8_row_bytes(n)), want(q8_row_bytes(n));
      kernels_for(isa).quantize_row_q8(x.data(), got.data(), n);
      ref::quantize_row_q8(x.data(), want.data(), n);
      ASSERT_EQ(0, std::memcmp(got.data(), want.data(), n + 8 * (n / 32)))
          << isa_name(isa) << " n=" << n;
    }
  }
}

// A broken weight makes NaN or infinite activations, and a block of denormals an infinite inverse
// scale: the scalar quantizer must give the lowest value there, as the SIMD conversions do, where
// a plain cast would be undefined (the sanitized build runs this).
TEST(FastPath, NonFiniteActivationsQuantizeToTheLowestOnEveryIsa) {
  const int64_t n = 96;
  std::vector<float> x = testing::random_floats(n, 5, 3.0f);
  x[3] = std::numeric_limits<float>::quiet_NaN();
  x[40] = std::numeric_limits<float>::infinity();
  std::fill(x.begin() + 64, x.end(), 0.0f);
  x[70] = 1e-40f;  // a denormal: its block's inverse scale overflows
  std::vector<uint8_t> want(q8_row_bytes(n));
  ref::quantize_row_q8(x.data(), want.data(), n);
  const auto* q = reinterpret_cast<const int8_t*>(want.data());
  EXPECT_EQ(q[3], -128);
  EXPECT_EQ(q[40], -128);
  EXPECT_EQ(q[70], -128);
  for (Isa isa : supported_isas()) {
    std::vector<uint8_t> got(q8_row_bytes(n));
    kernels_for(isa).quantize_row_q8(x.data(), got.data(), n);
    EXPECT_EQ(0, std::memcmp(got.data(), want.data(), n)) << isa_name(isa);
  }
}

TEST(FastPath, QuantizedRowApproximatesTheInput) {
  const int64_t n = 256;
  const auto x = testing::random_floats(n, 2);
  std::vector<uint8_t> q(q8_row_bytes(n));
  ref::quantize_row_q8(x.data(), q.data(), n);
  const auto* values = reinterpret_cast<const int8_t*>(q.data());
  for (int64_t i = 0; i < n; ++i) {
    const float d = q8_scales(q.data(), n)[i / 32];
    EXPECT_NEAR(values[i] * d, x[i], 0.5f * d + 1e-7f);
  }
}

TEST(FastPath, DotMatchesScalarOnEveryIsa) {
  for (Isa isa : supported_isas()) {
    for (DType type : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1}) {
      for (int64_t n : {32, 64, 96, 576, 1536}) {
        const auto w = testing::random_row_bytes(type, n, 21 + n);
        const auto x = testing::random_floats(n, 22 + n);
        std::vector<uint8_t> q(q8_row_bytes(n));
        ref::quantize_row_q8(x.data(), q.data(), n);
        const float want = ref::dot_q8(type, w.data(), q.data(), n);
        const float got = kernels_for(isa).dot_q8(type, w.data(), q.data(), n);
        EXPECT_NEAR(got, want, 1e-5f * (1 + std::fabs(want)))
            << isa_name(isa) << " " << dtype_name(type) << " n=" << n;
      }
    }
  }
}

// The integer product equals the exact product of the dequantized weights with the
// dequantized activations: the fast path's only error is the activations' rounding.
TEST(FastPath, DotEqualsDequantizedProduct) {
  for (DType type : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1}) {
    const int64_t n = 512;
    const auto w = testing::random_row_bytes(type, n, 31);
    const auto x = testing::random_floats(n, 32);
    std::vector<uint8_t> q(q8_row_bytes(n));
    ref::quantize_row_q8(x.data(), q.data(), n);
    std::vector<float> wf(n), xf(n);
    ref::dequantize_row(type, w.data(), wf.data(), n);
    const auto* values = reinterpret_cast<const int8_t*>(q.data());
    double want = 0;
    for (int64_t i = 0; i < n; ++i)
      want += static_cast<double>(wf[i]) * values[i] * q8_scales(q.data(), n)[i / 32];
    EXPECT_NEAR(ref::dot_q8(type, w.data(), q.data(), n), want, 1e-4 * (1 + std::fabs(want)))
        << dtype_name(type);
  }
}

// Every type the packed kernels read, and the columns of a row of each (K-quants: 256 a block).
struct PackedCase {
  DType type;
  int64_t cols;
};
constexpr PackedCase kPackedCases[] = {{DType::kQ4_0, 96},  {DType::kQ4_1, 96}, {DType::kQ8_0, 96},
                                       {DType::kQ5_0, 96},  {DType::kQ5_1, 96}, {DType::kQ4_K, 512},
                                       {DType::kQ5_K, 512}, {DType::kQ6_K, 512}};

// Packed (where this CPU's kernels read packed weights) and row-major alike, with a last group of
// 8 rows that is not full. Types without a row-major integer kernel take the exact path unpacked,
// so only their packed layout runs the fast path.
TEST(FastPath, MatmulIsBatchInvariant) {
  ThreadPool one(1), two(2);
  const int64_t rows = 43, n = 7;
  for (const PackedCase& p : kPackedCases) {
    const DType type = p.type;
    const int64_t cols = p.cols == 96 ? 576 : 1536;
    const auto bytes = testing::random_row_bytes(type, cols * rows, 41);
    TensorView w = matrix_view(type, cols, rows, bytes);
    const std::vector<uint8_t> packed = pack_rows(w);
    ASSERT_FALSE(packed.empty()) << dtype_name(type);
    const auto x = testing::random_floats(n * cols, 42);
    std::vector<float> row_major(n * rows);
    std::vector<const uint8_t*> layouts = {packed.data()};
    if (has_q8_dot(type)) layouts.insert(layouts.begin(), nullptr);
    for (const uint8_t* layout : layouts) {
      w.packed = layout;
      std::vector<float> batch(n * rows), alone(rows);
      matmul(two, w, x.data(), n, batch.data(), Precision::kFast);
      for (int64_t i = 0; i < n; ++i) {
        matmul(i % 2 ? one : two, w, &x[i * cols], 1, alone.data(), Precision::kFast);
        for (int64_t r = 0; r < rows; ++r)
          ASSERT_EQ(batch[i * rows + r], alone[r]) << dtype_name(type) << " row " << i;
      }
      if (layout == nullptr) {
        row_major = batch;
      } else if (has_q8_dot(type)) {
        for (int64_t i = 0; i < n * rows; ++i)
          ASSERT_NEAR(batch[i], row_major[i], 1e-4 * (1 + std::fabs(row_major[i])))
              << dtype_name(type);
      }
    }
  }
}

// Marked outlier blocks add their rounding errors' products, right after the row's own in each
// block: bitwise the scalar twin's on every ISA, whichever rows of a tile are marked, and the
// product of the dequantized weights with the rows and the marked errors up to rounding.
TEST(FastPath, PackedOutlierBlocksMatchScalarOnEveryIsa) {
  for (const PackedCase& p : kPackedCases) {
    const int64_t cols = p.cols, rows = kPackedTileRows, blocks = cols / kQ8Block;
    const auto bytes = testing::random_row_bytes(p.type, cols * rows, 61);
    const TensorView w = matrix_view(p.type, cols, rows, bytes);
    const std::vector<uint8_t> packed = pack_rows(w);
    std::vector<std::vector<uint8_t>> q, e;
    const uint8_t *qp[kPackedTileCols], *ep[kPackedTileCols];
    for (int c = 0; c < kPackedTileCols; ++c) {
      q.emplace_back(q8_row_bytes(cols));
      e.emplace_back(q8_row_bytes(cols));
      ref::quantize_row_q8(random_floats(cols, 62 + c).data(), q.back().data(), cols);
      ref::quantize_row_q8(random_floats(cols, 72 + c).data(), e.back().data(), cols);
      qp[c] = q.back().data();
      ep[c] = e.back().data();
    }
    std::vector<uint8_t> marks(blocks);  // every pattern of rows somewhere, and none in some
    for (int64_t b = 0; b < blocks; ++b) marks[b] = b % 3 == 0 ? 0 : static_cast<uint8_t>(37 * b);
    const PackedActivations x{qp, ep, marks.data()};
    for (int nc = 1; nc <= kPackedTileCols; ++nc) {
      float want[kPackedTileCols * kPackedTileRows];
      ref::dot_packed(p.type, packed.data(), cols, x, nc, rows, want, kPackedTileRows);
      for (int c = 0; c < nc; ++c)
        for (int r = 0; r < rows; ++r) {
          std::vector<float> wf(cols);
          ref::dequantize_row(p.type, w.row(r), wf.data(), cols);
          double product = 0;
          for (int64_t i = 0; i < cols; ++i) {
            const int64_t b = i / kQ8Block;
            product += double(wf[i]) * reinterpret_cast<const int8_t*>(qp[c])[i] *
                       q8_scales(qp[c], cols)[b];
            if (x.is_outlier(c, b))
              product += double(wf[i]) * reinterpret_cast<const int8_t*>(ep[c])[i] *
                         q8_scales(ep[c], cols)[b];
          }
          ASSERT_NEAR(want[c * kPackedTileRows + r], product, 1e-4 * (1 + std::fabs(product)))
              << dtype_name(p.type);
        }
      for (Isa isa : supported_isas()) {
        if (kernels_for(isa).dot_packed == nullptr) continue;
        float got[kPackedTileCols * kPackedTileRows];
        kernels_for(isa).dot_packed(p.type, packed.data(), cols, x, nc, rows, got, kPackedTileRows);
        for (int i = 0; i < nc * kPackedTileRows; ++i)
          ASSERT_EQ(got[i], want[i]) << isa_name(isa) << " " << dtype_name(p.type) << " " << nc;
      }
    }
  }
}

// The fast path's error comes mostly from the blocks that a few large channels put on a coarse
// scale; carrying those blocks' rounding errors (the outlier blocks) removes most of it, packed
// and row-major. Plain 8-bit activations are the product of the dequantized weights with the
// rounded rows alone.
TEST(FastPath, OutlierBlocksTakeOutTheLargeChannelsError) {
  ThreadPool two(2);
  const int64_t rows = 40, n = 9, cols = 512;  // two tiles of rows, whole K-quant super-blocks
  for (DType type : {DType::kQ4_1, DType::kQ8_0, DType::kQ4_K}) {
    const auto bytes = testing::random_row_bytes(type, cols * rows, 81);
    TensorView w = matrix_view(type, cols, rows, bytes);
    const std::vector<uint8_t> packed = pack_rows(w);
    auto x = random_floats(n * cols, 82);
    for (int64_t i = 0; i < n; ++i) {  // two large channels a row, in blocks that vary by row
      x[i * cols + 32 * (i % 16) + 5] = 40.0f;
      x[i * cols + 32 * ((i + 7) % 16) + 20] = -35.0f;
    }
    std::vector<float> exact(n * rows), fast(n * rows), wf(cols);
    matmul(two, w, x.data(), n, exact.data(), Precision::kExact);
    double plain_error = 0;
    std::vector<uint8_t> q(q8_row_bytes(cols));
    for (int64_t i = 0; i < n; ++i) {
      ref::quantize_row_q8(&x[i * cols], q.data(), cols);
      for (int64_t r = 0; r < rows; ++r) {
        ref::dequantize_row(type, w.row(r), wf.data(), cols);
        double product = 0;
        for (int64_t j = 0; j < cols; ++j)
          product += double(wf[j]) * reinterpret_cast<const int8_t*>(q.data())[j] *
                     q8_scales(q.data(), cols)[j / kQ8Block];
        plain_error = std::max(plain_error, std::fabs(product - exact[i * rows + r]));
      }
    }
    std::vector<const uint8_t*> layouts = {packed.data()};
    if (has_q8_dot(type)) layouts.push_back(nullptr);
    for (const uint8_t* layout : layouts) {
      w.packed = layout;
      matmul(two, w, x.data(), n, fast.data(), Precision::kFast);
      double fast_error = 0;
      for (int64_t i = 0; i < n * rows; ++i)
        fast_error = std::max<double>(fast_error, std::fabs(fast[i] - exact[i]));
      EXPECT_LT(fast_error, plain_error / 4)
          << dtype_name(type) << (layout ? " packed" : " row-major") << ": plain 8-bit "
          << plain_error;
    }
  }
}

// Several matrices by the same activations (q, k and v of three weight types, packed and not)
// give the bits of one matmul each, at every precision, as one pass or as a fallback.
TEST(FastPath, MatricesSharingAnInputEqualTheirOwnMatmuls) {
  ThreadPool two(2);
  const int64_t cols = 768, n = 11;  // whole K-quant super-blocks of 256
  const DType types[] = {DType::kQ4_1, DType::kQ4_K, DType::kQ6_K};
  const int64_t rows[] = {576, 37, 64};
  std::vector<std::vector<uint8_t>> bytes, packed;
  std::vector<TensorView> views;
  for (int m = 0; m < 3; ++m) {
    bytes.push_back(testing::random_row_bytes(types[m], cols * rows[m], 50 + m));
    views.push_back(matrix_view(types[m], cols, rows[m], bytes.back()));
    packed.push_back(pack_rows(views.back()));
  }
  const auto x = testing::random_floats(n * cols, 53);
  for (bool pack : {true, false})
    for (Precision precision : {Precision::kFast, Precision::kSplit, Precision::kExact}) {
      std::vector<std::vector<float>> together(3), alone(3);
      const TensorView* matrices[3];
      float* outs[3];
      for (int m = 0; m < 3; ++m) {
        views[m].packed = pack ? packed[m].data() : nullptr;
        together[m].resize(n * rows[m]);
        alone[m].resize(n * rows[m]);
        matrices[m] = &views[m];
        outs[m] = together[m].data();
        matmul(two, views[m], x.data(), n, alone[m].data(), precision);
      }
      matmul_shared_input(two, matrices, x.data(), n, outs, precision);
      for (int m = 0; m < 3; ++m)
        ASSERT_EQ(together[m], alone[m])
            << dtype_name(types[m]) << " " << precision_name(precision) << (pack ? " packed" : "");
    }
}

// Split activations (a row's 8-bit rounding plus that rounding's error in 8 bits) are batch
// invariant like the fast path's, and land far closer to the exact product.
TEST(FastPath, SplitActivationsAreBatchInvariantAndNearlyExact) {
  ThreadPool one(1), two(2);
  const int64_t rows = 43, n = 5;
  for (const PackedCase& p : kPackedCases) {
    const int64_t cols = p.cols == 96 ? 576 : 1536;
    const auto bytes = testing::random_row_bytes(p.type, cols * rows, 43);
    TensorView w = matrix_view(p.type, cols, rows, bytes);
    const std::vector<uint8_t> packed = pack_rows(w);
    w.packed = packed.data();
    const auto x = testing::random_floats(n * cols, 44);
    std::vector<float> exact(n * rows), fast(n * rows), split(n * rows), alone(rows);
    matmul(two, w, x.data(), n, exact.data(), Precision::kExact);
    matmul(two, w, x.data(), n, fast.data(), Precision::kFast);
    matmul(two, w, x.data(), n, split.data(), Precision::kSplit);
    double fast_error = 0, split_error = 0;
    for (int64_t i = 0; i < n * rows; ++i) {
      fast_error = std::max<double>(fast_error, std::fabs(fast[i] - exact[i]));
      split_error = std::max<double>(split_error, std::fabs(split[i] - exact[i]));
    }
    EXPECT_LT(split_error, fast_error / 50) << dtype_name(p.type);
    for (int64_t i = 0; i < n; ++i) {
      matmul(i % 2 ? one : two, w, &x[i * cols], 1, alone.data(), Precision::kSplit);
      for (int64_t r = 0; r < rows; ++r)
        ASSERT_EQ(split[i * rows + r], alone[r]) << dtype_name(p.type) << " row " << i;
    }
  }
}

// Each packed row holds exactly the values of the exact dequantization (the K-quants' scales as
// stored, formed into f32 products; Q5_0's and Q6_K's values less their bias; Q6_K's 8-bit scales
// as they are).
TEST(FastPath, PackedRowsEqualTheExactDequantization) {
  for (const PackedCase& p : kPackedCases) {
    const int64_t rows = 13, cols = p.cols * 2;
    const auto bytes = testing::random_row_bytes(p.type, cols * rows, 71);
    const TensorView w = matrix_view(p.type, cols, rows, bytes);
    const std::vector<uint8_t> packed = pack_rows(w);
    ASSERT_EQ(packed.size(), packed_bytes(p.type, rows, cols)) << dtype_name(p.type);
    std::vector<float> want(cols), got(cols);
    for (int64_t r = 0; r < rows; ++r) {
      ref::dequantize_row(p.type, w.row(r), want.data(), cols);
      unpack_row(p.type, packed.data() + r / kPackedRows * packed_group_bytes(p.type, cols), cols,
                 static_cast<int>(r % kPackedRows), got.data());
      for (int64_t i = 0; i < cols; ++i)
        ASSERT_EQ(got[i], want[i]) << dtype_name(p.type) << " row " << r << " column " << i;
    }
  }
}

// The packed kernels are bitwise their scalar twin, which is the product of the exactly
// dequantized weights with the quantized activations up to rounding, for every number of
// activation rows and a partial group.
TEST(FastPath, PackedMatchesScalarAndRowMajorOnEveryIsa) {
  for (const PackedCase& p : kPackedCases) {
    const DType type = p.type;
    const int64_t cols = p.cols, rows = 21;  // a whole tile of two groups, then 5 rows
    const auto bytes = testing::random_row_bytes(type, cols * rows, 31);
    const TensorView w = matrix_view(type, cols, rows, bytes);
    const std::vector<uint8_t> packed = pack_rows(w);
    ASSERT_EQ(packed.size(), packed_bytes(type, rows, cols));
    std::vector<std::vector<uint8_t>> q;
    const uint8_t* qp[kPackedTileCols];
    for (int c = 0; c < kPackedTileCols; ++c) {
      q.emplace_back(q8_row_bytes(cols));
      ref::quantize_row_q8(testing::random_floats(cols, 32 + c).data(), q.back().data(), cols);
      qp[c] = q.back().data();
    }
    for (int64_t t = 0; t < 2; ++t) {
      const uint8_t* groups = packed.data() + t * 2 * packed_group_bytes(type, cols);
      const int nr =
          static_cast<int>(std::min<int64_t>(kPackedTileRows, rows - t * kPackedTileRows));
      for (int nc = 1; nc <= kPackedTileCols; ++nc) {
        float want[kPackedTileCols * kPackedTileRows];
        ref::dot_packed(type, groups, cols, {qp}, nc, nr, want, kPackedTileRows);
        for (int c = 0; c < nc; ++c)
          for (int r = 0; r < nr; ++r) {
            std::vector<float> wf(cols);
            ref::dequantize_row(type, w.row(t * kPackedTileRows + r), wf.data(), cols);
            const auto* values = reinterpret_cast<const int8_t*>(qp[c]);
            double product = 0;
            for (int64_t i = 0; i < cols; ++i)
              product += double(wf[i]) * values[i] * q8_scales(qp[c], cols)[i / 32];
            ASSERT_NEAR(want[c * kPackedTileRows + r], product, 1e-4 * (1 + std::fabs(product)))
                << dtype_name(type);
            if (has_q8_dot(type)) {
              const float row_major =
                  ref::dot_q8(type, w.row(t * kPackedTileRows + r), qp[c], cols);
              ASSERT_NEAR(want[c * kPackedTileRows + r], row_major,
                          1e-5 * (1 + std::fabs(row_major)));
            }
          }
        for (Isa isa : supported_isas()) {
          if (kernels_for(isa).dot_packed == nullptr) continue;
          float got[kPackedTileCols * kPackedTileRows];
          kernels_for(isa).dot_packed(type, groups, cols, {qp}, nc, nr, got, kPackedTileRows);
          for (int c = 0; c < nc; ++c)
            for (int r = 0; r < nr; ++r)
              ASSERT_EQ(got[c * kPackedTileRows + r], want[c * kPackedTileRows + r])
                  << isa_name(isa) << " " << dtype_name(type) << " " << nc << " activation rows";
        }
      }
    }
  }
}

}  // namespace
}  // namespace kvscope

namespace kvscope {
namespace {

// Every element of every tile shape is bitwise the pair's own dot product.
TEST(FastPath, TilesEqualPairsBitwiseOnEveryIsa) {
  for (Isa isa : supported_isas()) {
    const Kernels& k = kernels_for(isa);
    for (DType type : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1}) {
      const int64_t n = 96;  // an odd number of blocks: the lone-block tail too
      std::vector<std::vector<uint8_t>> w, q;
      for (int r = 0; r < kQ8TileMax; ++r) w.push_back(testing::random_row_bytes(type, n, 50 + r));
      for (int c = 0; c < kQ8TileMax; ++c) {
        q.emplace_back(q8_row_bytes(n));
        ref::quantize_row_q8(testing::random_floats(n, 60 + c).data(), q.back().data(), n);
      }
      const uint8_t* wp[kQ8TileMax];
      const uint8_t* qp[kQ8TileMax];
      for (int i = 0; i < kQ8TileMax; ++i) {
        wp[i] = w[i].data();
        qp[i] = q[i].data();
      }
      for (int nr = 1; nr <= kQ8TileMax; ++nr)
        for (int nc = 1; nc <= kQ8TileMax; ++nc) {
          float out[kQ8TileMax * kQ8TileMax];
          k.dot_q8_tile(type, wp, nr, qp, nc, n, out, kQ8TileMax);
          for (int c = 0; c < nc; ++c)
            for (int r = 0; r < nr; ++r)
              ASSERT_EQ(out[c * kQ8TileMax + r], k.dot_q8(type, wp[r], qp[c], n))
                  << isa_name(isa) << " " << dtype_name(type) << " tile " << nr << "x" << nc;
        }
    }
  }
}

}  // namespace
}  // namespace kvscope

namespace kvscope {
namespace {

// Rounding to BF16 on every instruction set, bit for bit: ties to even, subnormals to signed
// zeros, infinities kept, NaN quiet.
TEST(Bf16FastPath, RoundingMatchesScalarBitwiseOnEveryIsa) {
  std::vector<float> x = random_floats(203, 61, 4.0f);
  const float specials[] = {0.0f,
                            -0.0f,
                            std::numeric_limits<float>::denorm_min(),
                            -1e-39f,
                            std::numeric_limits<float>::min(),
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::max(),
                            bits_to_float(0x3F808000),   // a tie: stays 0x3F80
                            bits_to_float(0x3F818000)};  // a tie: up to 0x3F82
  std::copy(std::begin(specials), std::end(specials), x.begin() + 40);
  std::vector<uint16_t> want(x.size());
  ref::round_row_bf16(x.data(), want.data(), static_cast<int64_t>(x.size()));
  EXPECT_EQ(want[40 + 2], 0);
  EXPECT_EQ(want[40 + 3], 0x8000);
  EXPECT_EQ(want[40 + 5], 0x7F80);
  EXPECT_EQ(want[40 + 9], 0x3F80);
  EXPECT_EQ(want[40 + 10], 0x3F82);
  for (Isa isa : supported_isas()) {
    std::vector<uint16_t> got(x.size());
    kernels_for(isa).round_row_bf16(x.data(), got.data(), static_cast<int64_t>(x.size()));
    EXPECT_EQ(got, want) << isa_name(isa);
  }
}

// The BF16 tile is the definition in kernels/ref/bf16.h bit for bit on every tile shape, where the
// CPU has AVX512_BF16, including rows whose products and sums fall below f32's normal range
// (flushed to zero) and weights that are subnormal; and it is a dot product.
TEST(Bf16FastPath, TileMatchesScalarBitwiseOnEveryIsa) {
  for (int64_t n : {32, 96, 576, 2048}) {
    std::vector<std::vector<uint16_t>> w(kBf16TileRows), x(kBf16TileCols);
    std::vector<std::vector<float>> wf(kBf16TileRows), xf(kBf16TileCols);
    for (int r = 0; r < kBf16TileRows; ++r) {
      // Row 2 so small that its products with column 3's values are subnormal.
      wf[r] = random_floats(n, 70 + r + n, r == 2 ? 1e-20f : 0.05f);
      w[r].resize(n);
      ref::round_row_bf16(wf[r].data(), w[r].data(), n);
      wf[r].assign(n, 0.0f);
      for (int64_t i = 0; i < n; ++i) wf[r][i] = bf16_to_f32(w[r][i]);
    }
    w[1][7] = 0x0001;  // subnormal weights, read as zeros
    w[1][8] = 0x8040;
    wf[1][7] = wf[1][8] = 0.0f;
    for (int c = 0; c < kBf16TileCols; ++c) {
      xf[c] = random_floats(n, 80 + c + n, c == 3 ? 1e-19f : 2.0f);
      x[c].resize(n);
      ref::round_row_bf16(xf[c].data(), x[c].data(), n);
    }
    const uint16_t* wp[kBf16TileRows];
    const uint16_t* xp[kBf16TileCols];
    for (int r = 0; r < kBf16TileRows; ++r) wp[r] = w[r].data();
    for (int c = 0; c < kBf16TileCols; ++c) xp[c] = x[c].data();
    float want[kBf16TileRows * kBf16TileCols];
    ref::dot_bf16_tile(wp, kBf16TileRows, xp, kBf16TileCols, n, want, kBf16TileRows);
    for (int c = 0; c < kBf16TileCols; ++c)
      for (int r = 0; r < kBf16TileRows; ++r) {
        double exact = 0, magnitude = 0;
        for (int64_t i = 0; i < n; ++i) {
          exact += double(wf[r][i]) * bf16_to_f32(x[c][i]);
          magnitude += std::fabs(double(wf[r][i]) * bf16_to_f32(x[c][i]));
        }
        if (r == 2 && c == 3) {
          EXPECT_EQ(want[c * kBf16TileRows + r], 0.0f);  // every product flushed
        } else {
          EXPECT_NEAR(want[c * kBf16TileRows + r], exact, 1e-6 * magnitude) << "n=" << n;
        }
      }
    for (Isa isa : supported_isas()) {
      const Kernels& k = kernels_for(isa);
      if (k.dot_bf16_tile == nullptr) continue;  // without AVX512_BF16
      for (int nr = 1; nr <= kBf16TileRows; ++nr)
        for (int nc = 1; nc <= kBf16TileCols; ++nc) {
          float got[kBf16TileRows * kBf16TileCols];
          k.dot_bf16_tile(wp, nr, xp, nc, n, got, kBf16TileRows);
          for (int c = 0; c < nc; ++c)
            for (int r = 0; r < nr; ++r)
              ASSERT_EQ(float_to_bits(got[c * kBf16TileRows + r]),
                        float_to_bits(want[c * kBf16TileRows + r]))
                  << isa_name(isa) << " tile " << nr << "x" << nc << " element " << r << "," << c
                  << " n=" << n;
        }
    }
  }
}

// BF16 weights on the fast path: a row's bits alone, in a batch and with any thread count, and
// within BF16's rounding of the activations from the exact path.
TEST(Bf16FastPath, MatmulIsBatchInvariantAndNearTheExactPath) {
  ThreadPool one(1), two(2);
  const int64_t cols = 576, rows = 45, n = 9;
  const auto bytes = random_row_bytes(DType::kBF16, cols * rows, 3);
  const TensorView w = matrix_view(DType::kBF16, cols, rows, bytes);
  const auto x = random_floats(n * cols, 4);
  std::vector<float> batch(n * rows), alone(rows), exact(n * rows);
  matmul(two, w, x.data(), n, batch.data(), Precision::kFast);
  matmul(two, w, x.data(), n, exact.data(), Precision::kExact);
  std::vector<float> weights(cols);
  for (int64_t i = 0; i < n; ++i) {
    matmul(i % 2 ? one : two, w, &x[i * cols], 1, alone.data(), Precision::kFast);
    for (int64_t r = 0; r < rows; ++r) {
      ASSERT_EQ(batch[i * rows + r], alone[r]) << "row " << i;
      // Rounding moves each activation by at most 2^-9 of itself, so the result by at most
      // 2^-9 sum |w x|, beside the f32 sums' own rounding.
      ref::dequantize_row(DType::kBF16, w.row(r), weights.data(), cols);
      double magnitude = 0;
      for (int64_t j = 0; j < cols; ++j) magnitude += std::fabs(weights[j] * x[i * cols + j]);
      ASSERT_NEAR(batch[i * rows + r], exact[i * rows + r], magnitude / 512 + 1e-4) << "row " << i;
    }
  }
}

TEST(WideHead, DotMatchesScalarAndTheDequantizedProduct) {
  for (int64_t n : {32, 576, 1536}) {
    const auto w = testing::random_row_bytes(DType::kQ8_0, n, 80 + n);
    const auto x = testing::random_floats(n, 81 + n, 2.0f);
    std::vector<uint8_t> q(q16_row_bytes(n));
    ref::quantize_row_q16(x.data(), q.data(), n);
    const float want = ref::dot_q8_0_q16(w.data(), q.data(), n);
    for (Isa isa : supported_isas())
      EXPECT_NEAR(kernels_for(isa).dot_q8_0_q16(w.data(), q.data(), n), want,
                  1e-5f * (1 + std::fabs(want)))
          << isa_name(isa) << " n=" << n;
    // 16-bit activations: within 1e-4 of the f32 product, where 8 bits are two orders off.
    std::vector<float> wf(n);
    ref::dequantize_row(DType::kQ8_0, w.data(), wf.data(), n);
    double exact = 0, magnitude = 0;
    for (int64_t i = 0; i < n; ++i) {
      exact += static_cast<double>(wf[i]) * x[i];
      magnitude += std::fabs(static_cast<double>(wf[i]) * x[i]);
    }
    EXPECT_NEAR(want, exact, 1e-4 * magnitude) << "n=" << n;
  }
}

}  // namespace
}  // namespace kvscope

namespace kvscope {
namespace {

// Rows of `width` f32 values stored as `type` in blocks of `block_rows` positions, the blocks in
// reverse order, as a paged cache may hold them.
struct BlockRows {
  std::vector<uint8_t> k, v;
  std::vector<int32_t> table;
  CachedRows rows;
};

BlockRows lay_out(const std::vector<float>& keys, const std::vector<float>& values, int length,
                  int width, DType type, int block_rows) {
  BlockRows s;
  const size_t row = dtype_bytes(type, static_cast<size_t>(width));
  const int blocks = (length + block_rows - 1) / block_rows;
  for (int b = 0; b < blocks; ++b) s.table.push_back(blocks - 1 - b);  // the last block first
  s.k.resize(static_cast<size_t>(blocks) * block_rows * row);
  s.v.resize(s.k.size());
  s.rows = {s.k.data(), s.v.data(), s.table.data(), block_rows * row, row, block_rows, type};
  for (int j = 0; j < length; ++j) {
    auto store = [&](const float* x, uint8_t* dst) {
      if (type == DType::kF32) std::memcpy(dst, x, width * sizeof(float));
      if (type == DType::kF16)
        for (int i = 0; i < width; ++i) reinterpret_cast<uint16_t*>(dst)[i] = f32_to_f16(x[i]);
      if (type == DType::kQ8_0) ref::quantize_row_q8_0(x, dst, width);
    };
    store(&keys[static_cast<size_t>(j) * width], s.k.data() + s.rows.offset(j));
    store(&values[static_cast<size_t>(j) * width], s.v.data() + s.rows.offset(j));
  }
  return s;
}

// `count` rows of `width` values stored as `type` in one block: each row's place, and the values
// as stored, widened back to f32 (row j at j width).
struct StoredRows {
  BlockRows laid;
  std::vector<const uint8_t*> rows;
  std::vector<float> values;
};

StoredRows store_rows(const std::vector<float>& values, int count, int width, DType type) {
  StoredRows s{lay_out(values, values, count, width, type, count),
               std::vector<const uint8_t*>(count), std::vector<float>(values.size())};
  for (int j = 0; j < count; ++j) {
    s.rows[j] = s.laid.rows.key(j);
    ref::dequantize_row(type, s.rows[j], &s.values[static_cast<size_t>(j) * width], width);
  }
  return s;
}

// attend_heads against attention written out in double precision (over the values as stored:
// f32, f16 or q8_0), through contiguous and scrambled block tables, on every instruction set; the
// block layout never changes a bit of the result.
TEST(Attention, MatchesAPlainSoftmaxWeightedSumThroughAnyBlockTable) {
  const int group = 3, head_dim = 64, length = 37, stride = 192, kv_head = 1;
  const auto q = random_floats(group * head_dim, 1);
  const auto keys = random_floats(static_cast<size_t>(length) * stride, 2);
  const auto values = random_floats(static_cast<size_t>(length) * stride, 3);
  const float scale = 0.125f;
  for (DType type : {DType::kF32, DType::kF16, DType::kQ8_0}) {
    // The values as stored, read back through the scalar dequantizer.
    const BlockRows whole = lay_out(keys, values, length, stride, type, length);
    std::vector<float> k_stored(keys.size()), v_stored(values.size());
    for (int j = 0; j < length; ++j) {
      ref::dequantize_row(type, whole.rows.key(j), &k_stored[static_cast<size_t>(j) * stride],
                          stride);
      ref::dequantize_row(type, whole.rows.value(j), &v_stored[static_cast<size_t>(j) * stride],
                          stride);
    }
    const size_t head_offset = dtype_bytes(type, static_cast<size_t>(kv_head) * head_dim);
    for (Isa isa : supported_isas()) {
      AttentionScratch scratch;
      std::vector<float> contiguous(group * head_dim);
      attend_heads(kernels_for(isa), {q.data(), whole.rows, head_offset, group, head_dim, length},
                   scale, scratch, contiguous.data());
      for (int block_rows : {1, 5, 16}) {
        const BlockRows paged = lay_out(keys, values, length, stride, type, block_rows);
        std::vector<float> out(group * head_dim);
        attend_heads(kernels_for(isa), {q.data(), paged.rows, head_offset, group, head_dim, length},
                     scale, scratch, out.data());
        ASSERT_EQ(0, std::memcmp(out.data(), contiguous.data(), out.size() * sizeof(float)))
            << isa_name(isa) << " " << dtype_name(type) << " blocks of " << block_rows;
      }
      for (int g = 0; g < group; ++g) {
        std::vector<double> w(length);
        double max = -1e300, sum = 0;
        for (int j = 0; j < length; ++j) {
          double dot = 0;
          for (int d = 0; d < head_dim; ++d)
            dot += double(q[g * head_dim + d]) * k_stored[j * stride + kv_head * head_dim + d];
          w[j] = dot * scale;
          max = std::max(max, w[j]);
        }
        for (double& x : w) sum += (x = std::exp(x - max));
        for (int d = 0; d < head_dim; ++d) {
          double want = 0;
          for (int j = 0; j < length; ++j)
            want += w[j] / sum * v_stored[j * stride + kv_head * head_dim + d];
          ASSERT_NEAR(contiguous[g * head_dim + d], want, 1e-5)
              << isa_name(isa) << " " << dtype_name(type) << " head " << g;
        }
      }
    }
  }
}

// Under a sliding window attention reads only positions [first, length): the blocks wholly before
// first, which the paged cache gives back, are never read. Here their table entries point at a
// block of NaNs, which any read would spread into the output; on every instruction set the result
// is the same bits as through the whole table.
TEST(Attention, ASlidingWindowReadsNoBlockBehindIt) {
  const int group = 2, head_dim = 64, length = 37, first = 21;
  const auto q = random_floats(group * head_dim, 4);
  const auto keys = random_floats(static_cast<size_t>(length) * head_dim, 5);
  const auto values = random_floats(static_cast<size_t>(length) * head_dim, 6);
  for (DType type : {DType::kF32, DType::kF16, DType::kQ8_0})
    for (int block_rows : {1, 5, 16}) {
      BlockRows paged = lay_out(keys, values, length, head_dim, type, block_rows);
      const auto nan_block = static_cast<int32_t>(paged.table.size());
      paged.k.resize(paged.k.size() + paged.rows.block_bytes, 0xFF);  // NaN in f32, f16 and q8_0
      paged.v.resize(paged.k.size(), 0xFF);
      paged.rows.k = paged.k.data();
      paged.rows.v = paged.v.data();
      std::vector<int32_t> windowed = paged.table;
      for (int b = 0; b < first / block_rows; ++b) windowed[b] = nan_block;
      CachedRows behind = paged.rows;
      behind.blocks = windowed.data();
      for (Isa isa : supported_isas()) {
        AttentionScratch scratch;
        std::vector<float> whole(group * head_dim), out(group * head_dim);
        attend_heads(kernels_for(isa), {q.data(), paged.rows, 0, group, head_dim, length, first},
                     0.125f, scratch, whole.data());
        attend_heads(kernels_for(isa), {q.data(), behind, 0, group, head_dim, length, first},
                     0.125f, scratch, out.data());
        ASSERT_EQ(0, std::memcmp(out.data(), whole.data(), out.size() * sizeof(float)))
            << isa_name(isa) << " " << dtype_name(type) << " blocks of " << block_rows;
        ASSERT_FALSE(std::isnan(out[0]));
      }
    }
}

// A prompt's tokens attend as runs of consecutive positions, which read each chunk of keys once for
// the run: every token's output is the same bits as when it attends alone, with and without a
// sliding window, whatever the run's length (across a score chunk of 64 positions too).
TEST(Attention, ARunOfTokensGivesEachTokenItsOwnResult) {
  const int group = 3, head_dim = 64, stride = 128, kv_head = 1, tokens = 11, start = 70;
  const int length = start + tokens - 1;  // positions the last token sees
  const auto q = random_floats(static_cast<size_t>(tokens) * group * head_dim, 7);
  const auto keys = random_floats(static_cast<size_t>(length) * stride, 8);
  const auto values = random_floats(static_cast<size_t>(length) * stride, 9);
  const int query_stride = group * head_dim;
  for (DType type : {DType::kF32, DType::kF16, DType::kQ8_0})
    for (int window : {0, 5, 66}) {
      const BlockRows paged = lay_out(keys, values, length, stride, type, 16);
      const size_t head_offset = dtype_bytes(type, static_cast<size_t>(kv_head) * head_dim);
      const auto first = [&](int pos) { return window > 0 ? std::max(0, pos + 1 - window) : 0; };
      for (Isa isa : supported_isas()) {
        AttentionScratch scratch;
        std::vector<float> run(q.size()), alone(q.size());
        attend_heads(kernels_for(isa),
                     {q.data(), paged.rows, head_offset, group, head_dim, start, first(start - 1),
                      tokens, query_stride, window},
                     0.125f, scratch, run.data());
        for (int i = 0; i < tokens; ++i)
          attend_heads(kernels_for(isa),
                       {&q[i * query_stride], paged.rows, head_offset, group, head_dim, start + i,
                        first(start + i - 1)},
                       0.125f, scratch, &alone[i * query_stride]);
        ASSERT_EQ(0, std::memcmp(run.data(), alone.data(), run.size() * sizeof(float)))
            << isa_name(isa) << " " << dtype_name(type) << " window " << window;
      }
    }
}

// Logits far beyond exp's range: the softmax subtracts the maximum first, so it stays finite and
// exact; without that, exp(1000) overflows and every output is NaN.
TEST(Softmax, LargeInputsStayFinite) {
  std::vector<float> x = {1000.0f, 999.0f, 998.0f, -1000.0f, 1000.0f};
  const double e1 = std::exp(-1.0), e2 = std::exp(-2.0), sum = 2 + e1 + e2;
  const std::vector<double> want = {1 / sum, e1 / sum, e2 / sum, 0, 1 / sum};
  ref::softmax(x.data(), static_cast<int64_t>(x.size()), 1.0f);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], want[i], 1e-6) << i;
}

// The vector softmax (scale, maximum, exponentials summed lane by lane) against the scalar one,
// including lengths that leave a partial vector, and a row far beyond exp's range.
TEST(Softmax, MatchesScalarOnEveryIsa) {
  for (Isa isa : supported_isas())
    for (int64_t n : {1, 7, 16, 37, 100, 513}) {
      auto got = random_floats(n, 30 + n);
      for (float& x : got) x *= 40.0f;
      auto want = got;
      kernels_for(isa).softmax(got.data(), n, 0.125f);
      ref::softmax(want.data(), n, 0.125f);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_NEAR(got[i], want[i], 1e-6f * want[i] + 1e-9f) << isa_name(isa) << " n=" << n;
    }
}

// RMSNorm with the squares summed lane by lane: within rounding of a double norm on every
// instruction set, for rows that leave a partial vector too.
TEST(RmsNorm, MatchesADoubleNormOnEveryIsa) {
  for (Isa isa : supported_isas())
    for (int64_t n : {1, 7, 64, 100, 576}) {
      const auto x = random_floats(n, 50 + n), weight = random_floats(n, 51 + n);
      std::vector<float> got(n);
      kernels_for(isa).rms_norm(x.data(), weight.data(), got.data(), n, 1e-5f);
      double squares = 0;
      for (float v : x) squares += double(v) * v;
      const double scale = 1 / std::sqrt(squares / n + 1e-5);
      for (int64_t i = 0; i < n; ++i) {
        const double want = x[i] * scale * weight[i];
        ASSERT_NEAR(got[i], want, 1e-6 * (1 + std::fabs(want))) << isa_name(isa) << " n=" << n;
      }
    }
}

TEST(Swiglu, MatchesScalarOnEveryIsa) {
  for (Isa isa : supported_isas())
    for (int64_t n : {1, 9, 64, 100}) {
      auto gate = random_floats(n, 40 + n);
      for (float& g : gate) g *= 30.0f;  // far into both tails of the sigmoid
      const auto up = random_floats(n, 41 + n);
      std::vector<float> got(n), want(n);
      kernels_for(isa).swiglu(gate.data(), up.data(), got.data(), n);
      ref::swiglu(gate.data(), up.data(), want.data(), n);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_NEAR(got[i], want[i], 1e-6f * std::fabs(want[i]) + 1e-12f) << isa_name(isa);
    }
}

// Attention's scores: within rounding of a double dot product on every instruction set, and each
// score the same bits whether its key comes alone or among others, at any place (batch
// invariance: a token's keys are never grouped the same way in prefill and in decode).
TEST(ScoreRows, MatchADoubleDotAndDoNotDependOnTheirNeighboursOnEveryIsa) {
  const int count = 21;
  for (DType type : {DType::kF32, DType::kF16, DType::kQ8_0})
    for (int width : {8, 40, 64, 96, 128})
      for (int group : {1, 3, 4, 7}) {
        if (type == DType::kQ8_0 && width % 32 != 0) continue;
        const auto keys = random_floats(static_cast<size_t>(count) * width, width * group);
        const StoredRows laid = store_rows(keys, count, width, type);
        const std::vector<const uint8_t*>& rows = laid.rows;
        const std::vector<float>& stored = laid.values;
        const auto queries = random_floats(static_cast<size_t>(group) * width, 3 * group);
        for (Isa isa : supported_isas()) {
          const Kernels& k = kernels_for(isa);
          std::vector<float> all(static_cast<size_t>(group) * count), alone(group);
          k.score_rows(type, rows.data(), count, queries.data(), group, width, all.data(), count);
          for (int j = 0; j < count; ++j) {
            k.score_rows(type, &rows[j], 1, queries.data(), group, width, alone.data(), 1);
            for (int g = 0; g < group; ++g) {
              double want = 0;
              for (int i = 0; i < width; ++i)
                want += double(queries[g * width + i]) * stored[static_cast<size_t>(j) * width + i];
              const float got = all[static_cast<size_t>(g) * count + j];
              ASSERT_NEAR(got, want, 1e-5 * (1 + std::fabs(want))) << isa_name(isa);
              ASSERT_EQ(got, alone[g]) << isa_name(isa) << " " << dtype_name(type) << " key " << j;
            }
          }
        }
      }
}

// A prompt's scores from its keys transposed: every value in its place, and every score the bits
// score_rows gives on that instruction set, from any first key (a sliding window starts anywhere).
TEST(ScoreRows, TransposedKeysGiveTheRowKernelsBitsOnEveryIsa) {
  const int count = 37, stride = 48;  // two whole vectors of 16 keys and a part
  for (DType type : {DType::kF32, DType::kF16, DType::kQ8_0})
    for (int width : {8, 24, 64, 96, 128})
      for (int group : {1, 3, 4, 7}) {
        if (type == DType::kQ8_0 && width % 32 != 0) continue;
        const auto keys = random_floats(static_cast<size_t>(count) * width, width + 5 * group);
        const StoredRows laid = store_rows(keys, count, width, type);
        const std::vector<const uint8_t*>& rows = laid.rows;
        const std::vector<float>& stored = laid.values;
        const auto queries = random_floats(static_cast<size_t>(group) * width, 11 * group);
        for (Isa isa : supported_isas()) {
          const Kernels& k = kernels_for(isa);
          if (k.transpose_keys == nullptr) continue;
          std::vector<float> keys_t(static_cast<size_t>(width) * stride, NAN);
          k.transpose_keys(type, rows.data(), count, width, keys_t.data(), stride);
          for (int i = 0; i < width; ++i)
            for (int j = 0; j < count; ++j)
              ASSERT_EQ(keys_t[static_cast<size_t>(i) * stride + j],
                        stored[static_cast<size_t>(j) * width + i])
                  << isa_name(isa) << " " << dtype_name(type);
          for (int from : {0, 5, 16, 36}) {
            const int scored = count - from;
            std::vector<float> got(static_cast<size_t>(group) * scored, NAN), want(got.size());
            k.score_transposed(&keys_t[from], stride, scored, queries.data(), group, width,
                               got.data(), scored);
            k.score_rows(type, &rows[from], scored, queries.data(), group, width, want.data(),
                         scored);
            for (size_t s = 0; s < got.size(); ++s)
              ASSERT_EQ(got[s], want[s]) << isa_name(isa) << " " << dtype_name(type) << " width "
                                         << width << " group " << group << " from " << from;
          }
        }
      }
}

// Attention's weighted sum of value rows: on the SIMD instruction sets, for widths of whole
// vectors, every output is the chain of fused multiply-adds over the rows in order, the bits a
// chain of axpy calls gave; every instruction set stays within rounding of a double sum.
TEST(WeightedRows, AreAnFmaChainInRowOrderOnEveryIsa) {
  const int count = 29;
  for (DType type : {DType::kF32, DType::kF16, DType::kQ8_0})
    for (int width : {8, 32, 64, 96, 256, 40})
      for (int group : {1, 3, 7, 13}) {
        if (type == DType::kQ8_0 && width % 32 != 0) continue;
        const auto values = random_floats(static_cast<size_t>(count) * width, width + group);
        const StoredRows laid = store_rows(values, count, width, type);
        const std::vector<const uint8_t*>& rows = laid.rows;
        const std::vector<float>& stored = laid.values;
        const int64_t stride = count + 3;
        const auto weights = random_floats(static_cast<size_t>(group) * stride, 7 * group);
        for (Isa isa : supported_isas()) {
          std::vector<float> out(static_cast<size_t>(group) * width, NAN);
          kernels_for(isa).weighted_rows(type, rows.data(), count, weights.data(), stride, group,
                                         width, out.data(), width);
          for (int g = 0; g < group; ++g)
            for (int i = 0; i < width; ++i) {
              float chain = 0.0f;
              double exact = 0;
              for (int j = 0; j < count; ++j) {
                const float v = stored[static_cast<size_t>(j) * width + i];
                chain = std::fma(weights[g * stride + j], v, chain);
                exact += double(weights[g * stride + j]) * v;
              }
              const float got = out[static_cast<size_t>(g) * width + i];
              ASSERT_NEAR(got, exact, 1e-5) << isa_name(isa) << " " << dtype_name(type);
              if (isa != Isa::kScalar && width % 8 == 0) {
                ASSERT_EQ(got, chain) << isa_name(isa) << " " << dtype_name(type) << " width "
                                      << width << " group " << group;
              }
            }
        }
      }
}

// RoPE with a partial rotary part (rope_dims < head_dim, as Phi and GPT-NeoX use): pair i turns
// by position · base^(-2i / rope_dims), and the dimensions past rope_dims stay as they are.
TEST(Rope, PartialRotaryMatchesADoublePrecisionFormula) {
  constexpr int kHeads = 2, kHeadDim = 16, kRopeDims = 8;
  constexpr double kBase = 10000.0;
  for (bool neox : {false, true}) {
    for (float position : {0.0f, 1.0f, 7.0f, 300.0f}) {
      const std::vector<float> x =
          random_floats(kHeads * kHeadDim, 90 + static_cast<int>(position));
      std::vector<float> got = x;
      ref::rope(got.data(), kHeads, kHeadDim, kRopeDims, position, static_cast<float>(kBase), neox);
      std::vector<double> want(x.begin(), x.end());
      for (int h = 0; h < kHeads; ++h)
        for (int i = 0; i < kRopeDims / 2; ++i) {
          const double angle = position * std::pow(kBase, -2.0 * i / kRopeDims);
          const int a = h * kHeadDim + (neox ? i : 2 * i);
          const int b = h * kHeadDim + (neox ? i + kRopeDims / 2 : 2 * i + 1);
          want[a] = x[a] * std::cos(angle) - x[b] * std::sin(angle);
          want[b] = x[a] * std::sin(angle) + x[b] * std::cos(angle);
        }
      for (size_t i = 0; i < x.size(); ++i)
        EXPECT_NEAR(got[i], want[i], 1e-5)
            << "neox " << neox << " position " << position << " dim " << i;
    }
  }
}

// The rotation a q8_0 KV cache stores rows through: each run of `block` values times Sylvester's
// Hadamard matrix (H_2k = [[H_k, H_k], [H_k, -H_k]]) over sqrt(block), built here in double.
TEST(Hadamard, MatchesSylvestersMatrixAndIsItsOwnInverse) {
  for (int block : {1, 2, 8, 64, 128}) {
    std::vector<double> h = {1};
    for (int size = 1; size < block; size *= 2) {
      std::vector<double> next(4 * size * size);
      for (int i = 0; i < size; ++i)
        for (int j = 0; j < size; ++j) {
          const double v = h[i * size + j];
          next[i * 2 * size + j] = next[i * 2 * size + j + size] = next[(i + size) * 2 * size + j] =
              v;
          next[(i + size) * 2 * size + j + size] = -v;
        }
      h = std::move(next);
    }
    const std::vector<float> x = random_floats(3 * static_cast<size_t>(block), 7 + block);
    std::vector<float> got = x;
    ref::hadamard(got.data(), static_cast<int64_t>(got.size()), block);
    for (int run = 0; run < 3; ++run)
      for (int i = 0; i < block; ++i) {
        double want = 0;
        for (int j = 0; j < block; ++j) want += h[i * block + j] * x[run * block + j];
        EXPECT_NEAR(got[run * block + i], want / std::sqrt(block), 1e-5) << block << " " << i;
      }
    ref::hadamard(got.data(), static_cast<int64_t>(got.size()), block);
    for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(got[i], x[i], 1e-5) << block << " " << i;
  }
}

// Why the q8_0 cache rotates: one outlier in a head sets the scale of its block of 32 and rounds
// the other 31 values coarsely; turned, the outlier is spread over all 64 values and every block
// keeps a finer scale. A key with one large channel, as attention keys have, comes back closer.
TEST(Hadamard, RotatedQ8_0RowsComeBackCloser) {
  constexpr int kHeadDim = 64;
  std::vector<float> key = random_floats(kHeadDim, 11);
  key[5] = 40.0f;
  auto q8_0_error = [&](bool rotate) {
    std::vector<float> row = key;
    if (rotate) ref::hadamard(row.data(), kHeadDim, kHeadDim);
    std::vector<uint8_t> stored(kHeadDim / 32 * 34);
    ref::quantize_row_q8_0(row.data(), stored.data(), kHeadDim);
    ref::dequantize_row(DType::kQ8_0, stored.data(), row.data(), kHeadDim);
    if (rotate) ref::hadamard(row.data(), kHeadDim, kHeadDim);
    double squared = 0;
    for (int i = 0; i < kHeadDim; ++i) squared += (row[i] - key[i]) * (row[i] - key[i]);
    return std::sqrt(squared);
  };
  EXPECT_LT(q8_0_error(true), 0.5 * q8_0_error(false));
}

}  // namespace
}  // namespace kvscope
