#pragma once
// out[i][r] = dot(W row r, x row i) for a weight matrix W stored in any supported type.
// Each output element is one dot product of a weight row with an activation row, always in the
// same order: results do not depend on n, on the thread count, or on which other rows are
// computed alongside (batch invariance).
#include <cstdint>
#include <string_view>

#include "core/tensor.h"
#include "core/thread_pool.h"

namespace kvscope {

enum class Precision {
  kExact,  // f32 activations times dequantized weights: matches transformers
  kFast,   // activations quantized to 8 bits, integer dot products (as llama.cpp does)
  kWide,   // activations quantized to 16 bits (for Q8_0 weights; the fast path's output head)
};

inline std::string_view precision_name(Precision p) {
  return p == Precision::kFast ? "fast" : p == Precision::kWide ? "wide" : "exact";
}

// x is [n][w.cols()], out is [n][w.rows()]. kFast and kWide fall back to kExact for weight types
// without an integer kernel (F32, F16, BF16; Q5_0, Q5_1, Q4_K, Q5_K and Q6_K unless packed, which
// they are on AVX2 and AVX-512), kWide to kFast for the types other than Q8_0.
void matmul(ThreadPool& pool, const TensorView& w, const float* x, int64_t n, float* out,
            Precision precision = Precision::kExact);

}  // namespace kvscope
