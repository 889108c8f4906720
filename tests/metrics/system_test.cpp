// The provenance every result records: kvscope's build, the CPU, the kernels, the model file's
// SHA-256 and the date.
#include "metrics/system.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "core/error.h"
#include "test_paths.h"

namespace kvscope {
namespace {

std::string scratch(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("kvscope_system_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

void write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(Provenance, Sha256OfAFileAndOfAFolder) {
  const std::string file = scratch("abc.txt");
  write(file, "abc");
  EXPECT_EQ(sha256_hex(file),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");  // FIPS 180-2
  // A folder: each regular file in name order, as its name, a NUL and its bytes.
  const std::string folder = scratch("folder");
  std::filesystem::create_directories(folder + "/sub");
  write(folder + "/b.json", "{}");
  write(folder + "/a.bin", "xyz");
  const std::string joined = scratch("joined");
  write(joined, std::string("a.bin\0xyzb.json\0{}", 18));
  EXPECT_EQ(sha256_hex(folder), sha256_hex(joined));
  EXPECT_THROW(sha256_hex(scratch("missing")), Error);
  std::filesystem::remove_all(folder);
  std::filesystem::remove(file);
  std::filesystem::remove(joined);
}

TEST(Provenance, RecordsTheBuildTheMachineTheModelAndTheDate) {
  const std::string model = testing::fixture("models/tiny-llama-q4_1.gguf");
  const nlohmann::json p = provenance_json(model, 3);
  EXPECT_EQ(p["kvscope_version"], build_info().version);
  EXPECT_TRUE(std::regex_match(build_info().version, std::regex(R"(\d+\.\d+\.\d+)")))
      << build_info().version;
  const std::string commit = p["git_commit"];
  EXPECT_TRUE(commit == "unknown" || std::regex_match(commit, std::regex("[0-9a-f]{12}")))
      << commit;
  EXPECT_TRUE(p["git_dirty"].is_boolean());
  EXPECT_GE(p["build_number"].get<int>(), commit == "unknown" ? 0 : 1);
  EXPECT_TRUE(
      std::regex_match(p["compiler"].get<std::string>(), std::regex(R"((GNU|Clang) \d+(\.\d+)*)")))
      << p["compiler"];
  EXPECT_NE(p["compiler_flags"].get<std::string>().find("-Wall"), std::string::npos)
      << p["compiler_flags"];
  EXPECT_EQ(p["cpu"], cpu_name());
  EXPECT_FALSE(p["cpu_vendor"].get<std::string>().empty());
  EXPECT_TRUE(p["cpu_family"].is_number_integer());
  EXPECT_TRUE(p["cpu_model"].is_number_integer());
  EXPECT_TRUE(p["cpu_flags"].is_string());
  EXPECT_EQ(p["isa"], kernel_isa_name());
  EXPECT_EQ(p["threads"], 3);
  EXPECT_EQ(p["model"], model);
  EXPECT_EQ(p["model_sha256"], sha256_hex(model));
  EXPECT_TRUE(std::regex_match(p["model_sha256"].get<std::string>(), std::regex("[0-9a-f]{64}")));
  EXPECT_TRUE(std::regex_match(p["date"].get<std::string>(),
                               std::regex(R"(20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << p["date"];
}

}  // namespace
}  // namespace kvscope
