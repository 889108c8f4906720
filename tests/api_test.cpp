// The public header alone is enough to load, generate with each cache and measure.
#include <gtest/gtest.h>

#include "kvscope/kvscope.h"
#include "test_paths.h"

namespace {

TEST(PublicApi, GeneratesTheSameTextWithEveryCacheAndMeasuresIt) {
  const auto model = kvscope::Model::load(kvscope::testing::fixture("models/tiny-llama-q4_1.gguf"));
  const auto prompt = model->tokenizer().encode("Hello world", false, true);
  std::vector<std::vector<int32_t>> outputs;
  for (kvscope::CacheStrategy cache :
       {kvscope::CacheStrategy::kNone, kvscope::CacheStrategy::kPrealloc}) {
    kvscope::SessionOptions so;
    so.cache = cache;
    kvscope::Session session(*model, so);
    kvscope::GenerateOptions options;
    options.max_new_tokens = 6;
    options.stop_at_end_token = false;
    std::string streamed;
    const kvscope::GenerationResult result = session.generate(
        {prompt}, options, [&](int, int32_t, const std::string& text) { streamed += text; });
    const kvscope::RequestMetrics m = kvscope::request_metrics(result.start, result.sequences[0]);
    EXPECT_EQ(m.output_tokens, 6);
    EXPECT_GT(m.ttft_s, 0);
    EXPECT_EQ(streamed, result.sequences[0].text);  // the callback streamed the whole text
    outputs.push_back(result.sequences[0].output);
  }
  EXPECT_EQ(outputs[0], outputs[1]);
  EXPECT_THROW(kvscope::Model::load("/nonexistent.gguf"), kvscope::Error);
}

}  // namespace
