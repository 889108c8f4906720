#include "metrics/system.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/dispatch.h"
#include "metrics/build_info.h"

namespace kvscope {
namespace {

// The first processor's fields of /proc/cpuinfo ("vendor_id" → "AuthenticAMD", ...).
std::map<std::string, std::string> cpu_fields() {
  std::map<std::string, std::string> fields;
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line) && !line.empty();) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(key.find_last_not_of(" \t") + 1);
    const size_t value = line.find_first_not_of(' ', colon + 1);
    fields[key] = value == std::string::npos ? "" : line.substr(value);
  }
  return fields;
}

std::string field(const std::map<std::string, std::string>& fields, const std::string& key) {
  auto it = fields.find(key);
  return it == fields.end() ? "unknown" : it->second;
}

int int_field(const std::map<std::string, std::string>& fields, const std::string& key) {
  try {
    return std::stoi(field(fields, key));
  } catch (const std::exception&) {
    return -1;
  }
}

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
  }
  void update(const void* data, size_t bytes) { EVP_DigestUpdate(ctx_.get(), data, bytes); }
  void update_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("{}: cannot be read to compute its SHA-256", path.string());
    std::vector<char> buffer(1 << 20);
    while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0)
      update(buffer.data(), static_cast<size_t>(in.gcount()));
  }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_DigestFinal_ex(ctx_.get(), digest, &size);
    std::string out;
    for (unsigned int i = 0; i < size; ++i) out += fmt::format("{:02x}", digest[i]);
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

}  // namespace

std::string cpu_name() {
  const std::string name = field(cpu_fields(), "model name");
  return name == "unknown" ? "unknown CPU" : name;
}

std::string kernel_isa_name() { return std::string(isa_name(kernels().isa)); }

const BuildInfo& build_info() {
  static const BuildInfo info{KVSCOPE_VERSION,      KVSCOPE_GIT_COMMIT, KVSCOPE_GIT_DIRTY,
                              KVSCOPE_BUILD_NUMBER, KVSCOPE_COMPILER,   KVSCOPE_COMPILER_FLAGS,
                              KVSCOPE_BUILD_TYPE};
  return info;
}

std::string utc_date() {
  return fmt::format(
      "{:%Y-%m-%dT%H:%M:%SZ}",
      fmt::gmtime(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now())));
}

std::string sha256_hex(const std::string& path) {
  namespace fs = std::filesystem;
  Sha256 sha;
  if (!fs::is_directory(path)) {
    sha.update_file(path);
    return sha.hex();
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(path))
    if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    const std::string name = file.filename().string();
    sha.update(name.data(), name.size() + 1);  // with its NUL
    sha.update_file(file);
  }
  return sha.hex();
}

nlohmann::json provenance_json(const std::string& model_path, int threads) {
  const BuildInfo& b = build_info();
  const auto cpu = cpu_fields();
  return {{"kvscope_version", b.version},
          {"git_commit", b.commit},
          {"git_dirty", b.dirty},
          {"build_number", b.build_number},
          {"compiler", b.compiler},
          {"compiler_flags", b.flags},
          {"build_type", b.build_type},
          {"cpu", cpu_name()},
          {"cpu_vendor", field(cpu, "vendor_id")},
          {"cpu_family", int_field(cpu, "cpu family")},
          {"cpu_model", int_field(cpu, "model")},
          {"cpu_flags", field(cpu, "flags")},
          {"isa", kernel_isa_name()},
          {"threads", threads},
          {"model", model_path},
          {"model_sha256", sha256_hex(model_path)},
          {"date", utc_date()}};
}

}  // namespace kvscope
