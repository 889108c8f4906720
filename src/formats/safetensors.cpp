#include "formats/safetensors.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "formats/byte_reader.h"

namespace kvscope {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100u << 20;

DType safetensors_dtype(const std::string& name, const std::string& source,
                        const std::string& tensor) {
  if (name == "F32") return DType::kF32;
  if (name == "F16") return DType::kF16;
  if (name == "BF16") return DType::kBF16;
  fail("{}: tensor '{}' has unsupported dtype {} (supported: F32 F16 BF16)", source, tensor, name);
}

TensorView parse_entry(const std::string& name, const nlohmann::json& entry,
                       std::span<const uint8_t> data, const std::string& source) {
  if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
      !entry.contains("data_offsets"))
    fail("{}: tensor '{}' lacks dtype, shape or data_offsets", source, name);
  TensorView t;
  t.name = name;
  t.type = safetensors_dtype(entry["dtype"].get<std::string>(), source, name);
  const auto& shape = entry["shape"];
  if (!shape.is_array() || shape.size() > 4)
    fail("{}: tensor '{}' shape must be a list of at most 4 sizes", source, name);
  // Safetensors lists the outermost dimension first; GGML's order is the reverse.
  t.n_dims = std::max<int>(1, static_cast<int>(shape.size()));
  int64_t elements = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    // get<int64_t>() of a float out of int64's range would be undefined behaviour.
    const auto& dim = shape[shape.size() - 1 - d];
    if (!dim.is_number_integer())
      fail("{}: tensor '{}' has a dimension {} that is not an integer", source, name, dim.dump());
    const int64_t size = dim.get<int64_t>();
    if (size <= 0 || size > (int64_t{1} << 48) || elements > (int64_t{1} << 48) / size)
      fail("{}: tensor '{}' has an invalid dimension {}", source, name, size);
    t.shape[d] = size;
    elements *= size;
  }
  const auto& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned())
    fail("{}: tensor '{}' data_offsets must be [begin, end] (non-negative integers)", source, name);
  const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
  if (begin > end || end > data.size())
    fail("{}: tensor '{}' data [{}, {}) runs past the end of the file", source, name, begin, end);
  if (end - begin != t.bytes())
    fail("{}: tensor '{}' holds {} bytes, its shape {} of {} needs {}", source, name, end - begin,
         shape_string(t), dtype_name(t.type), t.bytes());
  t.data = data.data() + begin;
  return t;
}

}  // namespace

void parse_safetensors(std::span<const uint8_t> bytes, const std::string& source, ModelFile& out) {
  ByteReader r(bytes, source);
  const uint64_t header_bytes = r.read<uint64_t>("header length");
  if (header_bytes > kMaxHeaderBytes)
    fail("{}: safetensors header length {} is implausible", source, header_bytes);
  r.need(header_bytes, "header");
  const auto* header_begin = reinterpret_cast<const char*>(bytes.data() + 8);
  const nlohmann::json header =
      nlohmann::json::parse(header_begin, header_begin + header_bytes, nullptr, false);
  if (header.is_discarded() || !header.is_object())
    fail("{}: safetensors header is not a JSON object", source);
  const auto data = bytes.subspan(8 + header_bytes);
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    try {
      TensorView t = parse_entry(name, entry, data, source);
      if (!out.tensors.emplace(name, std::move(t)).second)
        fail("{}: tensor '{}' appears in more than one file", source, name);
    } catch (const nlohmann::json::exception& e) {
      fail("{}: tensor '{}' entry is malformed: {}", source, name, e.what());
    }
  }
}

void read_safetensors_file(const std::string& path, ModelFile& out) {
  out.mappings.push_back(std::make_unique<MappedFile>(path));
  out.file_bytes += out.mappings.back()->size();
  parse_safetensors(out.mappings.back()->bytes(), path, out);
}

}  // namespace kvscope
