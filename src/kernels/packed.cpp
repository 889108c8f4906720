#include "kernels/packed.h"

#include <cstring>

#include "core/half.h"

namespace kvscope {
namespace {

uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// One row's block of 32 values as a packed format stores it: scale and offset as f16 bits (for the
// K-quants, their super-block's d and dmin, with the block's 6-bit scale and minimum), the 32
// integer values, and Q6_K's two sub-block scales.
struct RowBlock {
  uint16_t d16 = 0, m16 = 0;
  uint8_t k_scale = 0, k_min = 0;
  int q[32] = {};
  int8_t sc[2] = {};
};

// The 6-bit scale and minimum of sub-block j packed into the 12 scale bytes of Q4_K and Q5_K.
void k_scale_min(int j, const uint8_t* s, int* scale, int* min) {
  if (j < 4) {
    *scale = s[j] & 63;
    *min = s[j + 4] & 63;
  } else {
    *scale = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
    *min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// Block b (32 columns) of a row stored as `type`; false when the format cannot hold it exactly.
bool read_block(DType type, const uint8_t* row, int64_t b, RowBlock* out) {
  const DTypeInfo& info = dtype_info(type);
  switch (type) {
    case DType::kQ8_0: {
      const uint8_t* block = row + b * info.block_bytes;
      out->d16 = load_u16(block);
      for (int j = 0; j < 32; ++j) out->q[j] = static_cast<int8_t>(block[2 + j]);
      return true;
    }
    case DType::kQ4_0:
    case DType::kQ4_1: {
      const uint8_t* block = row + b * info.block_bytes;
      out->d16 = load_u16(block);
      if (type == DType::kQ4_1) {
        out->m16 = load_u16(block + 2);
      } else {
        const float offset = -8.0f * f16_to_f32(out->d16);
        out->m16 = f32_to_f16(offset);
        if (f16_to_f32(out->m16) != offset) return false;
      }
      const uint8_t* q = block + (type == DType::kQ4_1 ? 4 : 2);
      for (int j = 0; j < 16; ++j) {
        out->q[j] = q[j] & 0x0f;
        out->q[j + 16] = q[j] >> 4;
      }
      return true;
    }
    case DType::kQ5_0:
    case DType::kQ5_1: {
      const bool q5_1 = type == DType::kQ5_1;
      const uint8_t* block = row + b * info.block_bytes;
      out->d16 = load_u16(block);
      if (q5_1) out->m16 = load_u16(block + 2);
      uint32_t qh;
      std::memcpy(&qh, block + (q5_1 ? 4 : 2), 4);
      const uint8_t* q = block + (q5_1 ? 8 : 6);
      // Q5_0's values less 16, signed, as its packed format holds them; Q5_1's unsigned.
      const int bias = q5_1 ? 0 : 16;
      for (int j = 0; j < 16; ++j) {
        out->q[j] = ((q[j] & 0x0f) | static_cast<int>(((qh >> j) & 1) << 4)) - bias;
        out->q[j + 16] = ((q[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1) << 4)) - bias;
      }
      return true;
    }
    case DType::kQ4_K:
    case DType::kQ5_K: {
      const bool q5 = type == DType::kQ5_K;
      const uint8_t* block = row + (b / 8) * info.block_bytes;
      const int sub = static_cast<int>(b % 8);
      int sc = 0, mn = 0;
      k_scale_min(sub, block + 4, &sc, &mn);
      out->d16 = load_u16(block);
      out->m16 = load_u16(block + 2);
      out->k_scale = static_cast<uint8_t>(sc);
      out->k_min = static_cast<uint8_t>(mn);
      const uint8_t* q = block + (q5 ? 48 : 16) + 32 * (sub / 2);
      const uint8_t* qh = block + 16;
      for (int l = 0; l < 32; ++l) {
        const int low = sub % 2 ? q[l] >> 4 : q[l] & 0x0f;
        out->q[l] = q5 ? low | (((qh[l] >> sub) & 1) << 4) : low;
      }
      return true;
    }
    case DType::kQ6_K: {
      const uint8_t* block = row + (b / 8) * info.block_bytes;
      const int j = static_cast<int>(b % 8), half = j / 4, quarter = j % 4;
      const uint8_t* ql = block + 64 * half + (quarter % 2 ? 32 : 0);
      const uint8_t* qh = block + 128 + 32 * half;
      const auto* scales = reinterpret_cast<const int8_t*>(block + 192) + 8 * half + 2 * quarter;
      out->d16 = load_u16(block + 208);
      out->sc[0] = scales[0];
      out->sc[1] = scales[1];
      for (int l = 0; l < 32; ++l) {
        const int low = quarter < 2 ? ql[l] & 0x0f : ql[l] >> 4;
        out->q[l] = (low | (((qh[l] >> (2 * quarter)) & 3) << 4)) - 32;
      }
      return true;
    }
    default:
      return false;
  }
}

}  // namespace

std::vector<uint8_t> pack_rows(const TensorView& w) {
  if (!is_packable(w.type)) return {};
  const PackedFormat f = packed_format(w.type);
  const int64_t rows = w.rows(), blocks = w.cols() / 32;
  std::vector<uint8_t> out(packed_bytes(w.type, rows, w.cols()), 0);
  for (int64_t r = 0; r < rows; ++r) {
    const int lane = static_cast<int>(r % kPackedRows);
    for (int64_t b = 0; b < blocks; ++b) {
      RowBlock v;
      if (!read_block(w.type, w.row(r), b, &v)) return {};
      uint8_t* group = out.data() + r / kPackedRows * packed_group_bytes(w.type, w.cols());
      uint8_t* dst = group + f.block_at(w.cols(), b);
      if (f.k_scales) {
        uint8_t* header = group + f.k_header_at(b);
        std::memcpy(header + 2 * lane, &v.d16, 2);
        if (f.offset) {
          std::memcpy(header + 2 * kPackedRows + 2 * lane, &v.m16, 2);
          dst[lane] = v.k_scale;
          dst[f.offset_at() + lane] = v.k_min;
        }
      } else {
        std::memcpy(dst + 2 * lane, &v.d16, 2);
        if (f.offset) std::memcpy(dst + f.offset_at() + 2 * lane, &v.m16, 2);
      }
      if (f.sub_scales) {
        dst[f.sub_scales_at() + lane] = static_cast<uint8_t>(v.sc[0]);
        dst[f.sub_scales_at() + kPackedRows + lane] = static_cast<uint8_t>(v.sc[1]);
      }
      uint8_t* quants = dst + f.quants_at();
      if (f.quants == PackedQuants::kSigned8) {
        for (int g = 0; g < 8; ++g)
          for (int j = 0; j < 4; ++j)
            quants[32 * g + 4 * lane + j] = static_cast<uint8_t>(v.q[4 * g + j]);
        continue;
      }
      const int t = f.top_bits();
      for (int column = 0; column < 32; ++column) {
        const int g = column / 4, j = column % 4, biased = v.q[column] + f.bias;
        quants[32 * (g % 4) + 4 * lane + j] |=
            static_cast<uint8_t>((biased & 0x0f) << (g < 4 ? 0 : 4));
        if (t > 0)
          quants[128 + 32 * (t * g / 8) + 4 * lane + j] |=
              static_cast<uint8_t>((biased >> 4) << (t * g % 8));
      }
    }
  }
  return out;
}

void packed_row_scales(PackedFormat f, const uint8_t* group, int64_t n, int64_t b, int r, float* d,
                       float* m) {
  const uint8_t* block = group + f.block_at(n, b);
  *m = 0.0f;
  if (f.k_scales) {
    const uint8_t* header = group + f.k_header_at(b);
    *d = f16_to_f32(load_u16(header + 2 * r));
    if (!f.offset) return;
    *d *= static_cast<float>(block[r]);
    *m = -f16_to_f32(load_u16(header + 2 * kPackedRows + 2 * r)) *
         static_cast<float>(block[f.offset_at() + r]);
  } else {
    *d = f16_to_f32(load_u16(block + 2 * r));
    if (f.offset) *m = f16_to_f32(load_u16(block + f.offset_at() + 2 * r));
  }
}

void unpack_row(DType type, const uint8_t* group, int64_t n, int r, float* out) {
  const PackedFormat f = packed_format(type);
  for (int64_t b = 0; b < n / 32; ++b) {
    const uint8_t* block = group + f.block_at(n, b);
    float d, m;
    packed_row_scales(f, group, n, b, r, &d, &m);
    const uint8_t* quants = block + f.quants_at();
    for (int j = 0; j < 32; ++j) {
      const int q = packed_value(f, quants, r, j);
      float v;
      if (f.sub_scales) {
        const auto sc = static_cast<int8_t>(block[f.sub_scales_at() + (j < 16 ? 0 : 8) + r]);
        v = d * static_cast<float>(sc) * static_cast<float>(q);
      } else if (f.offset) {
        v = d * static_cast<float>(q) + m;
      } else {
        v = d * static_cast<float>(q);
      }
      out[b * 32 + j] = v;
    }
  }
}

}  // namespace kvscope
