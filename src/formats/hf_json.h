#pragma once
// The JSON files of a Hugging Face checkpoint folder, read with errors that name the file and
// the field, and the metadata setters the translations into GGUF's keys share.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "formats/metadata.h"

namespace kvscope::hf {

using nlohmann::json;

struct JsonFile {
  std::string path;
  json value;
};

// Error when the file cannot be read, is not JSON, or does not hold an object.
JsonFile load_json(const std::filesystem::path& path);
// The same from text already in memory; `path` names it in messages.
JsonFile parse_json(std::string_view text, const std::string& path);

// Runs f(), turning the JSON library's own exceptions (a value of an unexpected type that no
// check caught) into one Error that names `source`.
template <typename F>
auto with_json_errors(const std::string& source, F&& f) {
  try {
    return f();
  } catch (const json::exception& e) {
    fail("{}: a JSON file holds an unexpected value: {}", source, e.what());
  }
}

// One JSON object of a file; `prefix` spells the path to it ("rope_scaling.") for messages.
class JsonObject {
 public:
  JsonObject(const std::string& path, const json& object, std::string prefix = "")
      : path_(path), object_(object), prefix_(std::move(prefix)) {}

  const std::string& path() const { return path_; }
  std::string name(const std::string& key) const { return prefix_ + key; }

  // Hugging Face writes null for unset options, so null reads as absent.
  const json* find(const std::string& key) const;

  std::optional<int64_t> opt_int(const std::string& key) const;
  // Sizes and counts: a positive integer that fits GGUF's u32.
  std::optional<int64_t> opt_count(const std::string& key) const;
  int64_t count(const std::string& key) const;
  std::optional<double> opt_real(const std::string& key) const;
  std::optional<bool> opt_bool(const std::string& key) const;
  std::optional<std::string> opt_string(const std::string& key) const;
  std::optional<JsonObject> opt_object(const std::string& key) const;

  [[noreturn]] void wrong(const std::string& key, const json& v, std::string_view expected) const;
  [[noreturn]] void missing(const std::string& key, std::string_view expected) const;

 private:
  const std::string& path_;
  const json& object_;
  std::string prefix_;
};

void set_u32(Metadata& m, const std::string& key, int64_t v);
// Through float, so the value reads back exactly as the same key from a GGUF file would.
void set_f32(Metadata& m, const std::string& key, double v);
void set_string(Metadata& m, const std::string& key, std::string v);

std::string replace_all(std::string_view s, std::string_view from, std::string_view to);

}  // namespace kvscope::hf
