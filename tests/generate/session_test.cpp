// Generation's stop conditions and batching on a tiny fixture model (the end token is covered on
// the default model, whose chat answers end with it: tests/models/default_model_test.cpp).
#include "generate/session.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "test_paths.h"

namespace kvscope {
namespace {

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override { model_ = Model::load(testing::fixture("models/tiny-llama-f32.gguf")); }
  std::vector<int32_t> prompt(const std::string& text) const {
    return model_->tokenizer().encode(text, false, false);
  }
  std::unique_ptr<Model> model_;
};

TEST_F(SessionTest, StopsAtMaxTokens) {
  Session s(*model_, {});
  GenerateOptions g;
  g.max_new_tokens = 5;
  g.stop_at_end_token = false;
  const auto r = s.generate({prompt("Hello world")}, g);
  EXPECT_EQ(r.sequences[0].output.size(), 5u);
  EXPECT_EQ(r.sequences[0].stop, StopReason::kMaxTokens);
  EXPECT_EQ(r.sequences[0].token_times.size(), 5u);
}

TEST_F(SessionTest, StopsAtAStopStringAndHidesIt) {
  Session s(*model_, {});
  GenerateOptions g;
  g.max_new_tokens = 24;
  g.stop_at_end_token = false;
  const auto free_run = s.generate({prompt("Hello world")}, g);
  const std::string text = free_run.sequences[0].text;
  ASSERT_GE(text.size(), 6u);
  // Stop at a piece of what the model writes anyway: the text ends right before it.
  const std::string stop = text.substr(text.size() / 2, 3);
  s.reset(0);
  g.stop_strings = {stop};
  std::string streamed;
  const auto r = s.generate({prompt("Hello world")}, g,
                            [&](int, int32_t, const std::string& piece) { streamed += piece; });
  EXPECT_EQ(r.sequences[0].stop, StopReason::kStopString);
  EXPECT_EQ(r.sequences[0].text, text.substr(0, text.find(stop)));
  EXPECT_EQ(streamed, r.sequences[0].text);
}

TEST_F(SessionTest, StopsWhenTheContextIsFull) {
  SessionOptions o;
  o.n_ctx = 12;
  Session s(*model_, o);
  GenerateOptions g;
  g.max_new_tokens = 100;
  g.stop_at_end_token = false;
  const auto p = prompt("Hello world");
  const auto r = s.generate({p}, g);
  EXPECT_EQ(r.sequences[0].stop, StopReason::kContextFull);
  EXPECT_EQ(p.size() + r.sequences[0].output.size(), 12u);
  EXPECT_THROW(s.generate({prompt("more text")}, g), Error);  // nothing left to generate into
}

TEST_F(SessionTest, EachSequenceOfABatchStopsOnItsOwn) {
  SessionOptions o;
  o.n_seqs = 3;
  Session batch(*model_, o);
  GenerateOptions g;
  g.stop_at_end_token = false;
  g.max_new_tokens = 10;
  std::vector<std::vector<int32_t>> prompts = {prompt("a"), prompt("Hello world, how are"),
                                               prompt("kv")};
  // The middle sequence stops at a string taken from its own free run.
  Session alone(*model_, {});
  const std::string middle = alone.generate({prompts[1]}, g).sequences[0].text;
  ASSERT_GE(middle.size(), 4u);
  g.stop_strings = {middle.substr(2, 2)};
  const auto r = batch.generate(prompts, g);
  EXPECT_EQ(r.sequences[1].stop, StopReason::kStopString);
  EXPECT_LT(r.sequences[1].output.size(), 10u);
  for (int i : {0, 2}) {
    if (r.sequences[i].stop != StopReason::kStopString) {
      EXPECT_EQ(r.sequences[i].output.size(), 10u);
    }
  }
}

TEST_F(SessionTest, RejectsEmptyAndTooManyPrompts) {
  Session s(*model_, {});
  GenerateOptions g;
  EXPECT_THROW(s.generate({{}}, g), Error);
  EXPECT_THROW(s.generate({prompt("a"), prompt("b")}, g), Error);
}

}  // namespace
}  // namespace kvscope
