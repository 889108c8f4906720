// The vector kernels of the elementwise training ops against their scalar definitions, on every
// instruction set this CPU has, with lengths that end inside a vector.
#include "train/ops.h"

#include <gtest/gtest.h>

#include "random_tensors.h"
#include "train_goldens.h"

namespace kvscope::train {
namespace {

using testing::random_floats;
using testing::relative_error;

TEST(TrainOps, SwigluMatchesTheScalarDefinition) {
  ThreadPool pool(2);
  for (int64_t n : {1, 7, 16, 37, 1000}) {
    const auto gate = random_floats(n, 1, 4.0f), up = random_floats(n, 2),
               dout = random_floats(n, 3);
    std::vector<float> out(n), dgate(n), dup(n);
    swiglu_forward(pool, gate.data(), up.data(), n, out.data(), Isa::kScalar);
    swiglu_backward(pool, dout.data(), gate.data(), up.data(), n, dgate.data(), dup.data(),
                    Isa::kScalar);
    for (Isa isa : supported_isas()) {
      std::vector<float> out2(n), dgate2(n), dup2(n);
      swiglu_forward(pool, gate.data(), up.data(), n, out2.data(), isa);
      swiglu_backward(pool, dout.data(), gate.data(), up.data(), n, dgate2.data(), dup2.data(),
                      isa);
      EXPECT_LE(relative_error(out2.data(), out.data(), n), 1e-6) << isa_name(isa) << " " << n;
      EXPECT_LE(relative_error(dgate2.data(), dgate.data(), n), 1e-6) << isa_name(isa) << " " << n;
      EXPECT_LE(relative_error(dup2.data(), dup.data(), n), 1e-6) << isa_name(isa) << " " << n;
    }
  }
}

TEST(TrainOps, CrossEntropyMatchesTheScalarDefinition) {
  ThreadPool pool(2);
  for (int64_t vocab : {5, 16, 100, 1024}) {
    const int64_t n = 9;
    const auto logits = random_floats(n * vocab, 4, 3.0f);
    std::vector<int32_t> targets(n);
    for (int64_t t = 0; t < n; ++t) targets[t] = t == 4 ? -1 : static_cast<int32_t>(t * 7 % vocab);
    auto expected = logits;
    int64_t counted = 0;
    const double loss =
        cross_entropy(pool, expected.data(), targets.data(), n, vocab, &counted, Isa::kScalar);
    EXPECT_EQ(counted, n - 1);
    for (Isa isa : supported_isas()) {
      auto grad = logits, scratch = logits;
      EXPECT_NEAR(cross_entropy(pool, grad.data(), targets.data(), n, vocab, nullptr, isa), loss,
                  1e-6 * loss)
          << isa_name(isa) << " " << vocab;
      EXPECT_NEAR(cross_entropy_loss(pool, scratch.data(), targets.data(), n, vocab, nullptr, isa),
                  loss, 1e-6 * loss)
          << isa_name(isa) << " " << vocab;
      EXPECT_LE(relative_error(grad.data(), expected.data(), n * vocab), 1e-6)
          << isa_name(isa) << " " << vocab;
    }
  }
}

}  // namespace
}  // namespace kvscope::train
