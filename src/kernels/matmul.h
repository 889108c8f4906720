#pragma once
// out[i][r] = dot(W row r, x row i) for a weight matrix W stored in any supported type.
// Each output element is one dot product of a weight row with an activation row, always in the
// same order: results do not depend on n, on the thread count, or on which other rows are
// computed alongside (batch invariance).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/tensor.h"
#include "core/thread_pool.h"

namespace kvscope {

enum class Precision {
  kExact,  // f32 activations times dequantized weights: matches transformers
  kFast,   // activations quantized to 8 bits, integer dot products (as llama.cpp does), and each
           // row's outlier blocks' rounding errors too (matmul.cpp)
  kInt8,   // kFast without the outlier blocks: 8-bit activations alone
  kSplit,  // each activation row as two 8-bit rows, its rounding and that rounding's error: about
           // 15 bits on the same integer kernels, for twice their products
  kWide,   // activations quantized to 16 bits (for Q8_0 weights; the fast path's output head)
};

std::string_view precision_name(Precision p);
// kFast or kInt8: the fast path, 8-bit activations (with or without the outlier blocks).
constexpr bool is_fast_path(Precision p) { return p == Precision::kFast || p == Precision::kInt8; }

// The forward pass's matrices by the activations they read, so that the fast path can split the
// activations of some kinds only (bench faithfulness measures what each kind's 8 bits cost).
enum class MatrixKind { kQkv, kAttentionOut, kFeedForwardIn, kFeedForwardDown, kOutputHead };
constexpr MatrixKind kMatrixKinds[] = {MatrixKind::kQkv, MatrixKind::kAttentionOut,
                                       MatrixKind::kFeedForwardIn, MatrixKind::kFeedForwardDown,
                                       MatrixKind::kOutputHead};
std::string_view matrix_kind_name(MatrixKind kind);  // qkv, attn_out, ffn_in, ffn_down, head
// A set of kinds as bits (1 << kind).
using MatrixKinds = unsigned;
constexpr MatrixKinds matrix_kind_bit(MatrixKind kind) { return 1u << static_cast<int>(kind); }
MatrixKind parse_matrix_kind(std::string_view name);  // Error on any other name
std::string matrix_kinds_name(MatrixKinds kinds);     // the comma list back; "" for none
// The precisions a user chooses from (kWide is the head's own, not a choice).
constexpr Precision kChoosablePrecisions[] = {Precision::kFast, Precision::kInt8, Precision::kSplit,
                                              Precision::kExact};
// fast, int8, split or exact; Error on any other name.
Precision parse_precision(std::string_view name);

// x is [n][w.cols()], out is [n][w.rows()]. kFast, kInt8, kSplit and kWide fall back to kExact for
// weight types without an integer kernel (F32, F16, BF16; Q5_0, Q5_1, Q4_K, Q5_K and Q6_K unless
// packed, which they are on AVX2 and AVX-512), kWide to kFast for the types other than Q8_0.
void matmul(ThreadPool& pool, const TensorView& w, const float* x, int64_t n, float* out,
            Precision precision = Precision::kExact);

// matmul of several matrices (q, k and v; gate and up) by the same x into outs[m], the same bits.
// On the fast path with packed weights the activations are quantized once and all the matrices'
// tiles share one pass over the pool: fewer passes, fewer waits for the slowest thread.
void matmul_shared_input(ThreadPool& pool, std::span<const TensorView* const> ws, const float* x,
                         int64_t n, std::span<float* const> outs, Precision precision);

}  // namespace kvscope
