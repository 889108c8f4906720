#include "kernels/packed.h"

#include <cmath>
#include <cstring>

#include "core/half.h"

namespace kvscope {

std::vector<uint8_t> pack_q4(const TensorView& w) {
  if (w.type != DType::kQ4_0 && w.type != DType::kQ4_1) return {};
  const int64_t rows = w.rows(), blocks = w.cols() / 32;
  const int block_bytes = dtype_info(w.type).block_bytes;
  const int quant_offset = w.type == DType::kQ4_1 ? 4 : 2;
  std::vector<uint8_t> out(q4_packed_bytes(rows, w.cols()), 0);
  for (int64_t r = 0; r < rows; ++r) {
    const int lane = static_cast<int>(r % kPackedRows);
    for (int64_t b = 0; b < blocks; ++b) {
      const uint8_t* src = w.row(r) + b * block_bytes;
      uint8_t* dst = out.data() + (r / kPackedRows * blocks + b) * kQ4PackedBlockBytes;
      uint16_t d, m;
      std::memcpy(&d, src, 2);
      if (w.type == DType::kQ4_1) {
        std::memcpy(&m, src + 2, 2);
      } else {
        const float offset = -8.0f * f16_to_f32(d);
        m = f32_to_f16(offset);
        if (f16_to_f32(m) != offset) return {};
      }
      std::memcpy(dst + 2 * lane, &d, 2);
      std::memcpy(dst + 16 + 2 * lane, &m, 2);
      for (int k = 0; k < 4; ++k) std::memcpy(dst + 32 + 32 * k + 4 * lane, src + quant_offset + 4 * k, 4);
    }
  }
  return out;
}

}  // namespace kvscope
