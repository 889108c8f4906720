#include "report/gif_writer.h"

#include <fcntl.h>
#include <gif_lib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <unordered_map>

#include "core/error.h"

namespace kvscope::report {
namespace {

constexpr int kPaletteSize = 256;

int channel(uint32_t rgb, int shift) { return static_cast<int>((rgb >> shift) & 255); }

int distance(uint32_t a, uint32_t b) {
  int d = 0;
  for (int shift : {16, 8, 0})
    d += (channel(a, shift) - channel(b, shift)) * (channel(a, shift) - channel(b, shift));
  return d;
}

class Palette {
 public:
  explicit Palette(const std::vector<std::vector<uint32_t>>& frames) {
    std::unordered_map<uint32_t, size_t> counts;
    for (const auto& frame : frames)
      for (uint32_t rgb : frame) ++counts[rgb];
    std::vector<std::pair<size_t, uint32_t>> by_use;
    for (const auto& [rgb, count] : counts) by_use.push_back({count, rgb});
    std::sort(by_use.begin(), by_use.end(), std::greater<>());
    for (size_t i = 0; i < by_use.size() && i < kPaletteSize; ++i) {
      index_[by_use[i].second] = static_cast<uint8_t>(i);
      colours_.push_back(by_use[i].second);
    }
  }

  uint8_t index(uint32_t rgb) {
    if (const auto it = index_.find(rgb); it != index_.end()) return it->second;
    size_t best = 0;
    int best_distance = std::numeric_limits<int>::max();
    for (size_t i = 0; i < colours_.size(); ++i)
      if (const int d = distance(rgb, colours_[i]); d < best_distance) best = i, best_distance = d;
    return index_[rgb] = static_cast<uint8_t>(best);
  }

  std::vector<GifColorType> gif_colours() const {
    std::vector<GifColorType> out(kPaletteSize, GifColorType{0, 0, 0});
    for (size_t i = 0; i < colours_.size(); ++i)
      out[i] = {static_cast<GifByteType>(channel(colours_[i], 16)),
                static_cast<GifByteType>(channel(colours_[i], 8)),
                static_cast<GifByteType>(channel(colours_[i], 0))};
    return out;
  }

 private:
  std::unordered_map<uint32_t, uint8_t> index_;
  std::vector<uint32_t> colours_;
};

// Closes a GIF left half-written by an error.
struct GifCloser {
  void operator()(GifFileType* gif) const { EGifCloseFile(gif, nullptr); }
};

void check(int status, GifFileType* gif, const std::string& path) {
  if (status != GIF_OK) fail("{}: cannot write the GIF ({})", path, GifErrorString(gif->Error));
}

}  // namespace

void write_gif(const std::string& path, int width, int height,
               const std::vector<std::vector<uint32_t>>& frames, int delay_centiseconds) {
  Palette palette(frames);
  int error = 0;
  // Opened here, not by EGifOpenFileName, which makes files only their owner can read.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
  if (fd < 0) fail("{}: cannot write the GIF ({})", path, std::strerror(errno));
  std::unique_ptr<GifFileType, GifCloser> file(EGifOpenFileHandle(fd, &error));
  if (file == nullptr) {
    ::close(fd);
    fail("{}: cannot write the GIF ({})", path, GifErrorString(error));
  }
  GifFileType* gif = file.get();
  EGifSetGifVersion(gif, true);
  const std::vector<GifColorType> colours = palette.gif_colours();
  ColorMapObject* map = GifMakeMapObject(kPaletteSize, colours.data());
  const int described = EGifPutScreenDesc(gif, width, height, 8, 0, map);
  GifFreeMapObject(map);
  check(described, gif, path);
  // Loop for ever (the NETSCAPE2.0 application extension).
  const GifByteType loop[] = {1, 0, 0};
  check(EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE), gif, path);
  check(EGifPutExtensionBlock(gif, 11, "NETSCAPE2.0"), gif, path);
  check(EGifPutExtensionBlock(gif, sizeof loop, loop), gif, path);
  check(EGifPutExtensionTrailer(gif), gif, path);
  std::vector<GifPixelType> row(width);
  for (const auto& frame : frames) {
    GraphicsControlBlock control{DISPOSAL_UNSPECIFIED, false, delay_centiseconds,
                                 NO_TRANSPARENT_COLOR};
    GifByteType extension[4];
    const size_t length = EGifGCBToExtension(&control, extension);
    check(EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, static_cast<int>(length), extension), gif,
          path);
    check(EGifPutImageDesc(gif, 0, 0, width, height, false, nullptr), gif, path);
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x)
        row[x] = palette.index(frame[static_cast<size_t>(y) * width + x]);
      check(EGifPutLine(gif, row.data(), width), gif, path);
    }
  }
  if (EGifCloseFile(file.release(), &error) != GIF_OK)
    fail("{}: cannot write the GIF ({})", path, GifErrorString(error));
}

}  // namespace kvscope::report
