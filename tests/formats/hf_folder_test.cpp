// Hugging Face folders read as GGUF: each fixture folder against the GGUF file that
// scripts/make_model_goldens.py wrote from the same model the way convert_hf_to_gguf.py does, so
// names, shapes, data and metadata (tokenizer included) must agree; and broken folders.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <set>

#include "core/dtype.h"
#include "format_files.h"
#include "formats/gguf.h"
#include "formats/model_file.h"
#include "formats/safetensors.h"
#include "kernels/ref/dequantize.h"
#include "models/config.h"
#include "models/model.h"

namespace kvscope {
namespace {

namespace fs = std::filesystem;
using kvscope::testing::fixture;
using kvscope::testing::files::expect_error;
using kvscope::testing::files::read_bytes;
using kvscope::testing::files::read_json;
using kvscope::testing::files::read_text;
using kvscope::testing::files::ScratchDir;
using kvscope::testing::files::write_bytes;
using kvscope::testing::files::write_text;
using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Comparing a folder with its GGUF twin.

std::string describe(const MetaValue& v) {
  if (v.type == MetaType::kString) return "'" + v.text + "'";
  if (v.type == MetaType::kArray) return std::to_string(v.items.size()) + " items";
  return std::to_string(v.real);
}

bool same_value(const MetaValue& a, const MetaValue& b, std::string& why) {
  if (a.type != b.type) {
    why = std::string(meta_type_name(a.type)) + " vs " + meta_type_name(b.type);
    return false;
  }
  if (a.type == MetaType::kArray) {
    if (a.item_type != b.item_type || a.items.size() != b.items.size()) {
      why = describe(a) + " of " + meta_type_name(a.item_type) + " vs " + describe(b) + " of " +
            meta_type_name(b.item_type);
      return false;
    }
    for (size_t i = 0; i < a.items.size(); ++i) {
      if (!same_value(a.items[i], b.items[i], why)) {
        why = "item " + std::to_string(i) + ": " + why + " (" + describe(a.items[i]) + " vs " +
              describe(b.items[i]) + ")";
        return false;
      }
    }
    return true;
  }
  if (a.integer != b.integer || a.real != b.real || a.text != b.text) {
    why = describe(a) + " vs " + describe(b);
    return false;
  }
  return true;
}

// Keys that only a GGUF file has: its version, what convert records about the file itself, and
// add_sep_token, which gguf-py derives from the pair template (irrelevant to generation).
const std::set<std::string> kGgufOnlyKeys = {"GGUF.version", "general.file_type",
                                             "general.quantization_version",
                                             "tokenizer.ggml.add_sep_token"};

void expect_same_metadata(const ModelFile& hf, const ModelFile& gguf,
                          std::set<std::string> skip = {}) {
  skip.insert(kGgufOnlyKeys.begin(), kGgufOnlyKeys.end());
  for (const auto& [key, value] : gguf.meta.all()) {
    if (skip.count(key)) continue;
    const MetaValue* mine = hf.meta.find(key);
    if (mine == nullptr) {
      ADD_FAILURE() << "the folder lacks " << key << " = " << describe(value);
      continue;
    }
    std::string why;
    EXPECT_TRUE(same_value(*mine, value, why)) << key << ": folder vs GGUF: " << why;
  }
  for (const auto& [key, value] : hf.meta.all()) {
    if (!skip.count(key)) {
      EXPECT_TRUE(gguf.meta.has(key)) << "only the folder has " << key;
    }
  }
}

std::vector<float> row_values(const TensorView& t, int64_t r) {
  std::vector<float> v(static_cast<size_t>(t.cols()));
  ref::dequantize_row(t.type, t.row(r), v.data(), t.cols());
  return v;
}

// convert_hf_to_gguf.py permutes Llama's Q and K rows so that rotary pairs are neighbours: GGUF
// row h*d + 2i + j is Hugging Face row h*d + j*d/2 + i (d the head size).
int64_t hf_row(int64_t gguf_row, int64_t head_dim) {
  const int64_t h = gguf_row / head_dim, k = gguf_row % head_dim;
  return h * head_dim + (k % 2) * (head_dim / 2) + k / 2;
}

void expect_same_tensors(const ModelFile& hf, const ModelFile& gguf, int64_t head_dim,
                         const std::set<std::string>& only_in_gguf = {}) {
  EXPECT_EQ(hf.tensors.size() + only_in_gguf.size(), gguf.tensors.size());
  for (const auto& [name, g] : gguf.tensors) {
    SCOPED_TRACE(name);
    const TensorView* h = hf.find(name);
    if (only_in_gguf.count(name)) {
      EXPECT_EQ(h, nullptr);
      continue;
    }
    ASSERT_NE(h, nullptr) << "missing from the folder";
    EXPECT_EQ(h->name, name);
    EXPECT_EQ(h->n_dims, g.n_dims);
    EXPECT_EQ(shape_string(*h), shape_string(g));
    const bool permuted = name.ends_with("attn_q.weight") || name.ends_with("attn_k.weight");
    int mismatched_rows = 0;
    for (int64_t r = 0; r < g.rows(); ++r) {
      const int64_t hr = permuted && head_dim > 0 ? hf_row(r, head_dim) : r;
      const bool same = h->type == g.type ? std::memcmp(h->row(hr), g.row(r), g.row_bytes()) == 0
                                          : row_values(*h, hr) == row_values(g, r);
      if (!same) ++mismatched_rows;
    }
    EXPECT_EQ(mismatched_rows, 0);
  }
}

TEST(HfFolder, TinyLlamaMatchesItsGguf) {
  auto hf = open_model_file(fixture("models/tiny-llama-hf"));
  auto gguf = read_gguf(fixture("models/tiny-llama-f32.gguf"));
  EXPECT_EQ(hf->format, FileFormat::kSafetensors);
  EXPECT_EQ(hf->path, fixture("models/tiny-llama-hf"));
  EXPECT_EQ(hf->file_bytes, fs::file_size(fixture("models/tiny-llama-hf/model.safetensors")));
  expect_same_metadata(*hf, *gguf);
  expect_same_tensors(*hf, *gguf, 16);
  for (const auto& [name, t] : hf->tensors) EXPECT_EQ(t.type, DType::kF32) << name;
}

// The folder's rope_scaling (type llama3) gives the factors llama.cpp's converter writes into the
// GGUF as rope_freqs.weight: the fastest pair kept, one blended, the slow ones 8 times slower.
TEST(HfFolder, Llama3RopeScalingGivesTheConvertersFrequencyFactors) {
  const ModelConfig folder = read_config(*open_model_file(fixture("models/tiny-llama3-rope-hf")));
  const ModelConfig gguf = read_config(*read_gguf(fixture("models/tiny-llama3-rope-f32.gguf")));
  ASSERT_EQ(gguf.rope_freq_factors.size(), 8u);
  ASSERT_EQ(folder.rope_freq_factors.size(), 8u);
  for (size_t i = 0; i < 8; ++i)
    EXPECT_NEAR(folder.rope_freq_factors[i], gguf.rope_freq_factors[i], 1e-6f) << i;
  EXPECT_EQ(gguf.rope_freq_factors[0], 1.0f);
  EXPECT_GT(gguf.rope_freq_factors[1], 1.0f);
  EXPECT_LT(gguf.rope_freq_factors[1], 8.0f);
  for (size_t i = 2; i < 8; ++i) EXPECT_EQ(gguf.rope_freq_factors[i], 8.0f) << i;
  EXPECT_TRUE(
      read_config(*read_gguf(fixture("models/tiny-llama-f32.gguf"))).rope_freq_factors.empty());
}

TEST(HfFolder, TinyGpt2MatchesItsGguf) {
  auto hf = open_model_file(fixture("models/tiny-gpt2-hf"));
  auto gguf = read_gguf(fixture("models/tiny-gpt2-f32.gguf"));
  expect_same_metadata(*hf, *gguf);
  // The Conv1D weights were transposed on reading; convert writes the tied head out again.
  expect_same_tensors(*hf, *gguf, 0, {"output.weight"});
  EXPECT_EQ(shape_string(hf->require("blk.0.attn_qkv.weight")), "[64, 192]");
  EXPECT_EQ(shape_string(hf->require("blk.1.ffn_down.weight")), "[256, 64]");
  EXPECT_EQ(hf->converted.size(), 8u);  // 4 Conv1D weights in each of 2 blocks
}

// The Qwen GGUF files come from llama.cpp's convert_hf_to_gguf.py itself, which names the model
// from the folder ("Tiny Qwen2 Hf") and records its size, and whose gguf-py (newer than the one
// that wrote the other fixtures) writes add_eos_token false for a ByteLevel post-processor, where
// the folder says nothing and kvscope adds no EOS either. Everything else must agree, and q and k
// are not permuted (Qwen keeps NeoX order in GGUF).
const std::set<std::string> kConverterNaming = {
    "general.name", "general.type", "general.size_label", "tokenizer.ggml.add_eos_token"};

TEST(HfFolder, TinyQwen2MatchesTheConvertersGguf) {
  auto hf = open_model_file(fixture("models/tiny-qwen2-hf"));
  auto gguf = read_gguf(fixture("models/tiny-qwen2-bf16.gguf"));
  expect_same_metadata(*hf, *gguf, kConverterNaming);
  expect_same_tensors(*hf, *gguf, 0);
  EXPECT_EQ(hf->find("output.weight"), nullptr);  // tied
  EXPECT_EQ(shape_string(hf->require("blk.1.attn_k.bias")), "[32]");
  const ModelConfig folder = read_config(*hf), file = read_config(*gguf);
  for (const ModelConfig& c : {folder, file}) {
    EXPECT_EQ(c.arch_name, "qwen2");
    EXPECT_TRUE(c.qkv_bias);
    EXPECT_FALSE(c.qk_norm);
    EXPECT_TRUE(c.rope_neox);
    EXPECT_TRUE(c.tied_embeddings);
    EXPECT_EQ(c.head_dim, 16);
    EXPECT_EQ(c.rope_dims, 16);
    EXPECT_EQ(c.rope_base, 1e6f);
  }
}

TEST(HfFolder, TinyQwen3MatchesTheConvertersGguf) {
  auto hf = open_model_file(fixture("models/tiny-qwen3-hf"));
  auto gguf = read_gguf(fixture("models/tiny-qwen3-bf16.gguf"));
  expect_same_metadata(*hf, *gguf, kConverterNaming);
  expect_same_tensors(*hf, *gguf, 0);
  EXPECT_EQ(shape_string(hf->require("blk.0.attn_q.weight")), "[64, 128]");
  EXPECT_EQ(shape_string(hf->require("blk.0.attn_output.weight")), "[128, 64]");
  EXPECT_EQ(shape_string(hf->require("blk.0.attn_q_norm.weight")), "[32]");
  const ModelConfig folder = read_config(*hf), file = read_config(*gguf);
  for (const ModelConfig& c : {folder, file}) {
    EXPECT_EQ(c.arch_name, "qwen3");
    EXPECT_FALSE(c.qkv_bias);
    EXPECT_TRUE(c.qk_norm);
    EXPECT_TRUE(c.rope_neox);
    EXPECT_FALSE(c.tied_embeddings);
    EXPECT_EQ(c.dim, 64);
    EXPECT_EQ(c.head_dim, 32);  // not 64 / 4
    EXPECT_EQ(c.q_dim(), 128);
    EXPECT_EQ(c.kv_dim(), 64);
    EXPECT_EQ(c.rope_dims, 32);
  }
}

// Mistral: the converter writes a llama (q and k permuted as for Llama) and, with the one line
// scripts/make_model_goldens.py adds to it, the window as llama.attention.sliding_window.
TEST(HfFolder, TinyMistralMatchesTheConvertersGguf) {
  auto hf = open_model_file(fixture("models/tiny-mistral-hf"));
  auto gguf = read_gguf(fixture("models/tiny-mistral-bf16.gguf"));
  expect_same_metadata(*hf, *gguf, kConverterNaming);
  expect_same_tensors(*hf, *gguf, 32);  // q and k rows permuted
  EXPECT_EQ(hf->meta.get_int("llama.attention.sliding_window"), 8);
  const ModelConfig folder = read_config(*hf), file = read_config(*gguf);
  for (const ModelConfig& c : {folder, file}) {
    EXPECT_EQ(c.arch_name, "llama");
    EXPECT_EQ(c.sliding_window, 8);
    EXPECT_EQ(c.first_visible(1, 7), 0);
    EXPECT_EQ(c.first_visible(1, 8), 1);  // 8 - 0 is not under the window
  }
  EXPECT_FALSE(folder.rope_neox == file.rope_neox);
}

// Phi-3: the converter keeps q, k, v fused in attn_qkv and gate, up fused in ffn_up, unpermuted
// (NeoX order in GGUF too), and writes the window; the loader splits them into views.
TEST(HfFolder, TinyPhi3MatchesTheConvertersGguf) {
  auto hf = open_model_file(fixture("models/tiny-phi3-hf"));
  auto gguf = read_gguf(fixture("models/tiny-phi3-bf16.gguf"));
  // longrope's short factors: a tensor in the GGUF (with the long ones, unused), a key of
  // kvscope's own from the folder.
  std::set<std::string> differ = kConverterNaming;
  differ.insert("phi3.rope.scaling.short_factor");
  expect_same_metadata(*hf, *gguf, differ);
  expect_same_tensors(*hf, *gguf, 0, {"rope_factors_long.weight", "rope_factors_short.weight"});
  EXPECT_EQ(shape_string(hf->require("blk.0.attn_qkv.weight")), "[64, 128]");
  EXPECT_EQ(shape_string(hf->require("blk.0.ffn_up.weight")), "[64, 512]");
  const ModelConfig folder = read_config(*hf), file = read_config(*gguf);
  for (const ModelConfig& c : {folder, file}) {
    EXPECT_EQ(c.arch_name, "phi3");
    EXPECT_TRUE(c.fused_projections);
    EXPECT_TRUE(c.rope_neox);
    EXPECT_EQ(c.sliding_window, 8);
    EXPECT_EQ(c.rope_dims, 16);
    EXPECT_EQ(c.context_length, 256);  // longrope's original context, not 1024
    EXPECT_NEAR(c.rope_mscale, std::sqrt(1 + std::log(4.0) / std::log(256.0)), 1e-6);
  }
  ASSERT_EQ(folder.rope_freq_factors.size(), 8u);
  EXPECT_EQ(folder.rope_freq_factors, file.rope_freq_factors);  // the short factors
  const auto model = Model::load(fixture("models/tiny-phi3-bf16.gguf"));
  const LayerWeights& l = model->layers()[1];
  const TensorView& qkv = model->file().require("blk.1.attn_qkv.weight");
  EXPECT_EQ(l.wq->data, qkv.data);
  EXPECT_EQ(l.wk->data, qkv.row(64));
  EXPECT_EQ(l.wv->data, qkv.row(96));
  EXPECT_EQ(shape_string(*l.wv), "[64, 32]");
  EXPECT_EQ(l.w_up->data, model->file().require("blk.1.ffn_up.weight").row(256));  // after gate
}

// Gemma 3: the converter stores its norms as 1 + w and writes no query scale (llama.cpp derives it
// from the head size) and no layer pattern (llama.cpp's default, every 6th layer global).
TEST(HfFolder, TinyGemma3MatchesTheConvertersGguf) {
  auto hf = open_model_file(fixture("models/tiny-gemma3-hf"));
  auto gguf = read_gguf(fixture("models/tiny-gemma3-bf16.gguf"));
  std::set<std::string> differ = kConverterNaming;
  differ.insert("gemma3.attention.scale");
  expect_same_metadata(*hf, *gguf, differ);
  EXPECT_NEAR(hf->meta.get_real("gemma3.attention.scale"), 1 / std::sqrt(32.0), 1e-7);
  const ModelConfig folder = read_config(*hf), file = read_config(*gguf);
  for (const ModelConfig& c : {folder, file}) {
    EXPECT_EQ(c.arch_name, "gemma3");
    EXPECT_EQ(c.activation, Activation::kGeGlu);
    EXPECT_TRUE(c.post_norms && c.qk_norm && c.rope_neox && c.tied_embeddings);
    EXPECT_EQ(c.sliding_window, 8);
    EXPECT_EQ(c.sliding_pattern, 6);
    for (int layer = 0; layer < 6; ++layer) EXPECT_EQ(c.slides(layer), layer != 5) << layer;
    EXPECT_EQ(c.layer_rope_base(0), 1e4f);
    EXPECT_EQ(c.layer_rope_base(5), 1e6f);
    EXPECT_NEAR(c.attn_scale, 1 / std::sqrt(32.0f), 1e-7f);
    EXPECT_EQ(c.embed_scale, 8.0f);
    EXPECT_EQ(c.logit_softcap, 5.0f);
  }
  EXPECT_EQ(folder.norm_weight_offset, 1.0f);
  EXPECT_EQ(file.norm_weight_offset, 0.0f);
  // Either way the forward pass multiplies by the same 1 + w.
  const auto a = Model::load(fixture("models/tiny-gemma3-hf"));
  const auto b = Model::load(fixture("models/tiny-gemma3-bf16.gguf"));
  for (int layer : {0, 5}) {
    const LayerWeights &x = a->layers()[layer], &y = b->layers()[layer];
    EXPECT_EQ(x.attn_norm, y.attn_norm);
    EXPECT_EQ(x.post_attn_norm, y.post_attn_norm);
    EXPECT_EQ(x.ffn_norm, y.ffn_norm);
    EXPECT_EQ(x.post_ffn_norm, y.post_ffn_norm);
    EXPECT_EQ(x.q_norm, y.q_norm);
    EXPECT_EQ(x.k_norm, y.k_norm);
  }
  EXPECT_EQ(a->output_norm(), b->output_norm());
}

// Bad head metadata in a Qwen GGUF: one line naming the file and the key.
TEST(QwenGgufErrors, HeadMetadata) {
  const std::string path = fixture("models/tiny-qwen3-bf16.gguf");
  auto with = [&](const char* key, MetaValue value) {
    auto f = read_gguf(path);
    f->meta.set(key, std::move(value));
    return f;
  };
  expect_error([&] { read_config(*with("qwen3.attention.value_length", MetaValue::of_int(16))); },
               {path, "'qwen3.attention.value_length'", "16", "32"});
  expect_error([&] { read_config(*with("qwen3.attention.key_length", MetaValue::of_int(0))); },
               {path, "'qwen3.attention.key_length'", "out of range"});
  expect_error([&] { read_config(*with("qwen3.attention.head_count_kv", MetaValue::of_int(3))); },
               {path, "3 K/V heads", "4 query heads"});
  expect_error([&] { read_config(*with("general.architecture", MetaValue::of_string("qwen35"))); },
               {path, "'qwen35'", "qwen2, qwen3"});
  // Without key_length the head size is the width over the heads, which must divide it.
  const std::string qwen2 = fixture("models/tiny-qwen2-bf16.gguf");
  auto f = read_gguf(qwen2);
  f->meta.set("qwen2.attention.head_count", MetaValue::of_int(6));
  expect_error([&] { read_config(*f); }, {qwen2, "6 heads", "64", "'qwen2.attention.key_length'"});
}

TEST(HfFolder, SentencePieceBf16MatchesItsGguf) {
  auto hf = open_model_file(fixture("models/tiny-llama-spm-hf"));
  auto gguf = read_gguf(fixture("models/tiny-llama-spm-bf16.gguf"));
  expect_same_metadata(*hf, *gguf);
  // The folder's norms are BF16 where the GGUF widened them to F32: the values still agree.
  expect_same_tensors(*hf, *gguf, 16);
  EXPECT_EQ(hf->require("token_embd.weight").type, DType::kBF16);
  EXPECT_EQ(hf->require("output_norm.weight").type, DType::kBF16);
  const Metadata& m = hf->meta;
  EXPECT_EQ(m.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_FALSE(m.has("tokenizer.ggml.pre"));
  const auto tokens = m.get_strings("tokenizer.ggml.tokens");
  const auto types = m.get_ints("tokenizer.ggml.token_type");
  ASSERT_GT(tokens.size(), 300u);
  EXPECT_EQ(tokens[0], "<unk>");
  EXPECT_EQ(types[0], 2);  // unknown
  EXPECT_EQ(types[1], 3);  // <s>: control
  EXPECT_EQ(tokens[3], "<0x00>");
  EXPECT_EQ(types[3], 6);  // byte
  EXPECT_EQ(types[258], 6);
  EXPECT_EQ(types[300], 1);
  EXPECT_TRUE(m.get_bool("tokenizer.ggml.add_space_prefix", false));
  EXPECT_TRUE(m.get_bool("tokenizer.ggml.add_bos_token", false));
  EXPECT_FALSE(m.get_bool("tokenizer.ggml.add_eos_token", true));
  EXPECT_EQ(m.get_int("tokenizer.ggml.unknown_token_id"), 0);
  EXPECT_TRUE(m.get_string("tokenizer.chat_template").starts_with("{% if messages[0]['role']"));
  // Scores follow the merges: the first merge's piece scores 0, later ones less.
  const auto scores = m.get_reals("tokenizer.ggml.scores");
  const auto merges = m.get_strings("tokenizer.ggml.merges");
  const std::string first =
      merges[0].substr(0, merges[0].find(' ')) + merges[0].substr(merges[0].find(' ') + 1);
  const std::string second =
      merges[1].substr(0, merges[1].find(' ')) + merges[1].substr(merges[1].find(' ') + 1);
  const auto index_of = [&](const std::string& t) {
    return std::find(tokens.begin(), tokens.end(), t) - tokens.begin();
  };
  EXPECT_EQ(scores[index_of(first)], 0.0);
  EXPECT_EQ(scores[index_of(second)], -1.0);
}

TEST(HfFolder, LlamaTokenizerTranslation) {
  auto hf = open_model_file(fixture("models/tiny-llama-hf"));
  const Metadata& m = hf->meta;
  EXPECT_EQ(m.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(m.get_string("tokenizer.ggml.pre"), "llama-bpe");
  const auto tokens = m.get_strings("tokenizer.ggml.tokens");
  const auto types = m.get_ints("tokenizer.ggml.token_type");
  ASSERT_EQ(tokens.size(), static_cast<size_t>(m.get_int("llama.vocab_size")));
  ASSERT_EQ(types.size(), tokens.size());
  EXPECT_EQ(tokens[0], "<|begin_of_text|>");
  EXPECT_EQ(types[0], 3);
  EXPECT_EQ(tokens[4], "<|eot_id|>");
  EXPECT_EQ(m.get_int("tokenizer.ggml.bos_token_id"), 0);
  EXPECT_EQ(m.get_int("tokenizer.ggml.eos_token_id"), 4);  // tokenizer_config.json over config.json
  EXPECT_TRUE(m.get_bool("tokenizer.ggml.add_bos_token", false));
  // The non-special added token is user-defined, its "▁" turned into a space.
  const auto user = std::find(tokens.begin(), tokens.end(), "kvscope cache");
  ASSERT_NE(user, tokens.end());
  EXPECT_EQ(types[user - tokens.begin()], 4);
  // The vocabulary is padded up to config.json's vocab_size.
  EXPECT_EQ(tokens.back(), "[PAD" + std::to_string(tokens.size() - 1) + "]");
  EXPECT_EQ(types.back(), 5);
  EXPECT_FALSE(m.get_strings("tokenizer.ggml.merges").empty());
  EXPECT_TRUE(m.get_string("tokenizer.chat_template").find("<|start_header_id|>") !=
              std::string::npos);
}

TEST(HfFolder, Gpt2TokenizerTranslation) {
  auto hf = open_model_file(fixture("models/tiny-gpt2-hf"));
  const Metadata& m = hf->meta;
  EXPECT_EQ(m.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(m.get_string("tokenizer.ggml.pre"), "gpt2");
  EXPECT_EQ(m.get_strings("tokenizer.ggml.tokens")[0], "<|endoftext|>");
  // No tokenizer_config.json: the ids come from config.json, and nothing says to add BOS.
  EXPECT_EQ(m.get_int("tokenizer.ggml.bos_token_id"), 0);
  EXPECT_EQ(m.get_int("tokenizer.ggml.eos_token_id"), 0);
  EXPECT_FALSE(m.has("tokenizer.ggml.add_bos_token"));
  EXPECT_FALSE(m.has("tokenizer.chat_template"));
  EXPECT_EQ(m.get_string("general.name"), "tiny-gpt2-hf");
}

TEST(HfFolder, ShardedMatchesSingleFile) {
  auto single = open_model_file(fixture("models/tiny-llama-spm-hf"));
  auto sharded = open_model_file(fixture("models/tiny-llama-spm-sharded-hf"));
  EXPECT_EQ(sharded->mappings.size(), 3u);
  uint64_t bytes = 0;
  for (const auto& entry : fs::directory_iterator(fixture("models/tiny-llama-spm-sharded-hf")))
    if (entry.path().extension() == ".safetensors") bytes += entry.file_size();
  EXPECT_EQ(sharded->file_bytes, bytes);
  expect_same_metadata(*sharded, *single, {"general.name"});
  expect_same_tensors(*sharded, *single, 0);
}

// ---------------------------------------------------------------------------------------------
// Writing (broken) safetensors files.

struct StEntry {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;  // outermost first, as safetensors lists it
  std::vector<uint8_t> data;
};

// A safetensors header: its length as a little-endian u64, then the JSON text.
std::vector<uint8_t> header_bytes(const std::string& text) {
  std::vector<uint8_t> bytes;
  for (int i = 0; i < 8; ++i)
    bytes.push_back(static_cast<uint8_t>(uint64_t{text.size()} >> (8 * i)));
  for (char c : text) bytes.push_back(static_cast<uint8_t>(c));
  return bytes;
}

std::vector<uint8_t> safetensors_bytes(const std::vector<StEntry>& entries) {
  json header = json::object();
  size_t offset = 0;
  for (const StEntry& e : entries) {
    header[e.name] = {
        {"dtype", e.dtype}, {"shape", e.shape}, {"data_offsets", {offset, offset + e.data.size()}}};
    offset += e.data.size();
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text += ' ';
  std::vector<uint8_t> bytes = header_bytes(text);
  for (const StEntry& e : entries) bytes.insert(bytes.end(), e.data.begin(), e.data.end());
  return bytes;
}

// The tensors of a safetensors file, by their Hugging Face names.
std::vector<StEntry> entries_of(const std::string& path) {
  ModelFile f;
  read_safetensors_file(path, f);
  std::vector<StEntry> out;
  for (const auto& [name, t] : f.tensors) {
    StEntry e{name, std::string(dtype_name(t.type)), {}, {t.data, t.data + t.bytes()}};
    for (int d = t.n_dims - 1; d >= 0; --d) e.shape.push_back(t.shape[d]);
    out.push_back(std::move(e));
  }
  return out;
}

void edit_json(const std::string& path, const std::function<void(json&)>& edit) {
  json j = read_json(path);
  edit(j);
  write_text(path, j.dump(1));
}

// generation_config.json's sampling reaches the model's config under llama.cpp's keys.
TEST(HfFolder, GenerationConfigGivesTheRecommendedSampling) {
  ScratchDir dir;
  const std::string folder = dir.copy_fixture("models/tiny-llama-hf");
  EXPECT_FALSE(read_config(*open_model_file(folder)).sampling.any());
  const std::string generation = folder + "/generation_config.json";
  write_text(generation, R"({"do_sample": true, "temperature": 0.2, "top_p": 0.9, "top_k": null,)"
                         R"( "repetition_penalty": 1.1, "bos_token_id": 1})");
  const auto file = open_model_file(folder);
  EXPECT_FLOAT_EQ(static_cast<float>(file->meta.get_real("general.sampling.temp")), 0.2f);
  const SamplingHints hints = read_config(*file).sampling;
  EXPECT_FLOAT_EQ(hints.temperature.value_or(-1), 0.2f);
  EXPECT_FLOAT_EQ(hints.top_p.value_or(-1), 0.9f);
  EXPECT_FLOAT_EQ(hints.repeat_penalty.value_or(-1), 1.1f);
  EXPECT_FALSE(hints.top_k.has_value());
  EXPECT_FALSE(hints.min_p.has_value());
  write_text(generation, R"({"top_p": 1.5})");
  expect_error([&] { read_config(*open_model_file(folder)); },
               {folder, "'general.sampling.top_p'", "1.5", "out of range"});
}

TEST(HfFolderErrors, MissingConfig) {
  ScratchDir dir;
  expect_error([&] { open_model_file(dir.path()); }, {dir.path(), "no config.json"});
  expect_error([&] { open_model_file(dir.path("absent")); }, {dir.path("absent")});
}

TEST(HfFolderErrors, NoWeights) {
  ScratchDir dir;
  const std::string folder = dir.copy_fixture("models/tiny-llama-hf");
  fs::remove(folder + "/model.safetensors");
  expect_error([&] { open_model_file(folder); }, {folder, "model.safetensors"});
  write_text(folder + "/pytorch_model.bin", "");
  expect_error([&] { open_model_file(folder); }, {folder, "PyTorch"});
}

TEST(HfFolderErrors, BadConfig) {
  ScratchDir dir;
  const std::string folder = dir.copy_fixture("models/tiny-llama-hf");
  const std::string config = folder + "/config.json";
  const std::string original = read_text(config);
  auto with = [&](const std::function<void(json&)>& edit) {
    write_text(config, original);
    edit_json(config, edit);
  };
  write_text(config, "{\"model_type\": \"llama\",");
  expect_error([&] { open_model_file(folder); }, {config, "not valid JSON"});
  write_text(config, "[1, 2]");
  expect_error([&] { open_model_file(folder); }, {config, "object"});
  with([](json& j) { j["model_type"] = "mamba"; });
  expect_error([&] { open_model_file(folder); }, {config, "'model_type'", "'mamba'", "mistral"});
  with([](json& j) { j.erase("model_type"); });
  expect_error([&] { open_model_file(folder); }, {config, "'model_type'", "missing"});
  with([](json& j) { j.erase("hidden_size"); });
  expect_error([&] { open_model_file(folder); }, {config, "'hidden_size'", "missing"});
  with([](json& j) { j["hidden_size"] = "64"; });
  expect_error([&] { open_model_file(folder); }, {config, "'hidden_size'", "string", "integer"});
  with([](json& j) { j["num_hidden_layers"] = -2; });
  expect_error([&] { open_model_file(folder); }, {config, "'num_hidden_layers'", "-2"});
  with([](json& j) { j["rms_norm_eps"] = true; });
  expect_error([&] { open_model_file(folder); }, {config, "'rms_norm_eps'", "number"});
  with([](json& j) { j["rope_parameters"] = {{"rope_type", "yarn"}, {"factor", 4.0}}; });
  expect_error([&] { open_model_file(folder); }, {config, "'rope_parameters.rope_type'", "'yarn'"});
  with([](json& j) { j["rope_parameters"] = {{"rope_type", "linear"}}; });
  expect_error([&] { open_model_file(folder); }, {config, "'rope_parameters.factor'", "missing"});
  with([](json& j) { j["rope_parameters"] = {{"rope_type", "llama3"}}; });
  expect_error([&] { open_model_file(folder); }, {config, "'rope_parameters.factor'", "missing"});
  with([](json& j) { j["hidden_act"] = "gelu"; });
  expect_error([&] { open_model_file(folder); }, {config, "'hidden_act'", "silu"});
  with([](json& j) { j["attention_bias"] = true; });
  expect_error([&] { open_model_file(folder); }, {config, "'attention_bias'"});
}

TEST(HfFolderErrors, BadQwenConfig) {
  ScratchDir dir;
  const std::string folder = dir.copy_fixture("models/tiny-qwen3-hf");
  const std::string config = folder + "/config.json";
  const std::string original = read_text(config);
  auto with = [&](const std::function<void(json&)>& edit) {
    write_text(config, original);
    edit_json(config, edit);
  };
  with([](json& j) { j["attention_bias"] = true; });
  expect_error([&] { open_model_file(folder); }, {config, "'attention_bias'"});
  with([](json& j) { j["use_sliding_window"] = true; });
  expect_error([&] { open_model_file(folder); }, {config, "'use_sliding_window'"});
  with([](json& j) { j["head_dim"] = 0; });
  expect_error([&] { open_model_file(folder); }, {config, "'head_dim'"});
  // A head size the weights do not have: the loader names the tensor and both shapes.
  with([](json& j) { j["head_dim"] = 16; });
  expect_error([&] { Model::load(folder); },
               {folder, "attn_output.weight", "[128, 64]", "[64, 64]"});
  with([](json& j) { j["model_type"] = "qwen2"; });  // Qwen 2 has no q/k norms
  expect_error([&] { open_model_file(folder); }, {folder, "_norm.weight", "qwen2"});
}

TEST(HfFolderErrors, BadMistralWindow) {
  ScratchDir dir;
  const std::string folder = dir.copy_fixture("models/tiny-mistral-hf");
  const std::string config = folder + "/config.json";
  const std::string original = read_text(config);
  auto with = [&](const std::function<void(json&)>& edit) {
    write_text(config, original);
    edit_json(config, edit);
  };
  with([](json& j) { j["sliding_window"] = 0; });
  expect_error([&] { open_model_file(folder); }, {config, "'sliding_window'", "positive"});
  with([](json& j) { j["sliding_window"] = "8"; });
  expect_error([&] { open_model_file(folder); }, {config, "'sliding_window'", "integer"});
  with([](json& j) { j["sliding_window"] = nullptr; });  // the later Mistrals: no window
  EXPECT_EQ(read_config(*open_model_file(folder)).sliding_window, 0);
  const std::string path = fixture("models/tiny-mistral-bf16.gguf");
  auto f = read_gguf(path);
  f->meta.set("llama.attention.sliding_window", MetaValue::of_int(-3));
  expect_error([&] { read_config(*f); }, {path, "'llama.attention.sliding_window'", "-3"});
}

TEST(HfFolderErrors, BadPhi3Config) {
  ScratchDir dir;
  const std::string folder = dir.copy_fixture("models/tiny-phi3-hf");
  const std::string config = folder + "/config.json";
  const std::string original = read_text(config);
  auto with = [&](const std::function<void(json&)>& edit) {
    write_text(config, original);
    edit_json(config, edit);
  };
  with([](json& j) { j["rope_parameters"]["partial_rotary_factor"] = 1.5; });
  expect_error([&] { open_model_file(folder); }, {config, "'partial_rotary_factor'", "1.5"});
  with([](json& j) { j["rope_parameters"]["rope_type"] = "yarn"; });
  expect_error([&] { open_model_file(folder); }, {config, "'rope_parameters.rope_type'", "'yarn'"});
  with([](json& j) { j["rope_parameters"]["short_factor"][2] = -1; });
  expect_error([&] { open_model_file(folder); },
               {config, "'rope_parameters.short_factor'", "-1", "positive"});
  with([](json& j) { j["rope_parameters"].erase("short_factor"); });
  expect_error([&] { open_model_file(folder); }, {config, "'rope_parameters.short_factor'"});
  with([](json& j) { j["rope_parameters"]["short_factor"].erase(0); });
  expect_error([&] { read_config(*open_model_file(folder)); },
               {folder, "'phi3.rope.scaling.short_factor'", "7 factors", "8"});
  with([](json& j) { j["sliding_window"] = -1; });
  expect_error([&] { open_model_file(folder); }, {config, "'sliding_window'", "-1"});
  with([](json& j) { j["sliding_window"] = nullptr; });  // Phi-3.5 and Phi-4 style: none
  EXPECT_EQ(read_config(*open_model_file(folder)).sliding_window, 0);
  with([](json& j) { j["num_key_value_heads"] = 4; });  // qkv_proj holds 64 + 2 x 32 rows
  expect_error([&] { Model::load(folder); }, {folder, "attn_qkv.weight", "[64, 128]", "[64, 192]"});
}

TEST(HfFolderErrors, BadGemma3Config) {
  ScratchDir dir;
  const std::string folder = dir.copy_fixture("models/tiny-gemma3-hf");
  const std::string config = folder + "/config.json";
  const std::string original = read_text(config);
  auto with = [&](const std::function<void(json&)>& edit) {
    write_text(config, original);
    edit_json(config, edit);
  };
  with([](json& j) { j["layer_types"][1] = "full_attention"; });
  expect_error([&] { open_model_file(folder); }, {config, "'layer_types'", "every p-th"});
  with([](json& j) { j["attn_logit_softcapping"] = 50.0; });
  expect_error([&] { open_model_file(folder); }, {config, "'attn_logit_softcapping'"});
  with([](json& j) { j["hidden_activation"] = "relu"; });
  expect_error([&] { open_model_file(folder); }, {config, "'hidden_activation'", "'relu'"});
  with([](json& j) { j["query_pre_attn_scalar"] = 0; });
  expect_error([&] { open_model_file(folder); }, {config, "'query_pre_attn_scalar'"});
  with([](json& j) { j["rope_parameters"]["full_attention"]["rope_type"] = "linear"; });
  expect_error([&] { open_model_file(folder); },
               {config, "'rope_parameters.full_attention.rope_type'", "'linear'"});
  with([](json& j) {
    j["layer_types"] = {"sliding_attention", "full_attention",    "sliding_attention",
                        "full_attention",    "sliding_attention", "full_attention"};
  });
  EXPECT_EQ(read_config(*open_model_file(folder)).sliding_pattern, 2);
}

TEST(HfFolder, RopeAndHeadSettings) {
  ScratchDir dir;
  const std::string folder = dir.copy_fixture("models/tiny-llama-hf");
  const std::string config = folder + "/config.json";
  // Transformers 5 spelling.
  edit_json(config, [](json& j) {
    j["rope_parameters"] = {{"rope_type", "linear"}, {"factor", 2.0}, {"rope_theta", 5e5}};
  });
  auto f = open_model_file(folder);
  EXPECT_EQ(f->meta.get_string("llama.rope.scaling.type"), "linear");
  EXPECT_EQ(f->meta.get_real("llama.rope.scaling.factor"), 2.0);
  EXPECT_EQ(f->meta.get_real("llama.rope.freq_base"), 5e5);
  // Transformers 4 spelling; no head_dim means hidden / heads.
  edit_json(config, [](json& j) {
    j.erase("rope_parameters");
    j.erase("head_dim");
    j["rope_theta"] = 1e4;
    j["rope_scaling"] = {{"type", "linear"}, {"factor", 4.0}};
  });
  f = open_model_file(folder);
  EXPECT_EQ(f->meta.get_real("llama.rope.scaling.factor"), 4.0);
  EXPECT_EQ(f->meta.get_int("llama.rope.dimension_count"), 16);
  EXPECT_FALSE(f->meta.has("llama.attention.key_length"));
  edit_json(config, [](json& j) { j["rope_scaling"] = nullptr; });
  EXPECT_FALSE(open_model_file(folder)->meta.has("llama.rope.scaling.type"));
}

TEST(HfFolder, TiedEmbeddings) {
  ScratchDir dir;
  const std::string folder = dir.copy_fixture("models/tiny-llama-hf");
  // Tied: a saved lm_head copy is dropped, so the model uses the embedding.
  edit_json(folder + "/config.json", [](json& j) { j["tie_word_embeddings"] = true; });
  EXPECT_EQ(open_model_file(folder)->find("output.weight"), nullptr);
  // Untied without a head is an error.
  edit_json(folder + "/config.json", [](json& j) { j["tie_word_embeddings"] = false; });
  auto entries = entries_of(folder + "/model.safetensors");
  std::erase_if(entries, [](const StEntry& e) { return e.name == "lm_head.weight"; });
  write_bytes(folder + "/model.safetensors", safetensors_bytes(entries));
  expect_error([&] { open_model_file(folder); }, {folder, "lm_head.weight", "tie_word_embeddings"});
}

TEST(HfFolderErrors, UnknownTensor) {
  ScratchDir dir;
  const std::string folder = dir.copy_fixture("models/tiny-llama-hf");
  auto entries = entries_of(folder + "/model.safetensors");
  entries.push_back(
      {"model.layers.0.self_attn.q_norm.weight", "F32", {16}, std::vector<uint8_t>(64)});
  write_bytes(folder + "/model.safetensors", safetensors_bytes(entries));
  expect_error([&] { open_model_file(folder); },
               {folder, "'model.layers.0.self_attn.q_norm.weight'"});
  // A saved rotary buffer is not a weight and is skipped.
  entries.back() = {
      "model.layers.0.self_attn.rotary_emb.inv_freq", "F32", {8}, std::vector<uint8_t>(32)};
  write_bytes(folder + "/model.safetensors", safetensors_bytes(entries));
  EXPECT_NO_THROW(open_model_file(folder));
}

TEST(HfFolderErrors, BrokenSafetensors) {
  ScratchDir dir;
  const std::string folder = dir.copy_fixture("models/tiny-llama-hf");
  const std::string file = folder + "/model.safetensors";
  const auto original = read_bytes(file);
  // Truncated in the data.
  write_bytes(file, {original.begin(), original.begin() + original.size() * 2 / 3});
  expect_error([&] { open_model_file(folder); }, {file, "past the end"});
  // Truncated in the header.
  write_bytes(file, {original.begin(), original.begin() + 20});
  expect_error([&] { open_model_file(folder); }, {file, "truncated"});
  // A header that is not JSON.
  std::vector<uint8_t> bad = safetensors_bytes({{"x", "F32", {2}, std::vector<uint8_t>(8)}});
  bad[8] = '[';
  write_bytes(file, bad);
  expect_error([&] { open_model_file(folder); }, {file, "JSON"});
  // An implausible header length.
  bad = original;
  const uint64_t huge = 1ull << 40;
  std::memcpy(bad.data(), &huge, 8);
  write_bytes(file, bad);
  expect_error([&] { open_model_file(folder); }, {file, "header length"});
  // The dtype and the byte count disagree: F16 claimed over F32 bytes.
  auto entries = entries_of(fixture("models/tiny-llama-hf/model.safetensors"));
  entries[0].dtype = "F16";
  write_bytes(file, safetensors_bytes(entries));
  expect_error([&] { open_model_file(folder); }, {file, "'" + entries[0].name + "'", "F16"});
  // A dtype kvscope does not read.
  entries[0].dtype = "I64";
  write_bytes(file, safetensors_bytes(entries));
  expect_error([&] { open_model_file(folder); }, {file, "I64"});
  // An entry without its offsets.
  write_bytes(file, header_bytes(R"({"x": {"dtype": "F32", "shape": [2]}})"));
  expect_error([&] { open_model_file(folder); }, {file, "'x'", "data_offsets"});
}

// Every prefix of a small safetensors file fails cleanly, naming the file.
TEST(HfFolderErrors, SafetensorsTruncatedAtEveryOffset) {
  const auto bytes = safetensors_bytes({{"a", "F32", {2, 3}, std::vector<uint8_t>(24, 1)},
                                        {"b", "BF16", {5}, std::vector<uint8_t>(10, 2)}});
  {
    ModelFile whole;
    parse_safetensors(bytes, "whole", whole);
    EXPECT_EQ(shape_string(whole.require("a")), "[3, 2]");
    EXPECT_EQ(whole.require("b").type, DType::kBF16);
  }
  for (size_t len = 0; len < bytes.size(); ++len) {
    const std::vector<uint8_t> copy(bytes.begin(), bytes.begin() + len);  // exactly sized
    ModelFile f;
    const std::string name = "st[:" + std::to_string(len) + "]";
    try {
      parse_safetensors(copy, name, f);
      ADD_FAILURE() << "a prefix of " << len << " bytes parsed";
    } catch (const Error& e) {
      ASSERT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

TEST(HfFolderErrors, BrokenShardIndex) {
  ScratchDir dir;
  const std::string folder = dir.copy_fixture("models/tiny-llama-spm-sharded-hf");
  const std::string index = folder + "/model.safetensors.index.json";
  const std::string original = read_text(index);
  fs::remove(folder + "/model-00002-of-00003.safetensors");
  expect_error([&] { open_model_file(folder); }, {"model-00002-of-00003.safetensors"});
  write_text(index, original);
  fs::copy_file(fixture("models/tiny-llama-spm-sharded-hf/model-00002-of-00003.safetensors"),
                folder + "/model-00002-of-00003.safetensors");
  EXPECT_NO_THROW(open_model_file(folder));
  edit_json(index, [](json& j) {  // listed in a shard that does not hold it
    const bool in_first =
        j["weight_map"]["model.norm.weight"] == "model-00001-of-00003.safetensors";
    j["weight_map"]["model.norm.weight"] =
        in_first ? "model-00002-of-00003.safetensors" : "model-00001-of-00003.safetensors";
  });
  expect_error([&] { open_model_file(folder); }, {index, "'model.norm.weight'"});
  edit_json(index, [](json& j) { j["weight_map"]["model.norm.weight"] = "../escape.safetensors"; });
  expect_error([&] { open_model_file(folder); }, {index, "../escape.safetensors"});
  edit_json(index, [](json& j) { j.erase("weight_map"); });
  expect_error([&] { open_model_file(folder); }, {index, "'weight_map'"});
}

TEST(HfFolderErrors, BrokenTokenizer) {
  ScratchDir dir;
  const std::string folder = dir.copy_fixture("models/tiny-llama-hf");
  const std::string tok = folder + "/tokenizer.json";
  const std::string original = read_text(tok);
  auto with = [&](const std::function<void(json&)>& edit) {
    write_text(tok, original);
    edit_json(tok, edit);
  };
  with([](json& j) { j["model"]["type"] = "Unigram"; });
  expect_error([&] { open_model_file(folder); }, {tok, "'model.type'", "'Unigram'"});
  with([](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\w+"; });
  expect_error([&] { open_model_file(folder); }, {tok, "'pre_tokenizer'", "\\w+"});
  with([](json& j) { j["pre_tokenizer"] = {{"type", "Whitespace"}}; });
  expect_error([&] { open_model_file(folder); }, {tok, "'pre_tokenizer'", "Whitespace"});
  with([](json& j) { j["model"]["vocab"]["far"] = 100000; });
  expect_error([&] { open_model_file(folder); }, {tok, "'far'", "100000", "vocab_size"});
  with([](json& j) { j["model"]["vocab"]["<|eot_id|>"] = 7; });
  expect_error([&] { open_model_file(folder); }, {tok, "id "});
  with([](json& j) { j["model"]["merges"] = {{"a"}}; });
  expect_error([&] { open_model_file(folder); }, {tok, "merges"});
  with([](json& j) { j["added_tokens"][0]["special"] = "yes"; });
  expect_error([&] { open_model_file(folder); }, {folder});
  write_text(tok, "{");
  expect_error([&] { open_model_file(folder); }, {tok, "not valid JSON"});
  // Without tokenizer.json the weights still load, with no tokenizer metadata.
  fs::remove(tok);
  auto f = open_model_file(folder);
  EXPECT_FALSE(f->meta.has("tokenizer.ggml.model"));
  EXPECT_EQ(f->tensors.size(), 21u);
}

TEST(HfFolder, MergesAsPairs) {
  // Transformers 4.45+ writes merges as [left, right] pairs; the GGUF strings are the same.
  ScratchDir dir;
  const std::string folder = dir.copy_fixture("models/tiny-gpt2-hf");
  const auto before = open_model_file(folder)->meta.get_strings("tokenizer.ggml.merges");
  edit_json(folder + "/tokenizer.json", [](json& j) {
    json pairs = json::array();
    for (const json& m : j["model"]["merges"]) {
      const std::string s = m.is_string() ? m.get<std::string>()
                                          : m[0].get<std::string>() + " " + m[1].get<std::string>();
      pairs.push_back({s.substr(0, s.find(' ')), s.substr(s.find(' ') + 1)});
    }
    j["model"]["merges"] = pairs;
  });
  EXPECT_EQ(open_model_file(folder)->meta.get_strings("tokenizer.ggml.merges"), before);
}

}  // namespace
}  // namespace kvscope
