// The training matmuls against plain loops, for shapes with and without partial tiles.
#include "train/matmul.h"

#include <gtest/gtest.h>

#include "random_tensors.h"
#include "train_goldens.h"

namespace kvscope::train {
namespace {

using testing::random_floats;
using testing::relative_error;

TEST(TrainMatmul, GemmMatchesTheReferenceOnEveryShapeAndInstructionSet) {
  ThreadPool pool(2);
  // Widths with and without AVX-512's 32-column panels and AVX2's 16-column ones, heights with
  // and without whole tiles of rows.
  for (auto [m, n, k] : {std::tuple{1, 1, 1},
                         {4, 16, 8},
                         {5, 17, 3},
                         {13, 40, 29},
                         {64, 48, 96},
                         {7, 57, 11},
                         {12, 64, 5},
                         {30, 100, 70}}) {
    for (auto [transposed, b_transposed] :
         {std::pair{false, false}, {true, false}, {false, true}}) {
      for (bool accumulate : {false, true}) {
        const auto a = random_floats(static_cast<size_t>(m * k), 1),
                   b = random_floats(static_cast<size_t>(k * n), 2);
        auto c = random_floats(static_cast<size_t>(m * n), 3), expected = c;
        GemmArgs g{.m = m,
                   .n = n,
                   .k = k,
                   .a = a.data(),
                   .a_row = transposed ? 1 : k,
                   .a_col = transposed ? m : 1,
                   .b = b.data(),
                   .b_row = b_transposed ? 1 : n,
                   .b_col = b_transposed ? k : 1,
                   .c = expected.data(),
                   .c_row = n,
                   .accumulate = accumulate};
        gemm_reference(g);
        for (Isa isa : supported_isas()) {
          auto out = c;
          g.c = out.data();
          gemm(pool, g, isa);
          EXPECT_LE(relative_error(out.data(), expected.data(), m * n), 1e-5)
              << isa_name(isa) << " " << m << "x" << n << "x" << k << (transposed ? " aT" : "")
              << (b_transposed ? " bT" : "") << (accumulate ? " +=" : "");
        }
      }
    }
  }
}

TEST(TrainMatmul, LinearProductsAreTheTransposesTheyClaim) {
  ThreadPool pool(2);
  const int64_t n = 6, in = 20, out = 18;
  const auto x = random_floats(n * in, 4), w = random_floats(out * in, 5),
             dy = random_floats(n * out, 6);
  std::vector<float> y(n * out), dx(n * in), dw(out * in, 0.0f);
  linear_forward(pool, x.data(), w.data(), n, in, out, y.data());
  linear_backward_input(pool, dy.data(), w.data(), n, in, out, dx.data(), false);
  linear_backward_weight(pool, dy.data(), x.data(), n, in, out, dw.data());
  for (int64_t r = 0; r < n; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double sum = 0;
      for (int64_t i = 0; i < in; ++i) sum += x[r * in + i] * w[o * in + i];
      EXPECT_NEAR(y[r * out + o], sum, 1e-4);
    }
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) {
      double sum = 0;
      for (int64_t r = 0; r < n; ++r) sum += dy[r * out + o] * x[r * in + i];
      EXPECT_NEAR(dw[o * in + i], sum, 1e-4);
    }
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < in; ++i) {
      double sum = 0;
      for (int64_t o = 0; o < out; ++o) sum += dy[r * out + o] * w[o * in + i];
      EXPECT_NEAR(dx[r * in + i], sum, 1e-4);
    }
}

}  // namespace
}  // namespace kvscope::train
