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
  for (const std::string& input : a.inputs) reports.push_back(report::load_suite_report(input));
  // Plots unless only the page was asked for.
  if (!a.out_dir.empty() || a.html.empty()) {
    const std::string dir = a.out_dir.empty() ? "plots" : a.out_dir;
    for (const report::SuiteReport& r : reports) {
      // Several inputs may hold the same suite: their charts are told apart by the file's name.
      const std::string prefix =
          reports.size() > 1 ? std::filesystem::path(r.source).stem().string() + "_" : "";
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
      "Reads what `bench kv-compare --json`, `bench trace --json`, `bench sweep`, `bench cases` "
      "and\n"
      "`run --metrics-json` write. Plots go to --out-dir (default ./plots) unless only --html is "
      "given.\n"
      "Examples:\n  kvscope report trace.json --out-dir plots --format both\n"
      "  kvscope report kv.json trace.json run.json --html report.html");
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
