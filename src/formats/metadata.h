#pragma once
// Key-value metadata as GGUF stores it. Safetensors checkpoints are translated into the same keys
// (config.json into `llama.*` / `gpt2.*`, tokenizer.json into `tokenizer.ggml.*`), so the models
// and the tokenizer read one vocabulary whatever the file format.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kvscope {

enum class MetaType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

const char* meta_type_name(MetaType type);

struct MetaValue {
  MetaType type = MetaType::kU32;
  MetaType item_type = MetaType::kU32;  // arrays only
  // Integers and booleans are kept in `integer`, floats in `real`; both are filled for numbers.
  int64_t integer = 0;
  double real = 0;
  std::string text;
  std::vector<MetaValue> items;

  static MetaValue of_int(int64_t v, MetaType type = MetaType::kI64);
  static MetaValue of_real(double v, MetaType type = MetaType::kF64);
  static MetaValue of_bool(bool v);
  static MetaValue of_string(std::string v);
  static MetaValue of_array(MetaType item_type, std::vector<MetaValue> items);
  bool is_number() const;
};

class Metadata {
 public:
  // `source` names the file in error messages.
  explicit Metadata(std::string source = "") : source_(std::move(source)) {}

  void set(const std::string& key, MetaValue value) { values_[key] = std::move(value); }
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  const MetaValue* find(const std::string& key) const;
  const std::map<std::string, MetaValue>& all() const { return values_; }
  const std::string& source() const { return source_; }

  // Typed reads; a missing key or a value of the wrong type is an Error naming source and key.
  int64_t get_int(const std::string& key) const;
  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_real(const std::string& key) const;
  double get_real(const std::string& key, double fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_string(const std::string& key) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  std::vector<std::string> get_strings(const std::string& key) const;
  std::vector<int64_t> get_ints(const std::string& key) const;
  std::vector<double> get_reals(const std::string& key) const;

 private:
  const MetaValue& require(const std::string& key, MetaType type) const;
  std::string source_;
  std::map<std::string, MetaValue> values_;
};

}  // namespace kvscope
