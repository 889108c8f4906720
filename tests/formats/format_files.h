#pragma once
// Helpers for the format tests: files in a scratch folder, whole-file reads, and a check that a
// call throws kvscope::Error whose message holds given words.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "test_paths.h"

namespace kvscope::testing::files {

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::string read_text(const std::string& path) {
  const auto bytes = read_bytes(path);
  return {bytes.begin(), bytes.end()};
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

inline nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// A fresh folder under the system's temporary one, removed with the object.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("kvscope_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" +
             std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  std::string path(const std::string& name = "") const { return (path_ / name).string(); }

  // A copy of a fixture folder (or file) inside this one; returns the copy's path.
  std::string copy_fixture(const std::string& name) const {
    const std::string to = path(std::filesystem::path(name).filename().string());
    std::filesystem::copy(fixture(name), to, std::filesystem::copy_options::recursive);
    return to;
  }

 private:
  std::filesystem::path path_;
};

// Runs `f`, which must throw kvscope::Error; returns its message after checking that it holds
// every word in `words`.
inline std::string expect_error(const std::function<void()>& f,
                                std::initializer_list<std::string> words) {
  try {
    f();
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const std::string& w : words)
      EXPECT_NE(message.find(w), std::string::npos) << "'" << w << "' not in: " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "message spans lines: " << message;
    return message;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-kvscope exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "did not throw";
  return "";
}

}  // namespace kvscope::testing::files
