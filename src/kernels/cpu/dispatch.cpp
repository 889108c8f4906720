#include "kernels/cpu/dispatch.h"

#include <cstdlib>
#include <string>

#include "core/error.h"
#include "kernels/cpu/simd.h"
#include "kernels/ref/bf16.h"
#include "kernels/ref/dequantize.h"
#include "kernels/ref/ops.h"
#include "kernels/ref/quantized.h"

namespace kvscope {

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
  }
  return "?";
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out = {Isa::kScalar};
#ifdef KVSCOPE_SIMD_KERNELS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("f16c"))
    out.push_back(Isa::kAvx2);
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
    out.push_back(Isa::kAvx512);
#endif
  return out;
}

namespace {

// A tile computed pair by pair, for instruction sets without a tiled kernel.
template <float (*DotQ8)(DType, const uint8_t*, const uint8_t*, int64_t)>
void tile_by_pairs(DType type, const uint8_t* const* weights, int nr, const uint8_t* const* q8_rows,
                   int nc, int64_t n, float* out, int64_t out_stride) {
  for (int c = 0; c < nc; ++c)
    for (int r = 0; r < nr; ++r) out[c * out_stride + r] = DotQ8(type, weights[r], q8_rows[c], n);
}

}  // namespace

const Kernels& kernels_for(Isa isa) {
  static const Kernels kScalarKernels{Isa::kScalar,
                                      ref::dot,
                                      ref::axpy,
                                      ref::widen_f16,
                                      ref::dequantize_row,
                                      ref::dot_tile,
                                      ref::quantize_row_q8,
                                      ref::dot_q8,
                                      tile_by_pairs<ref::dot_q8>,
                                      ref::dot_q8_0_q16,
                                      nullptr,
                                      ref::round_row_bf16,
                                      nullptr,
                                      ref::score_rows,
                                      ref::transpose_keys,
                                      ref::score_transposed,
                                      ref::softmax,
                                      ref::rms_norm,
                                      ref::weighted_rows,
                                      ref::swiglu};
#ifdef KVSCOPE_SIMD_KERNELS
  static const Kernels kAvx2Kernels{Isa::kAvx2,
                                    avx2::dot,
                                    avx2::axpy,
                                    avx2::widen_f16,
                                    avx2::dequantize_row,
                                    avx2::dot_tile,
                                    avx2::quantize_row_q8,
                                    avx2::dot_q8,
                                    avx2::dot_q8_tile,
                                    avx2::dot_q8_0_q16,
                                    avx2::dot_packed,
                                    avx2::round_row_bf16,
                                    nullptr,
                                    avx2::score_rows,
                                    nullptr,
                                    nullptr,
                                    avx2::softmax,
                                    avx2::rms_norm,
                                    avx2::weighted_rows,
                                    avx2::swiglu};
  static const Kernels kAvx512Kernels{
      Isa::kAvx512,
      avx512::dot,
      avx2::axpy,
      avx2::widen_f16,
      avx2::dequantize_row,
      avx512::dot_tile,
      avx512::quantize_row_q8,
      avx512::dot_q8,
      avx512::dot_q8_tile,
      avx512::dot_q8_0_q16,
      avx512::dot_packed,
      avx2::round_row_bf16,
      __builtin_cpu_supports("avx512bf16") ? avx512::dot_bf16_tile : nullptr,
      avx2::score_rows,
      avx512::transpose_keys,
      avx512::score_transposed,
      avx512::softmax,
      avx512::rms_norm,
      avx512::weighted_rows,
      avx512::swiglu};
  if (isa == Isa::kAvx2) return kAvx2Kernels;
  if (isa == Isa::kAvx512) return kAvx512Kernels;
#endif
  return kScalarKernels;
}

const Kernels& kernels() {
  static const Kernels& chosen = []() -> const Kernels& {
    const std::vector<Isa> isas = supported_isas();
    if (const char* forced = std::getenv("KVSCOPE_ISA")) {
      for (Isa isa : isas)
        if (isa_name(isa) == forced) return kernels_for(isa);
      fail("KVSCOPE_ISA={} is not supported on this CPU", forced);
    }
    return kernels_for(isas.back());
  }();
  return chosen;
}

}  // namespace kvscope
