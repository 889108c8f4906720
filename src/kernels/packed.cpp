#include "kernels/packed.h"

#include <cstring>

#include "core/half.h"

namespace kvscope {

std::vector<uint8_t> pack_rows(const TensorView& w) {
  const int packed_block = packed_block_bytes(w.type);
  if (packed_block == 0) return {};
  const bool q8 = w.type == DType::kQ8_0;
  const int64_t rows = w.rows(), blocks = w.cols() / 32;
  const int block_bytes = dtype_info(w.type).block_bytes;
  // Where a block's quants start, in the file's block and in the packed one.
  const int quant_offset = w.type == DType::kQ4_1 ? 4 : 2;
  const int packed_quants = q8 ? 16 : 32;
  std::vector<uint8_t> out(packed_bytes(w.type, rows, w.cols()), 0);
  for (int64_t r = 0; r < rows; ++r) {
    const int lane = static_cast<int>(r % kPackedRows);
    for (int64_t b = 0; b < blocks; ++b) {
      const uint8_t* src = w.row(r) + b * block_bytes;
      uint8_t* dst = out.data() + (r / kPackedRows * blocks + b) * packed_block;
      std::memcpy(dst + 2 * lane, src, 2);
      if (w.type == DType::kQ4_1) {
        std::memcpy(dst + 16 + 2 * lane, src + 2, 2);
      } else if (w.type == DType::kQ4_0) {
        uint16_t d;
        std::memcpy(&d, src, 2);
        const float offset = -8.0f * f16_to_f32(d);
        const uint16_t m = f32_to_f16(offset);
        if (f16_to_f32(m) != offset) return {};
        std::memcpy(dst + 16 + 2 * lane, &m, 2);
      }
      for (int k = 0; k < (q8 ? 8 : 4); ++k)
        std::memcpy(dst + packed_quants + 32 * k + 4 * lane, src + quant_offset + 4 * k, 4);
    }
  }
  return out;
}

}  // namespace kvscope
