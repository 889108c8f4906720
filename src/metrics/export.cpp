#include "metrics/export.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace kvscope {
namespace {

std::string csv_field(const nlohmann::ordered_json& value) {
  std::string text = value.is_string() ? value.get<std::string>() : value.dump();
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::tm local_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&now, &tm);
  return tm;
}

}  // namespace

std::string csv_from_records(const nlohmann::ordered_json& records) {
  if (!records.is_array() || records.empty()) return "";
  std::string out;
  for (auto it = records[0].begin(); it != records[0].end(); ++it)
    out += (it == records[0].begin() ? "" : ",") + csv_field(it.key());
  out += "\n";
  for (const auto& record : records) {
    bool first = true;
    for (auto it = records[0].begin(); it != records[0].end(); ++it) {
      out += first ? "" : ",";
      first = false;
      if (record.contains(it.key())) out += csv_field(record[it.key()]);
    }
    out += "\n";
  }
  return out;
}

std::string default_log_path(const std::string& dir, std::string_view model,
                             std::string_view suite) {
  std::string safe(model);
  for (char& c : safe)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  return fmt::format("{}/kvscope_{}_{}_{:%Y%m%d}.log", dir, safe, suite, local_now());
}

void append_log(const std::string& path, const LogEntry& e) {
  const std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  std::ofstream out(path, std::ios::app);
  if (!out) fail("{}: cannot write the log", path);
  const std::string rule(80, '=');
  out << fmt::format(
      "{}\nKVSCOPE {}\n{}\nModel: {}\nDate: {:%Y-%m-%d %H:%M:%S}\nSystem: {}\nCommand: {}\n\n{}\n",
      rule, e.suite, rule, e.model, local_now(), e.system, e.command, e.body);
  if (!out) fail("{}: cannot write the log", path);
}

}  // namespace kvscope
