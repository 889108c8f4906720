// The pool view on the tiny fixture model: a mix in a pool this small shares the system prompt's
// blocks, evicts cached blocks and preempts a request; one frame per engine step;
// the GIF and the page hold every frame; `viz --pool` refuses what it cannot draw.
#include "report/pool_view.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "report/report_files.h"
#include "test_paths.h"

namespace kvscope::report {
namespace {

class PoolView : public ::testing::Test {
 protected:
  void SetUp() override { model_ = Model::load(testing::fixture("models/tiny-llama-f32.gguf")); }
  std::unique_ptr<Model> model_;
};

TEST_F(PoolView, CaptureShowsSharedBlocksAnEvictionAndAPreemption) {
  // Longer outputs in a smaller pool than the default mix's: the scheduler leaves room for the
  // growth it expects, so only outputs beyond that estimate preempt.
  const PoolCapture c = capture_pool(*model_, {.new_tokens = 48, .blocks = 16});
  ASSERT_FALSE(c.frames.empty());
  EXPECT_EQ(static_cast<int64_t>(c.frames.size()), c.steps);
  bool shared = false, evicted = false, cached = false;
  int preempted = 0;
  for (size_t i = 0; i < c.frames.size(); ++i) {
    const PoolFrame& f = c.frames[i];
    EXPECT_EQ(f.step, static_cast<int>(i) + 1);
    ASSERT_EQ(static_cast<int>(f.blocks.size()), c.blocks);
    int used = 0, cached_now = 0;
    for (int b = 0; b < c.blocks; ++b) {
      // A block is held (and then has an owner), cached, or free.
      EXPECT_EQ(f.blocks[b].refs > 0, f.owner[b] >= 0);
      EXPECT_FALSE(f.blocks[b].cached && f.blocks[b].refs > 0);
      shared |= f.blocks[b].refs > 1;
      evicted |= f.evicted[b];
      used += f.blocks[b].refs > 0;
      cached_now += f.blocks[b].cached;
    }
    cached |= cached_now > 0;
    EXPECT_EQ(used, f.stats.blocks_used);
    EXPECT_EQ(cached_now, f.stats.blocks_cached);
    preempted += static_cast<int>(f.preempted.size());
  }
  EXPECT_TRUE(shared);
  EXPECT_TRUE(cached);
  EXPECT_TRUE(evicted);
  EXPECT_GE(preempted, 1);
  EXPECT_GT(c.frames.back().stats.prefix_hit_tokens, 0);
  EXPECT_EQ(c.frames.back().stats.blocks_used, 0);  // every request ended
}

TEST_F(PoolView, WithoutPrefixReuseNothingIsSharedOrCached) {
  const PoolCapture c = capture_pool(*model_, {.requests = 4, .blocks = 64, .prefix_cache = false});
  for (const PoolFrame& f : c.frames)
    for (const BlockState& b : f.blocks) {
      EXPECT_LE(b.refs, 1);
      EXPECT_FALSE(b.cached);
    }
  EXPECT_THROW(capture_pool(*model_, {.requests = 0}), Error);
  EXPECT_THROW(capture_pool(*model_, {.blocks = 2}), Error);  // a request needs more
}

// Under Mistral's window of 8 a request gives back the blocks behind it as it goes: the view
// draws each block still held in its owner's colour, and after a step no request holds more than
// the 3 blocks of 4 that its next query's 7 earlier positions touch.
TEST_F(PoolView, UnderASlidingWindowRequestsHoldOnlyTheirWindow) {
  const auto mistral = Model::load(testing::fixture("models/tiny-mistral-bf16.gguf"));
  const PoolCapture c =
      capture_pool(*mistral, {.requests = 4, .new_tokens = 40, .block_size = 4, .blocks = 64});
  for (const PoolFrame& f : c.frames) {
    int used = 0;
    for (int b = 0; b < c.blocks; ++b) {
      EXPECT_EQ(f.blocks[b].refs > 0, f.owner[b] >= 0);
      used += f.blocks[b].refs > 0;
    }
    EXPECT_EQ(used, f.stats.blocks_used);
    EXPECT_LE(f.stats.blocks_used, 3 * f.running) << "step " << f.step;
  }
  EXPECT_EQ(c.frames.back().stats.blocks_used, 0);
}

TEST_F(PoolView, FramesAndFilesHoldEveryStep) {
  const PoolCapture c = capture_pool(*model_, {.requests = 4});
  const PoolViewSize size = pool_frame_size(c);
  const std::string svg =
      render_svg(size.width, size.height, [&](Canvas& canvas) { draw_pool_frame(canvas, c, 0); });
  EXPECT_NE(svg.find(fmt::format("step 1 of {}", c.frames.size())), std::string::npos);
  EXPECT_NE(svg.find(">shared prefix</text>"), std::string::npos);
  EXPECT_NE(svg.find(">r0</text>"), std::string::npos);
  const std::string dir = testing::temp_dir("pool");
  write_pool_gif(dir + "/pool.gif", c);
  const std::string gif = testing::read_file(dir + "/pool.gif");
  EXPECT_EQ(gif.substr(0, 6), "GIF89a");
  EXPECT_EQ(testing::gif_frames(gif), static_cast<int>(c.frames.size()));
  EXPECT_EQ(uint8_t(gif[6]) | (uint8_t(gif[7]) << 8), size.width);
  const std::string page = pool_page_html(c);
  size_t frames = 0;
  for (size_t at = page.find("<div class=\"frame\""); at != std::string::npos;
       at = page.find("<div class=\"frame\"", at + 1))
    ++frames;
  EXPECT_EQ(frames, c.frames.size());
  EXPECT_EQ(page.find("src=\"http"), std::string::npos);
  EXPECT_NE(page.find("</html>"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(VizPoolCli, WritesAFramePerStepAndRefusesBadInput) {
  const std::string dir = testing::temp_dir("viz_pool");
  const std::string model = "-m '" + testing::fixture("models/tiny-llama-f32.gguf") + "'";
  auto r = testing::run_cli("viz --pool " + model + " --requests 3 --out '" + dir + "/pool.gif'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("3 requests"), std::string::npos) << r.out;
  EXPECT_GT(testing::gif_frames(testing::read_file(dir + "/pool.gif")), 0);
  r = testing::run_cli("viz --pool " + model + " --requests 3 --out '" + dir + "/pool.html'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(testing::read_file(dir + "/pool.html").find("KV block pool of"), std::string::npos);
  r = testing::run_cli("viz --pool " + model + " --out '" + dir + "/pool.mp4'");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("give a .gif or .html file"), std::string::npos) << r.err;
  r = testing::run_cli("viz --pool " + model + " -p 'Hello' --out '" + dir + "/pool.gif'");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("give no -p"), std::string::npos) << r.err;
  r = testing::run_cli("viz --pool " + model + " --blocks 2 --out '" + dir + "/pool.gif'");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("than the whole budget holds"), std::string::npos) << r.err;
  r = testing::run_cli("viz " + model + " --out '" + dir + "/kv.gif'");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("the prompt is empty"), std::string::npos) << r.err;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kvscope::report
