// The byte-level BPE that kvscope train learns: deterministic, lossless, and read back alike
// from the checkpoint's tokenizer.json by the Hugging Face folder loader.
#include <gtest/gtest.h>

#include <filesystem>

#include "models/model.h"
#include "train/checkpoint.h"
#include "train/tokenizer_files.h"

namespace kvscope::train {
namespace {

const std::vector<std::string> kTexts = {
    "<|im_start|>user\nWhat color is the sky?<|im_end|>\n<|im_start|>assistant\nThe sky is "
    "blue.<|im_end|>\n",
    "<|im_start|>user\nHow many legs does a dog have?<|im_end|>\n<|im_start|>assistant\nA dog "
    "has four legs.<|im_end|>\n",
    "the the the sky sky blue blue 12 + 30 = 42, don't stop",
};

TEST(TrainTokenizer, LearnsMergesDeterministicallyAndKeepsSpecialsWhole) {
  const BpeVocab a = train_bpe(kTexts, 300), b = train_bpe(kTexts, 300);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.merges, b.merges);
  EXPECT_EQ(a.n_special, 3);
  EXPECT_GT(a.tokens.size(), 259u);
  EXPECT_LE(a.tokens.size(), 300u);
  for (const auto& [l, r] : a.merges) EXPECT_EQ((l + r).find("<|"), std::string::npos) << l << r;
}

TEST(TrainTokenizer, EveryTextRoundTrips) {
  const auto tok = make_tokenizer(train_bpe(kTexts, 300));
  for (const std::string& text :
       {kTexts[0], kTexts[2], std::string("Grüße, 東京! 🙂\ttabs  and\n\nlines")}) {
    const std::vector<int32_t> ids = tok->encode(text, true, false);
    EXPECT_EQ(tok->decode(ids), text);
  }
  const std::vector<int32_t> ids = tok->encode(kTexts[0], true, false);
  EXPECT_EQ(ids.front(), 1);                    // <|im_start|>
  EXPECT_LT(ids.size(), kTexts[0].size() / 2);  // merges apply
  EXPECT_EQ(tok->eos_id(), 2);
}

TEST(TrainTokenizer, TheLoaderReadsTheCheckpointsTokenizerAlike) {
  CheckpointState s;
  s.vocab = train_bpe(kTexts, 300);
  s.config.vocab_size = 304;
  s.config.dim = 8;
  s.config.n_heads = 2;
  s.config.n_kv_heads = 1;
  s.config.ffn_dim = 8;
  s.config.n_layers = 1;
  init_parameters(s.config, 1, s.params);
  s.adam_m.assign(s.params.size(), 0.0f);
  s.adam_v = s.adam_m;
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("kvscope_tok_" + std::to_string(::getpid())))
          .string();
  save_checkpoint(dir, s);
  const auto model = Model::load(dir);
  const auto mine = make_tokenizer(s.vocab);
  for (const std::string& text : kTexts)
    EXPECT_EQ(model->tokenizer().encode(text, true, false), mine->encode(text, true, false));
  const std::vector<int32_t> ends = model->tokenizer().end_ids();
  EXPECT_NE(std::find(ends.begin(), ends.end(), 2), ends.end());
  EXPECT_EQ(model->file().meta.get_string("tokenizer.chat_template", ""), chat_template_source());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kvscope::train
