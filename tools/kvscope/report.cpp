// kvscope report: plots and a self-contained HTML page from the JSON the suites and runs write.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "common.h"
#include "core/error.h"
#include "report/html_report.h"
#include "report/suite_report.h"

namespace kvscope::cli {
namespace {

struct ReportArgs {
  std::vector<std::string> inputs;
  std::string out_dir, format = "png", html;
};

void run_report(const ReportArgs& a) {
  const report::ImageFormat format = report::parse_image_format(a.format);
  std::vector<report::SuiteReport> reports;
  std::vector<nlohmann::json> serve_results;
  for (const std::string& input : a.inputs) {
    nlohmann::json result = report::load_result_json(input);
    reports.push_back(report::read_suite_report(result, input));
    if (reports.back().suite == "serve") serve_results.push_back(std::move(result));
  }
  const size_t from_files = reports.size();
  if (auto combined = report::serve_concurrency_report(serve_results))
    reports.push_back(std::move(*combined));
  // Plots unless only the page was asked for.
  if (!a.out_dir.empty() || a.html.empty()) {
    const std::string dir = a.out_dir.empty() ? "plots" : a.out_dir;
    for (size_t i = 0; i < reports.size(); ++i) {
      // Several inputs may hold the same suite: their charts are told apart by the file's name.
      const report::SuiteReport& r = reports[i];
      const std::string prefix = from_files > 1 && i < from_files
                                     ? std::filesystem::path(r.source).stem().string() + "_"
                                     : "";
      for (const std::string& path : report::write_charts(r, dir, format, prefix))
        fmt::print("{}\n", path);
    }
  }
  if (!a.html.empty()) {
    std::ofstream out(a.html);
    if (!(out << report::html_report(reports))) fail("{}: cannot write", a.html);
    fmt::print("{}\n", a.html);
  }
}

}  // namespace

void add_report(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "report", "Plots (PNG, SVG) and a self-contained HTML report from result JSON files");
  cmd->footer(
      "Reads what `bench kv-compare --json`, `bench trace --json`, `bench sweep`, `bench cases`,\n"
      "`bench serve`, `train` and `run --metrics-json` write. bench serve results at several\n"
      "--max-concurrency levels also make one chart of throughput and p99 TTFT against\n"
      "concurrency, a line per server (--label). Plots go to --out-dir (default ./plots) unless\n"
      "only --html is given.\n"
      "Examples:\n  kvscope report trace.json --out-dir plots --format both\n"
      "  kvscope report kv.json trace.json run.json --html report.html\n"
      "  kvscope report serve-c1.json serve-c8.json serve-c32.json --out-dir plots");
  auto a = std::make_shared<ReportArgs>();
  cmd->add_option("results", a->inputs, "Result JSON files")->required();
  cmd->add_option("--out-dir", a->out_dir, "Folder for the plots (created if needed)");
  cmd->add_option("--format", a->format, "png, svg or both")
      ->check(CLI::IsMember({"png", "svg", "both"}));
  cmd->add_option("--html", a->html,
                  "Write one self-contained HTML page with every result's tables and charts");
  cmd->callback([a] { run_report(*a); });
}

}  // namespace kvscope::cli
