// The KV-cache view on the tiny fixture models: what it captures is the model's (attention
// recomputed from it is a distribution, the cache rows are the session's), and the GIF holds
// one frame per generated token; the page embeds the data it draws.
#include "report/kv_view.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "generate/session.h"
#include "report/report_files.h"
#include "test_paths.h"

namespace kvscope::report {
namespace {

class KvView : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = Model::load(testing::fixture("models/tiny-llama-f32.gguf"));
    prompt_ = model_->tokenizer().encode("Hello world, this is", false, true);
  }
  std::unique_ptr<Model> model_;
  std::vector<int32_t> prompt_;
};

TEST_F(KvView, CapturesEveryLayersQueriesAndTheCacheRows) {
  const KvCapture c = capture_kv(*model_, prompt_, 5, 1);
  const ModelConfig& config = model_->config();
  EXPECT_EQ(c.frames, 5);
  EXPECT_EQ(c.positions, static_cast<int>(prompt_.size()) + 4);
  EXPECT_EQ(c.ids.size(), prompt_.size() + 5);
  EXPECT_EQ(c.labels.size(), c.ids.size());
  ASSERT_EQ(static_cast<int>(c.keys.size()), config.n_layers);
  EXPECT_EQ(c.keys[0].size(), static_cast<size_t>(c.positions) * config.kv_dim());
  for (int layer = 0; layer < config.n_layers; ++layer)
    for (int head = 0; head < config.n_heads; ++head)
      for (int f = 0; f < c.frames; ++f) {
        // A query was recorded for every step (RoPE'd vectors are never all zeros).
        const auto q = c.query(layer, head, f);
        EXPECT_TRUE(std::any_of(q.begin(), q.end(), [](float x) { return x != 0; }))
            << layer << " " << head << " " << f;
        const std::vector<float> scores = attention_scores(c, layer, head, f);
        ASSERT_EQ(static_cast<int>(scores.size()), c.query_position(f) + 1);
        double sum = 0;
        for (float s : scores) sum += s;
        EXPECT_NEAR(sum, 1.0, 1e-5);
      }
  // Grouped-query heads read their group's KV head.
  EXPECT_EQ(c.kv_head(config.n_heads - 1), config.n_kv_heads - 1);
}

TEST_F(KvView, GreedyOutputIsTheSameAsWithoutRecording) {
  const KvCapture c = capture_kv(*model_, prompt_, 6, 1);
  SessionOptions o;
  o.n_ctx = 64;
  Session session(*model_, o);
  GenerateOptions g;
  g.max_new_tokens = 6;
  g.stop_at_end_token = false;
  const auto r = session.generate({prompt_}, g);
  EXPECT_EQ(std::vector<int32_t>(c.ids.begin() + prompt_.size(), c.ids.end()),
            r.sequences[0].output);
}

TEST_F(KvView, GifHasOneFramePerGeneratedToken) {
  const std::string dir = testing::temp_dir("gif");
  const KvCapture c = capture_kv(*model_, prompt_, 7, 1);
  write_kv_gif(dir + "/kv.gif", c, 1, 2);
  const std::string gif = testing::read_file(dir + "/kv.gif");
  EXPECT_EQ(gif.substr(0, 6), "GIF89a");
  EXPECT_EQ(testing::gif_frames(gif), 7);
  const KvViewSize size = kv_frame_size(c);
  EXPECT_EQ(uint8_t(gif[6]) | (uint8_t(gif[7]) << 8), size.width);
  EXPECT_EQ(uint8_t(gif[8]) | (uint8_t(gif[9]) << 8), size.height);
  std::filesystem::remove_all(dir);
}

TEST_F(KvView, FramesLabelTheTokensAndShowTheChosenHead) {
  const KvCapture c = capture_kv(*model_, prompt_, 3, 1);
  const std::string svg = render_svg(kv_frame_size(c).width, kv_frame_size(c).height,
                                     [&](Canvas& canvas) { draw_kv_frame(canvas, c, 0, 1, 2); });
  EXPECT_NE(svg.find("layer 0, head 1"), std::string::npos);
  EXPECT_NE(svg.find("token 3 of 3"), std::string::npos);
  EXPECT_NE(svg.find(">keys (cache)</text>"), std::string::npos);
}

TEST_F(KvView, PageEmbedsEveryLayerWhenSmallAndRefusesABadHead) {
  const KvCapture c = capture_kv(*model_, prompt_, 4, 1);
  const std::string page = kv_page_html(c, 0, 0);
  EXPECT_NE(page.find("Every layer is embedded."), std::string::npos);
  for (int layer = 0; layer < c.n_layers; ++layer)
    EXPECT_NE(page.find("\"" + std::to_string(layer) + "\":{\"q\":["), std::string::npos);
  EXPECT_EQ(page.find("src=\"http"), std::string::npos);
  EXPECT_THROW(kv_page_html(c, 0, c.n_heads), Error);
  EXPECT_THROW(write_kv_gif("/tmp/never.gif", c, c.n_layers, 0), Error);
}

TEST(KvViewDefaultModel, GroupedHeadsAndEveryLayerEmbeddedAtTheDefaultLength) {
  const std::string path = testing::default_model();
  if (path.empty()) GTEST_SKIP() << "default model not fetched (scripts/fetch_model.sh)";
  const auto model = Model::load(path);
  const KvCapture c =
      capture_kv(*model, model->tokenizer().encode("The capital of France is", false, true), 16, 2);
  // SmolLM2-135M: 9 query heads share 3 KV heads.
  EXPECT_EQ(c.kv_head(2), 0);
  EXPECT_EQ(c.kv_head(3), 1);
  EXPECT_EQ(c.kv_head(8), 2);
  // What `kvscope viz --help` promises: a short prompt at the default -n embeds every layer.
  EXPECT_LE(kv_page_values(c, true), kMaxEmbeddedValues);
  EXPECT_NE(kv_page_html(c, 5, 0).find("Every layer is embedded."), std::string::npos);
}

}  // namespace
}  // namespace kvscope::report
