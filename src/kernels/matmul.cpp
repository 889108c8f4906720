#include "kernels/matmul.h"

#include <algorithm>
#include <vector>

#include "kernels/cpu/dispatch.h"

namespace kvscope {

namespace {
// Weight rows dequantized together and then reused across all activation rows; 8 rows of the
// widest matrix (1536 inputs in SmolLM2's down projection) stay within L1 and L2.
constexpr int64_t kRowTile = 8;
}  // namespace

void matmul(ThreadPool& pool, const TensorView& w, const float* x, int64_t n, float* out) {
  const Kernels& k = kernels();
  const int64_t rows = w.rows(), cols = w.cols();
  const int64_t tiles = (rows + kRowTile - 1) / kRowTile;
  pool.parallel_for(tiles, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> tile;
    tile.resize(static_cast<size_t>(kRowTile * cols));
    for (int64_t t = begin; t < end; ++t) {
      const int64_t r0 = t * kRowTile, nr = std::min(kRowTile, rows - r0);
      for (int64_t r = 0; r < nr; ++r) k.dequantize_row(w.type, w.row(r0 + r), &tile[r * cols], cols);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t r = 0; r < nr; ++r) out[i * rows + r0 + r] = k.dot(&tile[r * cols], x + i * cols, cols);
    }
  });
}

}  // namespace kvscope
