#pragma once
// Runs a kernel written for a compile-time tile shape on a runtime one: calls
// f.template operator()<R, C>() with R = nr and C = nc, for 1 <= nr <= MaxR and 1 <= nc <= MaxC.

namespace kvscope {

template <int MaxR, int MaxC, int R = 1, int C = 1, typename F>
inline void with_tile_shape(int nr, int nc, F&& f) {
  if constexpr (R < MaxR) {
    if (nr > R) return with_tile_shape<MaxR, MaxC, R + 1, C>(nr, nc, f);
  }
  if constexpr (C < MaxC) {
    if (nc > C) return with_tile_shape<MaxR, MaxC, R, C + 1>(nr, nc, f);
  }
  f.template operator()<R, C>();
}

}  // namespace kvscope
