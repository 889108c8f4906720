#include "formats/metadata.h"

#include "core/error.h"

namespace kvscope {

const char* meta_type_name(MetaType type) {
  static const char* const kNames[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                       "bool", "string", "array", "u64", "i64", "f64"};
  const auto index = static_cast<uint32_t>(type);
  return index < std::size(kNames) ? kNames[index] : "unknown";
}

MetaValue MetaValue::of_int(int64_t v, MetaType type) {
  MetaValue m;
  m.type = type;
  m.integer = v;
  m.real = static_cast<double>(v);
  return m;
}

MetaValue MetaValue::of_real(double v, MetaType type) {
  MetaValue m;
  m.type = type;
  m.real = v;
  // Converting NaN or a value outside int64's range is undefined behaviour; such values get 0.
  m.integer = v >= -0x1p63 && v < 0x1p63 ? static_cast<int64_t>(v) : 0;
  return m;
}

MetaValue MetaValue::of_bool(bool v) {
  MetaValue m = of_int(v ? 1 : 0, MetaType::kBool);
  return m;
}

MetaValue MetaValue::of_string(std::string v) {
  MetaValue m;
  m.type = MetaType::kString;
  m.text = std::move(v);
  return m;
}

MetaValue MetaValue::of_array(MetaType item_type, std::vector<MetaValue> items) {
  MetaValue m;
  m.type = MetaType::kArray;
  m.item_type = item_type;
  m.items = std::move(items);
  return m;
}

bool MetaValue::is_number() const {
  return type != MetaType::kString && type != MetaType::kArray && type != MetaType::kBool;
}

const MetaValue* Metadata::find(const std::string& key) const {
  auto it = values_.find(key);
  return it == values_.end() ? nullptr : &it->second;
}

const MetaValue& Metadata::require(const std::string& key, MetaType type) const {
  const MetaValue* v = find(key);
  if (v == nullptr) fail("{}: missing metadata key '{}'", source_, key);
  const bool ok = type == MetaType::kF64   ? v->is_number()
                  : type == MetaType::kI64 ? (v->is_number() || v->type == MetaType::kBool)
                                           : v->type == type;
  if (!ok)
    fail("{}: metadata key '{}' is {}, expected {}", source_, key, meta_type_name(v->type),
         type == MetaType::kI64 ? "an integer" : meta_type_name(type));
  return *v;
}

int64_t Metadata::get_int(const std::string& key) const {
  const MetaValue& v = require(key, MetaType::kI64);
  if (v.type == MetaType::kF32 || v.type == MetaType::kF64)
    fail("{}: metadata key '{}' is {}, expected an integer", source_, key, meta_type_name(v.type));
  return v.integer;
}

int64_t Metadata::get_int(const std::string& key, int64_t fallback) const {
  return has(key) ? get_int(key) : fallback;
}

double Metadata::get_real(const std::string& key) const {
  return require(key, MetaType::kF64).real;
}

double Metadata::get_real(const std::string& key, double fallback) const {
  return has(key) ? get_real(key) : fallback;
}

bool Metadata::get_bool(const std::string& key, bool fallback) const {
  return has(key) ? require(key, MetaType::kBool).integer != 0 : fallback;
}

std::string Metadata::get_string(const std::string& key) const {
  return require(key, MetaType::kString).text;
}

std::string Metadata::get_string(const std::string& key, const std::string& fallback) const {
  return has(key) ? get_string(key) : fallback;
}

std::vector<std::string> Metadata::get_strings(const std::string& key) const {
  const MetaValue& v = require(key, MetaType::kArray);
  if (v.item_type != MetaType::kString)
    fail("{}: metadata key '{}' holds {} items, expected strings", source_, key,
         meta_type_name(v.item_type));
  std::vector<std::string> out;
  out.reserve(v.items.size());
  for (const MetaValue& item : v.items) out.push_back(item.text);
  return out;
}

std::vector<int64_t> Metadata::get_ints(const std::string& key) const {
  const MetaValue& v = require(key, MetaType::kArray);
  std::vector<int64_t> out;
  out.reserve(v.items.size());
  for (const MetaValue& item : v.items) {
    if (!item.is_number()) fail("{}: metadata key '{}' holds non-numeric items", source_, key);
    out.push_back(item.integer);
  }
  return out;
}

std::vector<double> Metadata::get_reals(const std::string& key) const {
  const MetaValue& v = require(key, MetaType::kArray);
  std::vector<double> out;
  out.reserve(v.items.size());
  for (const MetaValue& item : v.items) {
    if (!item.is_number()) fail("{}: metadata key '{}' holds non-numeric items", source_, key);
    out.push_back(item.real);
  }
  return out;
}

}  // namespace kvscope
