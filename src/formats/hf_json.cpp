#include "formats/hf_json.h"

#include <fstream>
#include <sstream>

namespace kvscope::hf {

JsonFile load_json(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot be opened", path.string());
  std::stringstream text;
  text << in.rdbuf();
  return parse_json(text.str(), path.string());
}

JsonFile parse_json(std::string_view text, const std::string& path) {
  JsonFile file{path, {}};
  try {
    file.value = json::parse(text);
  } catch (const json::parse_error& e) {
    fail("{}: not valid JSON (byte {})", file.path, e.byte);
  }
  if (!file.value.is_object()) fail("{}: expected a JSON object at the top level", file.path);
  return file;
}

const json* JsonObject::find(const std::string& key) const {
  auto it = object_.find(key);
  return it == object_.end() || it->is_null() ? nullptr : &*it;
}

std::optional<int64_t> JsonObject::opt_int(const std::string& key) const {
  const json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number_integer()) wrong(key, *v, "an integer");
  return v->get<int64_t>();
}

std::optional<int64_t> JsonObject::opt_count(const std::string& key) const {
  auto v = opt_int(key);
  if (v && (*v <= 0 || *v > (int64_t{1} << 31)))
    fail("{}: field '{}' is {}, expected a positive count", path_, name(key), *v);
  return v;
}

int64_t JsonObject::count(const std::string& key) const {
  auto v = opt_count(key);
  if (!v) missing(key, "a positive integer");
  return *v;
}

std::optional<double> JsonObject::opt_real(const std::string& key) const {
  const json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number()) wrong(key, *v, "a number");
  return v->get<double>();
}

std::optional<bool> JsonObject::opt_bool(const std::string& key) const {
  const json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean()) wrong(key, *v, "true or false");
  return v->get<bool>();
}

std::optional<std::string> JsonObject::opt_string(const std::string& key) const {
  const json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) wrong(key, *v, "a string");
  return v->get<std::string>();
}

std::optional<JsonObject> JsonObject::opt_object(const std::string& key) const {
  const json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_object()) wrong(key, *v, "an object");
  return JsonObject(path_, *v, name(key) + ".");
}

void JsonObject::wrong(const std::string& key, const json& v, std::string_view expected) const {
  fail("{}: field '{}' is {}, expected {}", path_, name(key), v.type_name(), expected);
}

void JsonObject::missing(const std::string& key, std::string_view expected) const {
  fail("{}: field '{}' is missing, expected {}", path_, name(key), expected);
}

void set_u32(Metadata& m, const std::string& key, int64_t v) {
  m.set(key, MetaValue::of_int(v, MetaType::kU32));
}

void set_f32(Metadata& m, const std::string& key, double v) {
  m.set(key, MetaValue::of_real(static_cast<float>(v), MetaType::kF32));
}

void set_string(Metadata& m, const std::string& key, std::string v) {
  m.set(key, MetaValue::of_string(std::move(v)));
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string r;
  for (size_t at = 0;;) {
    const size_t next = s.find(from, at);
    r += s.substr(at, next - at);
    if (next == std::string_view::npos) return r;
    r += to;
    at = next + from.size();
  }
}

}  // namespace kvscope::hf
