// The HTML report and the KV-cache page are self-contained and open cleanly in headless
// Chromium (a screenshot is written, the console shows no error); the report and viz commands
// work end to end and refuse bad input with one line.
#include "report/html_report.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "metrics/system.h"
#include "report/kv_view.h"
#include "report/report_files.h"
#include "report/sample_results.h"
#include "test_paths.h"

namespace kvscope::report {
namespace {

using testing::read_file;
using testing::run_cli;

std::string write_temp(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string chromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"})
    if (std::system(("command -v " + std::string(name) + " >/dev/null 2>&1").c_str()) == 0)
      return name;
  return "";
}

struct BrowserRun {
  bool screenshot = false;
  std::string console_errors;  // the lines of the log that report a script error
};

BrowserRun open_in_chromium(const std::string& browser, const std::string& page,
                            const std::string& dir) {
  const std::string shot = dir + "/shot.png", log = dir + "/chromium.log";
  std::filesystem::remove(shot);
  const std::string command =
      browser + " --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir='" + dir +
      "/profile' --virtual-time-budget=3000 --window-size=1200,2000 --screenshot='" + shot +
      "' --enable-logging=stderr --v=0 'file://" + page + "' >'" + log + "' 2>&1";
  std::system(command.c_str());
  BrowserRun run;
  run.screenshot = testing::png_size(read_file(shot)).width == 1200;
  std::stringstream lines(read_file(log));
  for (std::string line; std::getline(lines, line);)
    if (line.find("CONSOLE") != std::string::npos &&
        (line.find("Uncaught") != std::string::npos || line.find("Error") != std::string::npos))
      run.console_errors += line + "\n";
  return run;
}

TEST(HtmlReport, HoldsEveryResultsTablesAndChartsInline) {
  const std::vector<SuiteReport> reports = {
      read_suite_report(testing::samples::kv_compare_result(), "kv.json"),
      read_suite_report(testing::samples::trace_result(), "trace.json")};
  const std::string page = html_report(reports);
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(page.find("data-charts=\"2\""), std::string::npos);
  EXPECT_EQ(page.find("<script src"), std::string::npos);
  EXPECT_EQ(page.find("<link"), std::string::npos);
  EXPECT_EQ(page.find("http://"),
            page.find("http://www.w3.org/2000/svg"));  // only the SVG namespace
  EXPECT_NE(page.find("<td>10.00×</td>"), std::string::npos);
  EXPECT_NE(page.find(">latency (ms)</text>"), std::string::npos);
  // Where each result came from, and the page itself.
  EXPECT_NE(page.find("kvscope 0.1.0 (0123456789ab, GNU 12.2.0 Release"), std::string::npos);
  EXPECT_NE(page.find("AuthenticAMD family 23 model 49"), std::string::npos);
  EXPECT_NE(page.find("SHA-256 b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53; "
                      "2026-12-01T21:40:00Z"),
            std::string::npos);
  EXPECT_NE(page.find("<footer class=\"provenance\">Written by kvscope " + build_info().version),
            std::string::npos);
}

TEST(HtmlReport, OpensInHeadlessChromiumWithoutConsoleErrors) {
  const std::string browser = chromium();
  if (browser.empty())
    GTEST_SKIP() << "chromium is not installed (scripts/install_deps.sh installs it)";
  const std::string dir = testing::temp_dir("chromium");
  // The check itself must see errors: a page that throws is caught.
  const BrowserRun broken = open_in_chromium(
      browser, write_temp(dir, "broken.html", "<script>throw new Error('deliberate')</script>"),
      dir);
  EXPECT_NE(broken.console_errors.find("deliberate"), std::string::npos)
      << "chromium's log shows no console errors";

  const std::vector<SuiteReport> reports = {
      read_suite_report(testing::samples::kv_compare_result(), "kv.json"),
      read_suite_report(testing::samples::sweep_result(), "sweep.json"),
      read_suite_report(testing::samples::run_result(), "run.json")};
  const BrowserRun report =
      open_in_chromium(browser, write_temp(dir, "report.html", html_report(reports)), dir);
  EXPECT_TRUE(report.screenshot);
  EXPECT_EQ(report.console_errors, "");

  const auto model = Model::load(testing::fixture("models/tiny-llama-f32.gguf"));
  const KvCapture capture =
      capture_kv(*model, model->tokenizer().encode("Hello world", false, true), 4, 1);
  const BrowserRun viz =
      open_in_chromium(browser, write_temp(dir, "kv.html", kv_page_html(capture, 1, 0)), dir);
  EXPECT_TRUE(viz.screenshot);
  EXPECT_EQ(viz.console_errors, "");
  std::filesystem::remove_all(dir);
}

TEST(ReportCli, WritesPlotsAndThePageAndRefusesUnknownResults) {
  const std::string dir = testing::temp_dir("cli");
  const std::string kv = write_temp(dir, "kv.json", testing::samples::kv_compare_result().dump());
  const std::string run = write_temp(dir, "run.json", testing::samples::run_result().dump());
  auto r = run_cli("report '" + kv + "' '" + run + "' --out-dir '" + dir +
                   "/plots' --format both --html '" + dir + "/r.html'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_GT(testing::png_size(read_file(dir + "/plots/kv_kv_compare_time.png")).width, 0u);
  EXPECT_NE(read_file(dir + "/plots/run_run_ops_by_kind.svg").find("<svg"), std::string::npos);
  EXPECT_NE(read_file(dir + "/r.html").find("data-charts=\"5\""), std::string::npos);

  r = run_cli("report '" + write_temp(dir, "odd.json", "{\"suite\":\"mystery\"}") +
              "' --out-dir '" + dir + "'");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "kvscope: error: " + dir +
                       "/odd.json: no report for suite 'mystery' (kv-compare, trace, sweep, cases, "
                       "train, serve, or a run's --metrics-json)\n");
  r = run_cli("report /nonexistent/result.json");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "kvscope: error: /nonexistent/result.json: cannot open\n");
  r = run_cli("report '" + write_temp(dir, "cut.json", "{\"suite\":") + "' --out-dir '" + dir +
              "'");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.rfind("kvscope: error: " + dir + "/cut.json: not JSON", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  std::filesystem::remove_all(dir);
}

TEST(BenchCli, PlotWritesTheSuitesChartsInBothFormats) {
  const std::string dir = testing::temp_dir("bench");
  const std::string model = "-m '" + testing::fixture("models/tiny-llama-q4_1.gguf") + "'";
  const std::string small =
      " --prompt-tokens 6 --new-tokens 4 -r 1 --warmup 0 --plot '" + dir + "'";
  auto r = run_cli("bench trace " + model + small);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(testing::png_size(read_file(dir + "/trace_latency.png")).width, 960u);
  EXPECT_NE(read_file(dir + "/trace_latency.svg").find(">generated token</text>"),
            std::string::npos);
  r = run_cli("bench kv-compare " + model + small);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(testing::png_size(read_file(dir + "/kv_compare_time.png")).width, 960u);
  EXPECT_NE(read_file(dir + "/kv_compare_time.svg").find(">prealloc</text>"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(VizCli, WritesAGifFramePerTokenAndRefusesOtherFiles) {
  const std::string dir = testing::temp_dir("viz");
  const std::string model = "-m '" + testing::fixture("models/tiny-gpt2-f32.gguf") + "'";
  auto r = run_cli("viz " + model + " -p 'Hello there' -n 3 --head 1 --out '" + dir + "/kv.gif'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(testing::gif_frames(read_file(dir + "/kv.gif")), 3);
  r = run_cli("viz " + model + " -p 'Hello there' -n 3 --out '" + dir + "/kv.html'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(read_file(dir + "/kv.html").find("const D = {"), std::string::npos);
  r = run_cli("viz " + model + " -p 'Hello' --out '" + dir + "/kv.mp4'");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("give a .gif or .html file"), std::string::npos) << r.err;
  r = run_cli("viz " + model + " -p 'Hello' --head 999 --out '" + dir + "/kv.gif'");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--head 999 is out of range"), std::string::npos) << r.err;
  r = run_cli("viz " + model + " -p 'Hello' -n 2 --out /nonexistent/folder/kv.gif");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("/nonexistent/folder/kv.gif: cannot write the GIF"), std::string::npos)
      << r.err;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kvscope::report
