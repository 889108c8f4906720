#pragma once
// The kernels actually used, chosen once at start-up for the best instruction set this CPU has.
// Every entry has a scalar twin in kernels/ref, and tests compare them on random inputs.
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "kernels/ref/quantized.h"

namespace kvscope {

// kAvx512 means AVX-512 F, BW, VL and VNNI; a CPU with AVX-512 but no VNNI runs kAvx2.
enum class Isa { kScalar, kAvx2, kAvx512 };

struct Kernels {
  Isa isa = Isa::kScalar;
  float (*dot)(const float* a, const float* b, int64_t n) = nullptr;
  void (*axpy)(float* y, float a, const float* x, int64_t n) = nullptr;
  void (*widen_f16)(const uint16_t* src, float* dst, int64_t n) = nullptr;
  void (*dequantize_row)(DType type, const uint8_t* src, float* dst, int64_t n) = nullptr;
  // The exact path's matmul tile (kernels/ref/ops.h): F32, F16 or BF16 weight rows against f32
  // rows, each element computed the same way whatever the tile's shape.
  void (*dot_tile)(DType weight_type, const void* const* weights, int nr, const float* const* x,
                   int nc, int64_t n, float* out, int64_t out_stride) = nullptr;
  // The fast path (kernels/ref/quantized.h).
  void (*quantize_row_q8)(const float* x, uint8_t* out, int64_t n) = nullptr;
  float (*dot_q8)(DType type, const uint8_t* weights, const uint8_t* q8_row, int64_t n) = nullptr;
  // Up to 4 weight rows against up to 4 activation rows: out[c * out_stride + r], each element
  // bitwise equal to dot_q8 of its pair.
  void (*dot_q8_tile)(DType type, const uint8_t* const* weights, int nr,
                      const uint8_t* const* q8_rows, int nc, int64_t n, float* out,
                      int64_t out_stride) = nullptr;
  float (*dot_q8_0_q16)(const uint8_t* weights, const uint8_t* q16_row, int64_t n) = nullptr;
  // Weights repacked 8 rows at a time (kernels/packed.h): up to kPackedTileRows rows, in
  // consecutive groups from `groups`, against up to kPackedTileCols activation rows, and their
  // outlier blocks' rounding errors (kernels/ref/quantized.h). Null where the row-major kernels are
  // used instead (scalar), and then models are not repacked.
  void (*dot_packed)(DType type, const uint8_t* groups, int64_t n, const PackedActivations& x,
                     int nc, int nr, float* out, int64_t out_stride) = nullptr;
  // The fast path of BF16 weights (kernels/ref/bf16.h): activations rounded to BF16, then up to
  // kBf16TileRows weight rows against up to kBf16TileCols of them, each element the same whatever
  // the tile's shape. Only with AVX512_BF16: elsewhere the exact kernels were the fastest measured
  // (an AVX2 twin of vdpbf16ps's sums took 1.4 times as long as them over 64 rows), and BF16
  // weights take them on both paths.
  void (*round_row_bf16)(const float* x, uint16_t* out, int64_t n) = nullptr;
  void (*dot_bf16_tile)(const uint16_t* const* weights, int nr, const uint16_t* const* x, int nc,
                        int64_t n, float* out, int64_t out_stride) = nullptr;
  // Attention and the feed-forward (kernels/ref/ops.h).
  void (*score_rows)(DType type, const uint8_t* const* keys, int64_t count, const float* queries,
                     int group, int64_t n, float* out, int64_t out_stride) = nullptr;
  // A prompt's scores, each key widened once for all its queries (kernels/ref/ops.h). Null where
  // score_rows scores prompts too: on AVX2, whose 16 registers hold too few accumulators, a twin
  // of the AVX-512 kernel measured no faster than score_rows in prefill.
  void (*transpose_keys)(DType type, const uint8_t* const* keys, int64_t count, int64_t n,
                         float* out, int64_t out_stride) = nullptr;
  void (*score_transposed)(const float* keys_t, int64_t stride, int64_t count, const float* queries,
                           int group, int64_t n, float* out, int64_t out_stride) = nullptr;
  void (*softmax)(float* x, int64_t n, float scale) = nullptr;
  void (*rms_norm)(const float* x, const float* weight, float* out, int64_t n, float eps) = nullptr;
  void (*weighted_rows)(DType type, const uint8_t* const* rows, int64_t count, const float* weights,
                        int64_t weight_stride, int group, int64_t n, float* out,
                        int64_t out_stride) = nullptr;
  void (*swiglu)(const float* gate, const float* up, float* out, int64_t n) = nullptr;
};
constexpr int kQ8TileMax = 4;
// 4 x 3 accumulators plus 4 weight vectors fill AVX2's 16 registers.
constexpr int kDotTileRows = 4;
constexpr int kDotTileCols = 3;
constexpr int kPackedTileRows = 16;
constexpr int kPackedTileCols = 8;
constexpr int kBf16TileRows = 4;
constexpr int kBf16TileCols = 4;

std::string_view isa_name(Isa isa);
// The instruction sets this CPU can run, scalar first.
std::vector<Isa> supported_isas();
const Kernels& kernels_for(Isa isa);
// The kernels for the best supported instruction set (or KVSCOPE_ISA=scalar|avx2|avx512).
const Kernels& kernels();

}  // namespace kvscope
