#pragma once
// out[i][r] = dot(W row r, x row i) for a weight matrix W stored in any supported type.
// Each output element is one dot product of a dequantized weight row with an f32 activation
// row, always in the same order: results do not depend on n, on the thread count, or on which
// other rows are computed alongside (batch invariance).
#include <cstdint>

#include "core/tensor.h"
#include "core/thread_pool.h"

namespace kvscope {

// x is [n][w.cols()], out is [n][w.rows()].
void matmul(ThreadPool& pool, const TensorView& w, const float* x, int64_t n, float* out);

}  // namespace kvscope
