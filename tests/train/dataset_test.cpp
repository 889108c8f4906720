// Reading, splitting, shuffling and packing the training examples.
#include "train/dataset.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace kvscope::train {
namespace {

std::string temp_file(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("kvscope_data_" + std::to_string(::getpid()) + name);
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

TEST(TrainDataset, JsonlConversationsAreRenderedInTheChatTemplate) {
  const std::string path = temp_file(
      ".jsonl",
      "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", "
      "\"content\": \"Hello!\"}]}\n\n{\"text\": \"plain\"}\n");
  const std::vector<std::string> texts = read_texts(path);
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_EQ(texts[0], "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n");
  EXPECT_EQ(texts[1], "plain");
}

TEST(TrainDataset, BadFilesNameTheFileAndLine) {
  auto message = [](const std::string& path) {
    try {
      read_texts(path);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("/nonexistent.jsonl").find("cannot open"), std::string::npos);
  EXPECT_NE(message(temp_file("bad.jsonl", "{\"text\": \"a\"}\n{oops\n"))
                .find("bad.jsonl:2: not valid JSON"),
            std::string::npos);
  EXPECT_NE(
      message(temp_file("shape.jsonl", "{\"messages\": [{\"role\": 1}]}\n")).find("shape.jsonl:1"),
      std::string::npos);
}

TEST(TrainDataset, RowsStartWithAnExampleAndLongOnesAreCut) {
  const std::vector<Tokens> examples = {{1, 2, 3}, {4, 5}, {6, 7, 8, 9, 10, 11, 12}};
  const std::vector<Batch> batches = make_batches(examples, {0, 1, 2}, 2, 4, 0);
  // Rows of 5: [1 2 3 4 5], [6 7 8 9 10], [10 11 12].
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].tokens, (std::vector<int32_t>{1, 2, 3, 4, 6, 7, 8, 9}));
  EXPECT_EQ(batches[0].targets, (std::vector<int32_t>{2, 3, 4, 5, 7, 8, 9, 10}));
  EXPECT_EQ(batches[1].tokens, (std::vector<int32_t>{10, 11, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(batches[1].targets, (std::vector<int32_t>{11, 12, -1, -1, -1, -1, -1, -1}));
  EXPECT_EQ(batches[1].real_tokens(), 2);
}

TEST(TrainDataset, ShufflesDependOnlyOnTheSeedAndEpoch) {
  EXPECT_EQ(epoch_order(50, 1, 2), epoch_order(50, 1, 2));
  EXPECT_NE(epoch_order(50, 1, 2), epoch_order(50, 1, 3));
  std::vector<size_t> sorted = epoch_order(50, 7, 0);
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) EXPECT_EQ(sorted[i], i);
  const Split s = split_examples(std::vector<Tokens>(40, Tokens{1}));
  EXPECT_EQ(s.held_out.size(), 2u);
  EXPECT_EQ(s.train.size(), 38u);
}

}  // namespace
}  // namespace kvscope::train
