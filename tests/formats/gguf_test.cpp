// The GGUF reader on the fixtures gguf-py wrote, and on every way a file can be broken.
#include "formats/gguf.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "core/dtype.h"
#include "format_files.h"
#include "kernels/ref/dequantize.h"
#include "tokenizer/tokenizer.h"

namespace kvscope {
namespace {

using kvscope::testing::fixture;
using kvscope::testing::files::expect_error;
using kvscope::testing::files::read_bytes;
using kvscope::testing::files::read_json;
using kvscope::testing::files::ScratchDir;
using kvscope::testing::files::write_bytes;

// ---------------------------------------------------------------------------------------------
// A GGUF writer for hand-made (and hand-broken) files.

struct Bytes {
  std::vector<uint8_t> data;
  template <typename T>
  Bytes& put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    data.insert(data.end(), p, p + sizeof(T));
    return *this;
  }
  Bytes& str(const std::string& s) {
    put<uint64_t>(s.size());
    data.insert(data.end(), s.begin(), s.end());
    return *this;
  }
};

struct TensorSpec {
  std::string name;
  std::vector<uint64_t> dims;
  uint32_t type = 0;  // F32
  uint64_t offset = 0;
};

struct GgufSpec {
  uint32_t magic = 0x46554747;
  uint32_t version = 3;
  std::vector<std::pair<std::string, Bytes>> kv;  // key → type and value
  std::vector<TensorSpec> tensors = {{"w", {4, 2}, 0, 0}};
  uint64_t pad_to = 32;
  size_t data_bytes = 32;

  GgufSpec& u32(const std::string& key, uint32_t v) {
    kv.push_back({key, Bytes().put<uint32_t>(4).put<uint32_t>(v)});
    return *this;
  }
  GgufSpec& string(const std::string& key, const std::string& v) {
    kv.push_back({key, Bytes().put<uint32_t>(8).str(v)});
    return *this;
  }
  GgufSpec& strings(const std::string& key, const std::vector<std::string>& items) {
    Bytes value = Bytes().put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(items.size());
    for (const std::string& s : items) value.str(s);
    kv.push_back({key, value});
    return *this;
  }

  std::vector<uint8_t> build() const {
    Bytes b;
    b.put(magic).put(version).put<uint64_t>(tensors.size()).put<uint64_t>(kv.size());
    for (const auto& [key, value] : kv) {
      b.str(key);
      b.data.insert(b.data.end(), value.data.begin(), value.data.end());
    }
    for (const TensorSpec& t : tensors) {
      b.str(t.name).put<uint32_t>(static_cast<uint32_t>(t.dims.size()));
      for (uint64_t d : t.dims) b.put(d);
      b.put(t.type).put(t.offset);
    }
    while (b.data.size() % pad_to != 0) b.data.push_back(0);
    for (size_t i = 0; i < data_bytes; ++i) b.data.push_back(static_cast<uint8_t>(i));
    return b.data;
  }
};

// Parses bytes the way read_gguf does.
std::unique_ptr<ModelFile> parse(const std::vector<uint8_t>& bytes, const std::string& name) {
  auto out = std::make_unique<ModelFile>();
  out->path = name;
  // An exactly sized copy that the file keeps alive: a sanitizer build catches any overread.
  out->converted.emplace_back(bytes);
  parse_gguf(out->converted.back(), *out);
  return out;
}

void expect_parse_error(const GgufSpec& spec, std::initializer_list<std::string> words) {
  std::vector<std::string> all(words);
  all.push_back("hand.gguf");
  const auto bytes = spec.build();
  try {
    parse(bytes, "hand.gguf");
    ADD_FAILURE() << "did not throw";
  } catch (const Error& e) {
    for (const std::string& w : all)
      EXPECT_NE(std::string(e.what()).find(w), std::string::npos) << w << " not in: " << e.what();
  }
}

TEST(Gguf, HandMadeFileParses) {
  auto f = parse(GgufSpec().string("general.architecture", "x").build(), "hand.gguf");
  ASSERT_EQ(f->tensors.size(), 1u);
  const TensorView& w = f->require("w");
  EXPECT_EQ(w.type, DType::kF32);
  EXPECT_EQ(w.n_dims, 2);
  EXPECT_EQ(w.cols(), 4);
  EXPECT_EQ(w.rows(), 2);
  EXPECT_EQ(w.data[5], 5);
  EXPECT_EQ(f->meta.get_string("general.architecture"), "x");
}

// ---------------------------------------------------------------------------------------------
// Broken files.

TEST(GgufErrors, MissingFile) {
  expect_error([] { read_gguf("/nonexistent/kvscope/missing.gguf"); },
               {"/nonexistent/kvscope/missing.gguf"});
}

TEST(GgufErrors, WrongMagicNamesTheFile) {
  ScratchDir dir;
  GgufSpec spec;
  spec.magic = 0x46554746;
  write_bytes(dir.path("bad.gguf"), spec.build());
  expect_error([&] { read_gguf(dir.path("bad.gguf")); }, {dir.path("bad.gguf"), "magic"});
}

TEST(GgufErrors, UnsupportedVersions) {
  ScratchDir dir;
  for (uint32_t version : {0u, 1u, 4u, 0xffffffffu}) {
    GgufSpec spec;
    spec.version = version;
    write_bytes(dir.path("v.gguf"), spec.build());
    expect_error([&] { read_gguf(dir.path("v.gguf")); },
                 {dir.path("v.gguf"), "version " + std::to_string(version)});
  }
  GgufSpec v2;
  v2.version = 2;
  EXPECT_NO_THROW(parse(v2.build(), "v2.gguf"));
}

TEST(GgufErrors, EmptyFile) {
  ScratchDir dir;
  write_bytes(dir.path("empty.gguf"), {});
  expect_error([&] { read_gguf(dir.path("empty.gguf")); }, {dir.path("empty.gguf")});
}

// Every prefix of a real file must fail cleanly until the last tensor's data is complete.
TEST(GgufErrors, TruncatedAtEveryOffset) {
  const auto bytes = read_bytes(fixture("models/small-all-types.gguf"));
  ASSERT_GT(bytes.size(), 100u);
  // The last tensor ends at the largest offset + size; find it by parsing prefixes from the end.
  size_t first_valid = bytes.size();
  while (first_valid > 0) {
    std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + first_valid - 1);
    try {
      parse(prefix, "p");
    } catch (const Error&) {
      break;
    }
    --first_valid;
  }
  EXPECT_LT(bytes.size() - first_valid, 32u) << "only the final padding may be cut";
  for (size_t n = 0; n < first_valid; ++n) {
    std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + n);
    const std::string name = "small-all-types.gguf[:" + std::to_string(n) + "]";
    try {
      parse(prefix, name);
      ADD_FAILURE() << "a prefix of " << n << " bytes parsed";
    } catch (const Error& e) {
      ASSERT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

TEST(GgufErrors, TensorDataPastTheEnd) {
  GgufSpec spec;
  spec.tensors[0].offset = 32;  // 32 bytes of data, the tensor's 32 bytes begin at 32
  expect_parse_error(spec, {"'w'", "past the end"});
  spec.tensors[0].offset = 0;
  spec.tensors[0].dims = {4, 3};  // 48 bytes, 32 present
  expect_parse_error(spec, {"'w'", "past the end"});
  spec.tensors[0].dims = {1ull << 24, 1ull << 24};  // 2^48 elements: would overflow a naive check
  expect_parse_error(spec, {"'w'"});
}

TEST(GgufErrors, BadAlignment) {
  expect_parse_error(GgufSpec().u32("general.alignment", 3), {"general.alignment", "power of two"});
  expect_parse_error(GgufSpec().u32("general.alignment", 0), {"general.alignment"});
  GgufSpec misaligned;
  misaligned.tensors[0].offset = 4;
  misaligned.data_bytes = 64;
  expect_parse_error(misaligned, {"'w'", "aligned"});
  // A larger alignment moves where the data starts; 64 is fine when the file follows it.
  GgufSpec aligned64 = GgufSpec().u32("general.alignment", 64);
  aligned64.pad_to = 64;
  EXPECT_NO_THROW(parse(aligned64.build(), "a64.gguf"));
}

TEST(GgufErrors, UnknownTensorType) {
  GgufSpec spec;
  spec.tensors[0].type = 99;
  expect_parse_error(spec, {"'w'", "unsupported type 99"});
  spec.tensors[0].type = 10;  // Q2_K: real, but not one kvscope reads
  expect_parse_error(spec, {"'w'", "unsupported type 10"});
}

TEST(GgufErrors, BadDimensions) {
  GgufSpec spec;
  spec.tensors[0].dims = {};
  expect_parse_error(spec, {"'w'", "0 dimensions"});
  spec.tensors[0].dims = {1, 1, 1, 1, 1};
  expect_parse_error(spec, {"'w'", "5 dimensions"});
  spec.tensors[0].dims = {8, 0};
  expect_parse_error(spec, {"'w'", "dimension 0"});
  spec.tensors[0].dims = {16};
  spec.tensors[0].type = 8;  // Q8_0 rows are whole blocks of 32
  expect_parse_error(spec, {"'w'", "Q8_0"});
}

TEST(GgufErrors, DuplicateKeyAndTensor) {
  expect_parse_error(GgufSpec().u32("a.b", 1).u32("a.b", 2), {"'a.b'", "twice"});
  GgufSpec spec;
  spec.tensors = {{"w", {4}, 0, 0}, {"w", {4}, 0, 0}};
  expect_parse_error(spec, {"'w'", "twice"});
}

TEST(GgufErrors, BadMetadataValues) {
  GgufSpec unknown_type;
  unknown_type.kv.push_back({"k.t", Bytes().put<uint32_t>(13).put<uint32_t>(0)});
  expect_parse_error(unknown_type, {"'k.t'", "unknown value type 13"});
  GgufSpec bad_bool;
  bad_bool.kv.push_back({"k.b", Bytes().put<uint32_t>(7).put<uint8_t>(2)});
  expect_parse_error(bad_bool, {"'k.b'", "bool"});
  // Counts far beyond the file must fail before anything is allocated for them.
  GgufSpec huge_array;
  huge_array.kv.push_back(
      {"k.a", Bytes().put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(1ull << 60)});
  expect_parse_error(huge_array, {"k.a"});
  GgufSpec huge_string;
  huge_string.kv.push_back({"k.s", Bytes().put<uint32_t>(8).put<uint64_t>(1ull << 62)});
  expect_parse_error(huge_string, {"truncated"});
  std::vector<uint8_t> huge_counts = GgufSpec().build();
  const uint64_t n = 1ull << 61;
  std::memcpy(huge_counts.data() + 8, &n, 8);
  EXPECT_THROW(parse(huge_counts, "counts.gguf"), Error);
  std::memcpy(huge_counts.data() + 16, &n, 8);
  EXPECT_THROW(parse(huge_counts, "counts.gguf"), Error);
  // Arrays of arrays nest, but not without bound.
  Bytes value = Bytes().put<uint32_t>(9);                               // the key's type: array
  for (int i = 0; i < 8; ++i) value.put<uint32_t>(9).put<uint64_t>(1);  // of one array, of ...
  value.put<uint32_t>(4).put<uint64_t>(1).put<uint32_t>(7);
  GgufSpec nested;
  nested.kv.push_back({"k.n", value});
  expect_parse_error(nested, {"'k.n'"});
}

// A file whose vocabulary is broken parses (the reader knows no tokenizers), but building its
// tokenizer fails on one line that names the file, the key and the index.

std::unique_ptr<Tokenizer> tokenizer_of(const std::vector<std::string>& tokens,
                                        const std::vector<std::string>& merges) {
  const auto file = parse(GgufSpec()
                              .string("tokenizer.ggml.model", "gpt2")
                              .string("tokenizer.ggml.pre", "gpt2")
                              .strings("tokenizer.ggml.tokens", tokens)
                              .strings("tokenizer.ggml.merges", merges)
                              .build(),
                          "hand.gguf");
  return Tokenizer::from_metadata(file->meta);
}

TEST(GgufErrors, MergesNamingATokenOutsideTheVocabulary) {
  EXPECT_EQ(tokenizer_of({"a", "b", "ab"}, {"a b"})->encode("ab", false, false),
            std::vector<int32_t>{2});
  expect_error(
      [] {
        tokenizer_of({"a", "b", "ab"}, {"a b", "a c"});
      },
      {"hand.gguf", "tokenizer.ggml.merges[1]", "'a c'", "'c'", "not in the vocabulary"});
  expect_error(
      [] {
        tokenizer_of({"a", "b", "ab"}, {"a b", "c b"});
      },
      {"tokenizer.ggml.merges[1]", "'c'"});
  // The merged piece must be a token too.
  expect_error([] { tokenizer_of({"a", "b"}, {"a b"}); }, {"tokenizer.ggml.merges[0]", "'ab'"});
}

TEST(GgufErrors, TokenTextThatIsNotUtf8) {
  expect_error(
      [] {
        tokenizer_of({"a", "b\xff", "c"}, {});
      },
      {"hand.gguf", "tokenizer.ggml.tokens[1]", "not valid UTF-8", "byte 1", "0xff"});
  expect_error(
      [] {
        tokenizer_of({"a", "b", "\xe2\x82"}, {});
      },  // a character cut short
      {"tokenizer.ggml.tokens[2]", "not valid UTF-8"});
}

// ---------------------------------------------------------------------------------------------
// The fixtures gguf-py wrote.

TEST(Gguf, EveryMetadataType) {
  auto f = read_gguf(fixture("models/small-all-types.gguf"));
  const Metadata& m = f->meta;
  auto type_of = [&](const std::string& key) { return m.find(key)->type; };
  EXPECT_EQ(m.get_int("GGUF.version"), 3);
  EXPECT_EQ(m.get_string("general.architecture"), "test");
  EXPECT_EQ(m.get_int("t.u8"), 200);
  EXPECT_EQ(type_of("t.u8"), MetaType::kU8);
  EXPECT_EQ(m.get_int("t.i8"), -100);
  EXPECT_EQ(type_of("t.i8"), MetaType::kI8);
  EXPECT_EQ(m.get_int("t.u16"), 60000);
  EXPECT_EQ(m.get_int("t.i16"), -30000);
  EXPECT_EQ(m.get_int("t.u32"), 4000000000);
  EXPECT_EQ(type_of("t.u32"), MetaType::kU32);
  EXPECT_EQ(m.get_int("t.i32"), -2000000000);
  EXPECT_EQ(m.get_real("t.f32"), 0.25);
  EXPECT_EQ(type_of("t.f32"), MetaType::kF32);
  EXPECT_TRUE(m.get_bool("t.bool", false));
  EXPECT_EQ(m.get_string("t.string"), "h\xc3\xa9llo");
  EXPECT_EQ(m.find("t.u64")->real, 9223372036854775813.0);
  EXPECT_EQ(type_of("t.u64"), MetaType::kU64);
  EXPECT_EQ(m.get_int("t.i64"), -(int64_t{1} << 62));
  EXPECT_EQ(m.get_real("t.f64"), -1.5e300);
  EXPECT_EQ(type_of("t.f64"), MetaType::kF64);
  EXPECT_EQ(m.get_ints("t.ints"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(m.find("t.ints")->item_type, MetaType::kI32);
  EXPECT_EQ(m.get_strings("t.strings"), (std::vector<std::string>{"a", "", "c c"}));
  EXPECT_EQ(m.get_reals("t.floats"), (std::vector<double>{0.5, -2.0}));
  const MetaValue* nested = m.find("t.nested");
  ASSERT_NE(nested, nullptr);
  EXPECT_EQ(nested->item_type, MetaType::kArray);
  ASSERT_EQ(nested->items.size(), 2u);
  EXPECT_EQ(nested->items[0].items.size(), 2u);
  EXPECT_EQ(nested->items[1].items[0].integer, 3);
  // Reading a key as the wrong type names the file and the key.
  expect_error([&] { m.get_string("t.u8"); }, {"small-all-types.gguf", "'t.u8'"});
  expect_error([&] { m.get_int("t.f32"); }, {"small-all-types.gguf", "'t.f32'"});
  expect_error([&] { m.get_int("no.such.key"); }, {"small-all-types.gguf", "'no.such.key'"});
}

TEST(Gguf, SmallTensors) {
  auto f = read_gguf(fixture("models/small-all-types.gguf"));
  ASSERT_EQ(f->tensors.size(), 3u);
  const TensorView& a = f->require("a");  // numpy (2, 4): GGML {4, 2}
  EXPECT_EQ(a.type, DType::kF32);
  EXPECT_EQ(shape_string(a), "[4, 2]");
  float av[8];
  std::memcpy(av, a.data, sizeof av);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(av[i], static_cast<float>(i));
  const TensorView& b = f->require("b");
  EXPECT_EQ(b.type, DType::kF16);
  float bv[4];
  ref::dequantize_row(DType::kF16, b.data, bv, 4);
  EXPECT_EQ(bv[0], 1.0f);
  EXPECT_EQ(bv[1], -2.0f);
  EXPECT_EQ(bv[2], 0.5f);
  EXPECT_EQ(bv[3], 65504.0f);
  const TensorView& c = f->require("c");
  EXPECT_EQ(c.type, DType::kQ8_0);
  EXPECT_EQ(c.bytes(), 34u);
  float cv[32];
  ref::dequantize_row(DType::kQ8_0, c.data, cv, 32);
  EXPECT_NEAR(cv[0], -1.0f, 1e-3);
  EXPECT_NEAR(cv[31], 1.0f, 1e-3);
  // Views lie in the mapping, on the file's alignment.
  const uint8_t* base = f->mappings.front()->bytes().data();
  for (const auto& [name, t] : f->tensors) {
    EXPECT_EQ((t.data - base) % 32, 0) << name;
    EXPECT_LE(t.data + t.bytes(), base + f->file_bytes) << name;
  }
  expect_error([&] { f->require("nope"); }, {"small-all-types.gguf", "'nope'"});
}

struct Variant {
  const char* name;
  DType weights;
};

TEST(Gguf, TinyLlamaVariants) {
  const auto index = read_json(fixture("models/goldens.json"));
  const int64_t vocab = index["models"]["tiny-llama-f32"]["vocab_size"].get<int64_t>();
  std::map<std::string, std::vector<float>> embeddings;
  for (const Variant v : {Variant{"f32", DType::kF32},
                          {"f16", DType::kF16},
                          {"q8_0", DType::kQ8_0},
                          {"q4_0", DType::kQ4_0},
                          {"q4_1", DType::kQ4_1}}) {
    SCOPED_TRACE(v.name);
    const std::string path = fixture(std::string("models/tiny-llama-") + v.name + ".gguf");
    auto f = read_gguf(path);
    const Metadata& m = f->meta;
    EXPECT_EQ(f->format, FileFormat::kGguf);
    EXPECT_EQ(f->file_bytes, read_bytes(path).size());
    EXPECT_EQ(m.get_string("general.architecture"), "llama");
    EXPECT_EQ(m.get_int("llama.block_count"), 2);
    EXPECT_EQ(m.get_int("llama.embedding_length"), 64);
    EXPECT_EQ(m.get_int("llama.feed_forward_length"), 128);
    EXPECT_EQ(m.get_int("llama.attention.head_count"), 4);
    EXPECT_EQ(m.get_int("llama.attention.head_count_kv"), 2);
    EXPECT_EQ(m.get_int("llama.context_length"), 256);
    EXPECT_EQ(m.get_int("llama.rope.dimension_count"), 16);
    EXPECT_EQ(m.get_int("llama.vocab_size"), vocab);
    EXPECT_EQ(m.get_real("llama.rope.freq_base"), 10000.0);
    EXPECT_EQ(m.get_real("llama.attention.layer_norm_rms_epsilon"), static_cast<double>(1e-5f));
    EXPECT_EQ(m.get_string("tokenizer.ggml.model"), "gpt2");
    EXPECT_EQ(m.get_string("tokenizer.ggml.pre"), "llama-bpe");
    EXPECT_EQ(m.get_strings("tokenizer.ggml.tokens").size(), static_cast<size_t>(vocab));
    EXPECT_EQ(f->tensors.size(), 21u);  // embedding, final norm, head, and 9 per block
    EXPECT_EQ(f->find("output.weight") != nullptr, true);
    const struct {
      const char* name;
      int64_t cols, rows;
    } shapes[] = {{"token_embd.weight", 64, vocab}, {"output.weight", 64, vocab},
                  {"output_norm.weight", 64, 1},    {"blk.1.attn_norm.weight", 64, 1},
                  {"blk.1.attn_q.weight", 64, 64},  {"blk.1.attn_k.weight", 64, 32},
                  {"blk.1.attn_v.weight", 64, 32},  {"blk.1.attn_output.weight", 64, 64},
                  {"blk.1.ffn_norm.weight", 64, 1}, {"blk.1.ffn_gate.weight", 64, 128},
                  {"blk.1.ffn_up.weight", 64, 128}, {"blk.1.ffn_down.weight", 128, 64}};
    for (const auto& s : shapes) {
      SCOPED_TRACE(s.name);
      const TensorView& t = f->require(s.name);
      EXPECT_EQ(t.cols(), s.cols);
      EXPECT_EQ(t.rows(), s.rows);
      EXPECT_EQ(t.n_dims, s.rows == 1 ? 1 : 2);
      EXPECT_EQ(t.type, s.rows == 1 ? DType::kF32 : v.weights);
      EXPECT_EQ(t.bytes(), dtype_bytes(t.type, static_cast<size_t>(s.cols)) * s.rows);
    }
    const TensorView& e = f->require("token_embd.weight");
    std::vector<float>& values = embeddings[v.name];
    values.resize(static_cast<size_t>(e.elements()));
    for (int64_t r = 0; r < e.rows(); ++r)
      ref::dequantize_row(e.type, e.row(r), &values[r * 64], 64);
  }
  // Each variant holds the same weights, to within its precision.
  const std::vector<float>& exact = embeddings["f32"];
  for (const auto& [name, tolerance] : std::map<std::string, double>{
           {"f16", 1e-3}, {"q8_0", 1e-2}, {"q4_0", 0.15}, {"q4_1", 0.15}}) {
    double err = 0, norm = 0;
    for (size_t i = 0; i < exact.size(); ++i) {
      err += std::pow(embeddings[name][i] - exact[i], 2);
      norm += std::pow(exact[i], 2);
    }
    EXPECT_LT(std::sqrt(err / norm), tolerance) << name;
  }
}

TEST(Gguf, TinyLlamaKQuants) {
  auto f = read_gguf(fixture("models/tiny-llama-q4_k_m.gguf"));
  EXPECT_EQ(f->meta.get_int("llama.embedding_length"), 256);
  EXPECT_EQ(f->meta.get_int("general.file_type"), 15);  // Q4_K_M
  const struct {
    const char* name;
    DType type;
    int64_t cols, rows;
  } tensors[] = {{"token_embd.weight", DType::kQ4_K, 256, 320},
                 {"output.weight", DType::kQ6_K, 256, 320},
                 {"blk.0.attn_q.weight", DType::kQ4_K, 256, 256},
                 {"blk.0.attn_k.weight", DType::kQ4_K, 256, 128},
                 {"blk.0.attn_v.weight", DType::kQ6_K, 256, 128},
                 {"blk.0.ffn_down.weight", DType::kQ6_K, 256, 256},
                 {"blk.0.ffn_norm.weight", DType::kF32, 256, 1}};
  for (const auto& t : tensors) {
    SCOPED_TRACE(t.name);
    const TensorView& v = f->require(t.name);
    EXPECT_EQ(v.type, t.type);
    EXPECT_EQ(v.cols(), t.cols);
    EXPECT_EQ(v.rows(), t.rows);
    EXPECT_EQ(v.bytes(), dtype_bytes(t.type, 256) * t.rows);
    // Weights of a random model: finite, of moderate size.
    std::vector<float> row(256);
    ref::dequantize_row(v.type, v.row(v.rows() - 1), row.data(), 256);
    for (float x : row) ASSERT_TRUE(std::isfinite(x) && std::fabs(x) < 2.0f) << x;
  }
}

TEST(Gguf, TinyGpt2) {
  auto f = read_gguf(fixture("models/tiny-gpt2-f32.gguf"));
  const Metadata& m = f->meta;
  EXPECT_EQ(m.get_string("general.architecture"), "gpt2");
  EXPECT_EQ(m.get_int("gpt2.block_count"), 2);
  EXPECT_EQ(m.get_int("gpt2.context_length"), 128);
  EXPECT_EQ(m.get_int("gpt2.feed_forward_length"), 256);
  EXPECT_EQ(m.get_real("gpt2.attention.layer_norm_epsilon"), static_cast<double>(1e-5f));
  EXPECT_EQ(m.get_string("tokenizer.ggml.pre"), "gpt2");
  EXPECT_EQ(shape_string(f->require("position_embd.weight")), "[64, 128]");
  EXPECT_EQ(shape_string(f->require("blk.0.attn_qkv.weight")), "[64, 192]");
  EXPECT_EQ(shape_string(f->require("blk.0.attn_qkv.bias")), "[192]");
  EXPECT_EQ(shape_string(f->require("blk.1.ffn_up.weight")), "[64, 256]");
  EXPECT_EQ(shape_string(f->require("blk.1.ffn_down.weight")), "[256, 64]");
  EXPECT_EQ(shape_string(f->require("output_norm.bias")), "[64]");
  // convert_hf_to_gguf.py writes GPT-2's tied head out again as output.weight.
  const TensorView& out = f->require("output.weight");
  const TensorView& embd = f->require("token_embd.weight");
  ASSERT_EQ(out.bytes(), embd.bytes());
  EXPECT_EQ(std::memcmp(out.data, embd.data, out.bytes()), 0);
}

}  // namespace
}  // namespace kvscope
