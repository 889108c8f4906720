#include "report/suite_report.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/error.h"

namespace kvscope::report {
namespace {

using nlohmann::json;

constexpr double kMiB = 1024.0 * 1024.0;

double median(const json& summary) { return summary.at("median").get<double>(); }

std::string ms(double seconds) { return fmt::format("{:.2f} ms", seconds * 1e3); }

// kv-compare, trace, sweep and cases hold a "system" object; a run's JSON has the same fields
// at its top level (and the model's path only).
std::string system_line(const json& result) {
  const json& s = result.contains("system") ? result.at("system") : result;
  const std::string model = s.contains("model_name")
                                ? s.at("model_name").get<std::string>()
                                : std::filesystem::path(s.value("model", "?")).filename().string();
  return fmt::format("{} on {} ({} kernels, {} threads)", model, s.value("cpu", "?"),
                     s.value("isa", "?"), s.value("threads", 0));
}

std::string provenance_line(const json& result) {
  const json& s = result.contains("system") ? result.at("system") : result;
  if (!s.contains("kvscope_version")) return "";
  return fmt::format(
      "kvscope {} ({}{}, {} {}, flags {}); {} family {} model {}, flags: {}; model SHA-256 {}; {}",
      s.value("kvscope_version", "?"), s.value("git_commit", "?"),
      s.value("git_dirty", false) ? ", dirty" : "", s.value("compiler", "?"),
      s.value("build_type", "?"), s.value("compiler_flags", "?"), s.value("cpu_vendor", "?"),
      s.value("cpu_family", -1), s.value("cpu_model", -1), s.value("cpu_flags", "?"),
      s.value("model_sha256", "?"), s.value("date", "?"));
}

Chart new_chart(const SuiteReport& report, std::string name, ChartKind kind, std::string title) {
  Chart chart;
  chart.name = std::move(name);
  chart.kind = kind;
  chart.title = std::move(title);
  chart.subtitle = report.system;
  return chart;
}

Series strategy_series(const std::string& strategy) {
  Series s;
  s.name = strategy;
  s.colour = strategy_colour(strategy);
  return s;
}

// One line per distinct name(point), its points sorted by x.
template <typename Name, typename X, typename Y>
std::vector<Series> lines_by(const json& points, Name name, X x, Y y) {
  std::vector<Series> lines;
  for (const json& p : points) {
    const std::string key = name(p);
    auto it =
        std::find_if(lines.begin(), lines.end(), [&](const Series& s) { return s.name == key; });
    if (it == lines.end()) {
      lines.push_back(strategy_series(key));
      // A strategy's own colour when it has one line; else the palette, so lines stay apart (and
      // a second call with the same points gives the same colours, for the memory lines).
      if (key != p.at("strategy").get<std::string>())
        lines.back().colour = palette_colour(lines.size() - 1);
      lines.back().markers = true;
      it = lines.end() - 1;
    }
    it->x.push_back(x(p));
    it->y.push_back(y(p));
  }
  for (Series& s : lines) {
    std::vector<size_t> order(s.x.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s.x[a] < s.x[b]; });
    Series sorted = s;
    for (size_t i = 0; i < order.size(); ++i)
      sorted.x[i] = s.x[order[i]], sorted.y[i] = s.y[order[i]];
    s = sorted;
  }
  return lines;
}

// Whether the points hold more than one value of `key`.
bool varies(const json& points, const char* key) {
  for (const json& p : points)
    if (p.at(key) != points.front().at(key)) return true;
  return false;
}

void read_trace(const json& r, SuiteReport& report) {
  report.heading = fmt::format("Per-token latency: {} prompt + {} new tokens, mean of {} runs",
                               r.at("prompt_tokens").get<int>(), r.at("new_tokens").get<int>(),
                               r.at("repetitions").get<int>());
  Chart chart =
      new_chart(report, "trace_latency", ChartKind::kLines,
                fmt::format("Per-token latency with and without the KV cache ({}-token prompt)",
                            r.at("prompt_tokens").get<int>()));
  chart.x_label = "generated token";
  chart.y_label = "latency (ms)";
  ReportTable table{"Token 1 is the time to first token; the rest are the gaps between tokens",
                    {"Strategy", "First token", "Mean of the rest", "Last token"},
                    {}};
  for (const json& s : r.at("strategies")) {
    Series line = strategy_series(s.at("strategy").get<std::string>());
    const auto mean = s.at("mean_latency_s").get<std::vector<double>>();
    const auto low = s.value("min_latency_s", std::vector<double>{});
    const auto high = s.value("max_latency_s", std::vector<double>{});
    for (size_t i = 0; i < mean.size(); ++i) {
      line.x.push_back(static_cast<double>(i + 1));
      line.y.push_back(mean[i] * 1e3);
    }
    for (double v : low) line.low.push_back(v * 1e3);
    for (double v : high) line.high.push_back(v * 1e3);
    if (!mean.empty()) {
      double rest = 0;
      for (size_t i = 1; i < mean.size(); ++i) rest += mean[i];
      table.rows.push_back({line.name, ms(mean.front()),
                            mean.size() > 1 ? ms(rest / (mean.size() - 1)) : "", ms(mean.back())});
    }
    line.name += " (mean, min–max band)";
    chart.series.push_back(std::move(line));
  }
  report.tables.push_back(std::move(table));
  report.charts.push_back(std::move(chart));
}

void read_kv_compare(const json& r, SuiteReport& report) {
  report.heading = fmt::format("KV cache strategies: {} prompt + {} new tokens, {} runs each",
                               r.at("prompt_tokens").get<int>(), r.at("new_tokens").get<int>(),
                               r.at("repetitions").get<int>());
  const json& strategies = r.at("strategies");
  if (strategies.empty()) fail("no strategies");
  // The strategy the speedups are against: "baseline" (older files: the first strategy).
  const std::string baseline_name =
      r.value("baseline", strategies.front().at("strategy").get<std::string>());
  const auto base = std::find_if(strategies.begin(), strategies.end(),
                                 [&](const json& s) { return s.at("strategy") == baseline_name; });
  if (base == strategies.end())
    fail("the baseline '{}' is not among the strategies", baseline_name);
  const double baseline = median(base->at("seconds"));
  Chart chart = new_chart(
      report, "kv_compare_time", ChartKind::kBars,
      fmt::format("Generation time: {} new tokens after a {}-token prompt (speedup against {})",
                  r.at("new_tokens").get<int>(), r.at("prompt_tokens").get<int>(), baseline_name));
  chart.x_label = "KV cache strategy";
  chart.y_label = "median time (s)";
  Series bars;
  bars.name = "median time";
  ReportTable table{
      "Medians over the runs",
      {"Strategy", "Time", "Speedup", "TTFT", "TPOT", "Tokens/s", "KV reserved", "Identical"},
      {}};
  for (const json& s : strategies) {
    const std::string name = s.at("strategy");
    const double seconds = median(s.at("seconds"));
    const double speedup = baseline / seconds;
    chart.categories.push_back(name);
    bars.y.push_back(seconds);
    bars.labels.push_back(fmt::format("{:.3f} s, {:.2f}×", seconds, speedup));
    bars.bar_colours.push_back(strategy_colour(name).value_or(palette_colour(bars.y.size() - 1)));
    table.rows.push_back({name, fmt::format("{:.3f} s", seconds), fmt::format("{:.2f}×", speedup),
                          ms(median(s.at("ttft_s"))), ms(median(s.at("tpot_s"))),
                          fmt::format("{:.1f}", median(s.at("output_tps"))),
                          fmt::format("{:.2f} MiB", s.at("kv_bytes_reserved").get<double>() / kMiB),
                          s.at("identical").get<bool>() ? "bitwise" : "DIFFERS"});
  }
  chart.series.push_back(std::move(bars));
  report.tables.push_back(std::move(table));
  report.charts.push_back(std::move(chart));
}

void read_sweep(const json& r, SuiteReport& report) {
  const json& points = r.at("points");
  if (points.empty()) fail("no points");
  report.heading =
      fmt::format("Sweep: {} points, {} runs each", points.size(), r.at("repetitions").get<int>());
  const bool many_prompts = varies(points, "prompt_tokens"), many_batches = varies(points, "batch");
  const auto strategy = [](const json& p) { return p.at("strategy").get<std::string>(); };
  const auto by_prompt = [&](const json& p) {
    return many_prompts
               ? fmt::format("{}, {}-token prompt", strategy(p), p.at("prompt_tokens").get<int>())
               : strategy(p);
  };
  const auto by_batch = [&](const json& p) {
    return many_batches ? fmt::format("{}, batch {}", strategy(p), p.at("batch").get<int>())
                        : strategy(p);
  };
  const auto batch = [](const json& p) { return p.at("batch").get<double>(); };
  const auto prompt = [](const json& p) { return p.at("prompt_tokens").get<double>(); };

  Chart throughput = new_chart(report, "sweep_throughput", ChartKind::kLines,
                               "Throughput and KV cache memory against batch size");
  throughput.x_label = "batch size (sequences)";
  throughput.y_label = "throughput (generated tokens/s)";
  throughput.y2_label = "KV cache reserved (MiB, dashed)";
  throughput.series = lines_by(points, by_prompt, batch,
                               [](const json& p) { return median(p.at("throughput_tps")); });
  for (Series memory : lines_by(points, by_prompt, batch, [](const json& p) {
         return p.at("kv_bytes_reserved").get<double>() / kMiB;
       })) {
    memory.name += ": KV MiB";
    memory.right_axis = memory.dashed = true;
    throughput.series.push_back(std::move(memory));
  }
  Chart ttft = new_chart(report, "sweep_ttft", ChartKind::kLines,
                         "Time to first token against prompt length");
  ttft.x_label = "prompt length (tokens)";
  ttft.y_label = "TTFT, median (ms)";
  ttft.series = lines_by(points, by_batch, prompt,
                         [](const json& p) { return median(p.at("ttft_s")) * 1e3; });
  Chart tpot = new_chart(report, "sweep_tpot", ChartKind::kLines,
                         "Time per output token against prompt length");
  tpot.x_label = "prompt length (tokens)";
  tpot.y_label = "TPOT, median (ms)";
  tpot.series = lines_by(points, by_batch, prompt,
                         [](const json& p) { return median(p.at("tpot_s")) * 1e3; });

  ReportTable table{"Medians over the runs",
                    {"Prompt", "New", "Batch", "Strategy", "Time", "TTFT", "TPOT", "Tokens/s",
                     "KV reserved", "Identical"},
                    {}};
  for (const json& p : points)
    table.rows.push_back({fmt::format("{}", p.at("prompt_tokens").get<int>()),
                          fmt::format("{}", p.at("new_tokens").get<int>()),
                          fmt::format("{}", p.at("batch").get<int>()), strategy(p),
                          fmt::format("{:.3f} s", median(p.at("seconds"))),
                          ms(median(p.at("ttft_s"))), ms(median(p.at("tpot_s"))),
                          fmt::format("{:.1f}", median(p.at("throughput_tps"))),
                          fmt::format("{:.2f} MiB", p.at("kv_bytes_reserved").get<double>() / kMiB),
                          p.at("identical").get<bool>() ? "bitwise" : "DIFFERS"});
  report.tables.push_back(std::move(table));
  report.charts.push_back(std::move(throughput));
  report.charts.push_back(std::move(ttft));
  report.charts.push_back(std::move(tpot));
}

void read_cases(const json& r, SuiteReport& report) {
  const json& cases = r.at("cases");
  if (cases.empty()) fail("no cases");
  report.heading = fmt::format("Cases: {} measurements", cases.size());
  Chart chart =
      new_chart(report, "cases_time", ChartKind::kBars, "Median time per case and cache strategy");
  chart.x_label = "case";
  chart.y_label = "median time (s)";
  ReportTable table{"Medians over the runs",
                    {"Case", "Batch", "New", "Strategy", "Time", "TTFT", "TPOT", "Tokens/s"},
                    {}};
  for (const json& c : cases) {
    const std::string name = c.at("name"), strategy = c.at("strategy");
    auto category = std::find(chart.categories.begin(), chart.categories.end(), name);
    if (category == chart.categories.end())
      category = chart.categories.insert(chart.categories.end(), name);
    auto series = std::find_if(chart.series.begin(), chart.series.end(),
                               [&](const Series& s) { return s.name == strategy; });
    if (series == chart.series.end())
      series = chart.series.insert(chart.series.end(), strategy_series(strategy));
    const size_t k = static_cast<size_t>(category - chart.categories.begin());
    if (series->y.size() <= k) series->y.resize(k + 1, 0.0);
    series->y[k] = median(c.at("seconds"));
    table.rows.push_back({name, fmt::format("{}", c.at("batch").get<int>()),
                          fmt::format("{}", c.at("new_tokens").get<int>()), strategy,
                          fmt::format("{:.3f} s", median(c.at("seconds"))),
                          ms(median(c.at("ttft_s"))), ms(median(c.at("tpot_s"))),
                          fmt::format("{:.1f}", median(c.at("throughput_tps")))});
  }
  for (Series& s : chart.series) s.y.resize(chart.categories.size(), 0.0);
  report.tables.push_back(std::move(table));
  report.charts.push_back(std::move(chart));
}

void read_ops(const json& ops, SuiteReport& report) {
  Chart by_kind = new_chart(
      report, "run_ops_by_kind", ChartKind::kHorizontalBars,
      fmt::format("Where the time goes, by op ({:.3f} s in all)", ops.at("total_s").get<double>()));
  by_kind.x_label = "time (ms)";
  Series kinds;
  kinds.name = "time";
  ReportTable table{"Time by op", {"Op", "Time", "Calls", "Share"}, {}};
  for (const json& k : ops.at("by_kind")) {
    const double seconds = k.at("seconds").get<double>(), share = k.at("share").get<double>();
    by_kind.categories.push_back(k.at("kind").get<std::string>());
    kinds.y.push_back(seconds * 1e3);
    kinds.labels.push_back(fmt::format("{:.1f} ms ({:.1f}%)", seconds * 1e3, share * 100));
    table.rows.push_back({by_kind.categories.back(), ms(seconds),
                          fmt::format("{}", k.at("calls").get<int64_t>()),
                          fmt::format("{:.1f}%", share * 100)});
  }
  by_kind.series.push_back(std::move(kinds));
  report.tables.push_back(std::move(table));
  report.charts.push_back(std::move(by_kind));

  if (!ops.contains("by_layer") || ops.at("by_layer").empty()) return;
  Chart by_layer =
      new_chart(report, "run_ops_by_layer", ChartKind::kHorizontalBars, "Time by layer and op");
  by_layer.x_label = "time (ms)";
  for (const json& l : ops.at("by_layer")) {
    const std::string layer = fmt::format("layer {}", l.at("layer").get<int>()),
                      kind = l.at("kind");
    auto category = std::find(by_layer.categories.begin(), by_layer.categories.end(), layer);
    if (category == by_layer.categories.end())
      category = by_layer.categories.insert(by_layer.categories.end(), layer);
    auto series = std::find_if(by_layer.series.begin(), by_layer.series.end(),
                               [&](const Series& s) { return s.name == kind; });
    if (series == by_layer.series.end()) {
      series = by_layer.series.insert(by_layer.series.end(), Series{});
      series->name = kind;
    }
    const size_t k = static_cast<size_t>(category - by_layer.categories.begin());
    if (series->y.size() <= k) series->y.resize(k + 1, 0.0);
    series->y[k] = l.at("seconds").get<double>() * 1e3;
  }
  for (Series& s : by_layer.series) {
    s.y.resize(by_layer.categories.size(), 0.0);
    for (double v : s.y) s.labels.push_back(fmt::format("{:.1f}", v));
  }
  report.charts.push_back(std::move(by_layer));
}

void read_run(const json& r, SuiteReport& report) {
  const json& sequences = r.at("sequences");
  report.heading = fmt::format("Run: {} sequence{}, cache {}", sequences.size(),
                               sequences.size() == 1 ? "" : "s", r.value("cache", "?"));
  Chart rate = new_chart(report, "run_tokens_per_second", ChartKind::kLines,
                         "Tokens per second over the run");
  rate.x_label = "second of the run";
  rate.y_label = "tokens emitted in that second";
  Chart latency =
      new_chart(report, "run_token_latency", ChartKind::kLines, "Per-token latency over the run");
  latency.x_label = "generated token";
  latency.y_label = "latency (ms)";
  ReportTable table{"Per sequence",
                    {"Sequence", "Input", "Output", "TTFT", "TPOT", "Output tok/s", "Peak tok/s"},
                    {}};
  for (size_t i = 0; i < sequences.size(); ++i) {
    const json& s = sequences[i];
    const std::string name = fmt::format("sequence {}", i + 1);
    Series per_second, per_token;
    per_second.name = per_token.name = name;
    per_second.markers = true;
    const auto tps = s.at("tps_per_second").get<std::vector<double>>();
    for (size_t k = 0; k < tps.size(); ++k)
      per_second.x.push_back(k + 1.0), per_second.y.push_back(tps[k]);
    const auto token_latency = s.at("token_latency_s").get<std::vector<double>>();
    for (size_t k = 0; k < token_latency.size(); ++k)
      per_token.x.push_back(k + 1.0), per_token.y.push_back(token_latency[k] * 1e3);
    rate.series.push_back(std::move(per_second));
    latency.series.push_back(std::move(per_token));
    table.rows.push_back({name, fmt::format("{}", s.at("input_tokens").get<int>()),
                          fmt::format("{}", s.at("output_tokens").get<int>()),
                          ms(s.at("ttft_s").get<double>()), ms(s.at("tpot_s").get<double>()),
                          fmt::format("{:.1f}", s.at("output_tps").get<double>()),
                          fmt::format("{:.1f}", s.at("peak_tps").get<double>())});
  }
  report.tables.push_back(std::move(table));
  report.charts.push_back(std::move(rate));
  report.charts.push_back(std::move(latency));
  if (r.contains("ops")) read_ops(r.at("ops"), report);
}

// kvscope train's log: loss, learning rate and training speed against steps, and each
// checkpoint's held-out loss and generation speed.
void read_train(const json& r, SuiteReport& report) {
  const json& steps = r.at("steps");
  const json& checkpoints = r.at("checkpoints");
  report.heading =
      fmt::format("Training: {} steps, {} checkpoints", steps.size(), checkpoints.size());
  Chart loss = new_chart(report, "train_loss", ChartKind::kLines, "Loss against steps");
  loss.x_label = "step";
  loss.y_label = "cross-entropy (nats per token)";
  Chart lr = new_chart(report, "train_learning_rate", ChartKind::kLines, "Learning rate");
  lr.x_label = "step";
  lr.y_label = "learning rate";
  Chart speed = new_chart(report, "train_tokens_per_second", ChartKind::kLines, "Training speed");
  speed.x_label = "step";
  speed.y_label = "tokens per second";
  Series train_loss, lr_line, speed_line, held_out;
  train_loss.name = "train (batch)";
  lr_line.name = "learning rate";
  speed_line.name = "training tokens/s";
  held_out.name = "held-out";
  held_out.markers = true;
  for (const json& s : steps) {
    const double step = s.at("step").get<double>();
    train_loss.x.push_back(step), train_loss.y.push_back(s.at("loss").get<double>());
    lr_line.x.push_back(step), lr_line.y.push_back(s.at("lr").get<double>());
    speed_line.x.push_back(step), speed_line.y.push_back(s.at("tokens_per_s").get<double>());
  }
  Chart generation = new_chart(report, "train_generation_speed", ChartKind::kBars,
                               "Generation speed of each checkpoint (demo questions)");
  generation.y_label = "tokens per second";
  Series gen;
  gen.name = "generation tok/s";
  ReportTable table{"Checkpoints",
                    {"Checkpoint", "Epoch", "Step", "Train loss", "Held-out loss", "Training tok/s",
                     "Generation tok/s"},
                    {}};
  for (const json& c : checkpoints) {
    const bool has_held_out = c.at("held_out_loss").is_number();
    if (has_held_out)
      held_out.x.push_back(c.at("step").get<double>()),
          held_out.y.push_back(c.at("held_out_loss").get<double>());
    generation.categories.push_back(c.at("name").get<std::string>());
    gen.y.push_back(c.at("generation_tokens_per_s").get<double>());
    table.rows.push_back(
        {c.at("name").get<std::string>(), fmt::format("{}", c.at("epoch").get<int>()),
         fmt::format("{}", c.at("step").get<int64_t>()),
         fmt::format("{:.4f}", c.at("train_loss").get<double>()),
         has_held_out ? fmt::format("{:.4f}", c.at("held_out_loss").get<double>()) : "-",
         fmt::format("{:.0f}", c.at("tokens_per_s").get<double>()),
         fmt::format("{:.1f}", c.at("generation_tokens_per_s").get<double>())});
  }
  loss.series = {std::move(train_loss), std::move(held_out)};
  lr.series = {std::move(lr_line)};
  speed.series = {std::move(speed_line)};
  generation.series = {std::move(gen)};
  report.tables.push_back(std::move(table));
  for (Chart* c : {&loss, &lr, &speed, &generation}) report.charts.push_back(std::move(*c));
}

// bench serve: vLLM's latency percentiles as grouped bars, then each request's TTFT and
// end-to-end latency in the order it was sent (a queue shows as a rising line).
std::string serve_target(const json& r) {
  if (r.contains("label")) return r.at("label").get<std::string>();
  return fmt::format("{} at {}", r.at("model_id").get<std::string>(),
                     r.at("base_url").get<std::string>());
}

void read_serve(const json& r, SuiteReport& report) {
  const std::string target = serve_target(r);
  report.heading = fmt::format("bench serve: {} requests to {} ({} completed, {} failed)",
                               r.at("num_prompts").get<int>(), target, r.at("completed").get<int>(),
                               r.at("failed").get<int>());
  report.system = target;
  Chart latency =
      new_chart(report, "serve_latency", ChartKind::kBars, "Latency percentiles over the requests");
  latency.x_label = "metric";
  latency.y_label = "milliseconds";
  latency.categories = {"TTFT", "TPOT", "ITL", "E2EL"};
  for (const char* p : {"p50", "p90", "p99"}) {
    Series s;
    s.name = p;
    for (const char* metric : {"ttft", "tpot", "itl", "e2el"})
      s.y.push_back(r.at(fmt::format("{}_{}_ms", p, metric)).get<double>());
    latency.series.push_back(std::move(s));
  }
  Chart requests = new_chart(report, "serve_requests", ChartKind::kLines,
                             "Each request's latency, in the order sent");
  requests.x_label = "request";
  requests.y_label = "milliseconds";
  Series ttft, e2el;
  ttft.name = "TTFT";
  e2el.name = "end-to-end";
  const json &outputs = r.at("output_lens"), &ttfts = r.at("ttfts"), &e2els = r.at("e2els");
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs.at(i).get<int>() == 0) continue;  // failed
    ttft.x.push_back(static_cast<double>(i + 1)), ttft.y.push_back(ttfts.at(i).get<double>() * 1e3);
    e2el.x.push_back(static_cast<double>(i + 1)), e2el.y.push_back(e2els.at(i).get<double>() * 1e3);
  }
  requests.series = {std::move(ttft), std::move(e2el)};
  ReportTable table{"Throughput", {"Metric", "Value"}, {}};
  const std::pair<const char*, const char*> rates[] = {{"request_throughput", "requests/s"},
                                                       {"output_throughput", "output tokens/s"},
                                                       {"total_token_throughput", "total tokens/s"},
                                                       {"request_goodput", "goodput, requests/s"}};
  for (const auto& [key, name] : rates)
    table.rows.push_back({name, fmt::format("{:.2f}", r.at(key).get<double>())});
  report.tables.push_back(std::move(table));
  report.charts.push_back(std::move(latency));
  report.charts.push_back(std::move(requests));
}

}  // namespace

SuiteReport read_suite_report(const json& result, const std::string& source) {
  SuiteReport report;
  report.source = source;
  try {
    if (!result.is_object()) fail("not a JSON object");
    if (result.contains("suite")) {
      report.suite = result.at("suite").get<std::string>();
    } else if (result.contains("sequences") && result.at("sequences").is_array()) {
      report.suite = "run";
    } else {
      fail("not a kvscope result (no \"suite\", no \"sequences\")");
    }
    report.system = system_line(result);
    report.provenance = provenance_line(result);
    if (report.suite == "trace") {
      read_trace(result, report);
    } else if (report.suite == "kv-compare") {
      read_kv_compare(result, report);
    } else if (report.suite == "sweep") {
      read_sweep(result, report);
    } else if (report.suite == "cases") {
      read_cases(result, report);
    } else if (report.suite == "run") {
      read_run(result, report);
    } else if (report.suite == "train") {
      read_train(result, report);
    } else if (report.suite == "serve") {
      read_serve(result, report);
    } else {
      fail(
          "no report for suite '{}' (kv-compare, trace, sweep, cases, train, serve, or a run's "
          "--metrics-json)",
          report.suite);
    }
  } catch (const json::exception& e) {
    fail("{}: not the {} result expected: {}", source,
         report.suite.empty() ? "kvscope" : report.suite, e.what());
  } catch (const Error& e) {
    fail("{}: {}", source, e.what());
  }
  return report;
}

json load_result_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("{}: cannot open", path);
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    fail("{}: not JSON ({})", path, e.what());
  }
}

SuiteReport load_suite_report(const std::string& path) {
  return read_suite_report(load_result_json(path), path);
}

std::optional<SuiteReport> serve_concurrency_report(const std::vector<json>& serve_results) {
  struct Level {
    std::vector<double> throughput, p99_ttft_ms, median_ttft_ms, median_tpot_ms;
  };
  // server label -> concurrency -> its results; first-seen order of the labels kept for colours.
  std::vector<std::string> labels;
  std::map<std::string, std::map<int, Level>> servers;
  std::set<int> levels;
  try {
    for (const json& r : serve_results) {
      if (r.at("max_concurrency").is_null()) continue;  // unbounded: no level to place it at
      const std::string label = serve_target(r);
      if (!servers.count(label)) labels.push_back(label);
      const int c = r.at("max_concurrency").get<int>();
      levels.insert(c);
      Level& l = servers[label][c];
      l.throughput.push_back(r.at("output_throughput").get<double>());
      l.p99_ttft_ms.push_back(r.at("p99_ttft_ms").get<double>());
      l.median_ttft_ms.push_back(r.at("median_ttft_ms").get<double>());
      l.median_tpot_ms.push_back(r.at("median_tpot_ms").get<double>());
    }
  } catch (const json::exception& e) {
    fail("bench serve results: not the serve result expected: {}", e.what());
  }
  if (levels.size() < 2) return std::nullopt;
  SuiteReport report;
  report.suite = "serve";
  report.source = "the bench serve results together";
  report.heading = fmt::format("bench serve: {} against concurrency", fmt::join(labels, ", "));
  report.system =
      fmt::format("{} results, max concurrency {}", serve_results.size(), fmt::join(levels, ", "));
  Chart throughput = new_chart(report, "serve_throughput", ChartKind::kLines,
                               "Output throughput against concurrency");
  Chart ttft = new_chart(report, "serve_ttft", ChartKind::kLines,
                         "p99 time to first token against concurrency");
  for (Chart* c : {&throughput, &ttft}) c->x_label = "max concurrency (requests in flight)";
  throughput.y_label = "output tokens/s";
  ttft.y_label = "milliseconds";
  ReportTable table{"Against concurrency (medians over repeated results)",
                    {"Server", "Concurrency", "Results", "Output tokens/s", "TTFT median",
                     "TTFT p99", "TPOT median"},
                    {}};
  const auto median_of = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  };
  for (const std::string& label : labels) {
    Series tput, p99;
    tput.name = p99.name = label;
    tput.markers = p99.markers = true;
    for (const auto& [c, l] : servers.at(label)) {
      tput.x.push_back(c), tput.y.push_back(median_of(l.throughput));
      p99.x.push_back(c), p99.y.push_back(median_of(l.p99_ttft_ms));
      table.rows.push_back({label, std::to_string(c), std::to_string(l.throughput.size()),
                            fmt::format("{:.1f}", tput.y.back()),
                            fmt::format("{:.0f} ms", median_of(l.median_ttft_ms)),
                            fmt::format("{:.0f} ms", p99.y.back()),
                            fmt::format("{:.1f} ms", median_of(l.median_tpot_ms))});
    }
    throughput.series.push_back(std::move(tput));
    ttft.series.push_back(std::move(p99));
  }
  report.tables.push_back(std::move(table));
  report.charts.push_back(std::move(throughput));
  report.charts.push_back(std::move(ttft));
  return report;
}

std::vector<std::string> write_charts(const SuiteReport& report, const std::string& dir,
                                      ImageFormat format, const std::string& prefix) {
  std::vector<std::string> written;
  for (Chart chart : report.charts) {
    chart.name = prefix + chart.name;
    for (std::string& path : write_chart(chart, dir, format)) written.push_back(std::move(path));
  }
  return written;
}

}  // namespace kvscope::report
