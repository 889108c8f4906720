#pragma once
// Exporters shared by the suites: CSV from flat records, and seed 002's consolidated log files
// (one file per model, suite and day under logs/, each run appended after a clear separator).
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace kvscope {

// An array of flat objects (strings, numbers, booleans) as CSV: a header line from the first
// record's keys, in order, then one line per record; fields with commas or quotes are quoted.
std::string csv_from_records(const nlohmann::ordered_json& records);

struct LogEntry {
  std::string suite;    // "kv-compare", "sweep", "run", ...
  std::string model;    // its name
  std::string system;   // CPU, kernels, threads
  std::string command;  // the command line that produced it
  std::string body;     // what the console showed, and more at --log-level detailed
};

// logs/kvscope_<model>_<suite>_<YYYYMMDD>.log, under `dir`; characters outside [A-Za-z0-9._-]
// in the model's name become '_'.
std::string default_log_path(const std::string& dir, std::string_view model,
                             std::string_view suite);
// Appends the entry with its header and separator; creates the folder. Error if it cannot write.
void append_log(const std::string& path, const LogEntry& entry);

}  // namespace kvscope
