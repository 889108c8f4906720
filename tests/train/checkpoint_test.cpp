// A checkpoint kvscope train wrote (tests/fixtures/train/tiny_checkpoint), loaded by kvscope's
// Hugging Face loader, gives the logits transformers gives for it
// (checkpoint_logits.safetensors, made by scripts/make_train_goldens.py --checkpoint).
#include "train/checkpoint.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "generate/session.h"
#include "models/model.h"
#include "train_goldens.h"

namespace kvscope::train {
namespace {

using testing::fixture;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(TrainCheckpoint, KvscopeGivesTransformersLogits) {
  const auto model = Model::load(fixture("train/tiny_checkpoint"));
  testing::TrainGoldens g;
  read_safetensors_file(fixture("train/checkpoint_logits.safetensors"), g.file);
  const std::vector<int32_t> ids = g.ids("ids");
  // scripts/make_train_goldens.py's CHECKPOINT_TEXT.
  const std::string text =
      "<|im_start|>user\nWhat color is the sky?<|im_end|>\n<|im_start|>assistant\n";
  EXPECT_EQ(model->tokenizer().encode(text, true, false), ids) << "the tokenizers disagree";
  SessionOptions o;
  o.precision = Precision::kExact;
  Session session(*model, o);
  const std::vector<float> got = session.score(ids), expected = g.read("logits");
  ASSERT_EQ(got.size(), expected.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, double(std::abs(got[i] - expected[i])));
  EXPECT_LE(worst, 1e-4);
}

TEST(TrainCheckpoint, SavingWhatWasLoadedWritesTheSameFiles) {
  const std::string from = fixture("train/tiny_checkpoint");
  const CheckpointState s = load_checkpoint(from);
  const auto to =
      std::filesystem::temp_directory_path() / ("kvscope_ckpt_" + std::to_string(::getpid()));
  save_checkpoint(to.string(), s);
  for (const char* name : {"model.safetensors", "optimizer.safetensors", "config.json",
                           "tokenizer.json", "tokenizer_config.json", "trainer_state.json"})
    EXPECT_EQ(read_all((to / name).string()), read_all(from + "/" + name)) << name;
  std::filesystem::remove_all(to);
}

TEST(TrainCheckpoint, AFolderThatIsNotOneIsAClearError) {
  try {
    load_checkpoint(fixture("models"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kvscope::train
