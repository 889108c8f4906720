#pragma once
// An animated GIF (GIF89a, looping) from RGB frames, through giflib. Frames share one global
// palette: every colour when they hold 256 or fewer, else the 256 most used, others mapped to
// the nearest of those.
#include <cstdint>
#include <string>
#include <vector>

namespace kvscope::report {

// Each frame is width × height pixels, 0xRRGGBB row by row; delay in hundredths of a second.
void write_gif(const std::string& path, int width, int height,
               const std::vector<std::vector<uint32_t>>& frames, int delay_centiseconds);

}  // namespace kvscope::report
