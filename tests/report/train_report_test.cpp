// kvscope report reads kvscope train's log: loss, learning rate and speed against steps, and
// the checkpoints' table and generation speed.
#include <gtest/gtest.h>

#include "report/suite_report.h"

namespace kvscope::report {
namespace {

TEST(TrainReport, DrawsTheLogsCurvesAndCheckpoints) {
  const nlohmann::json log = nlohmann::json::parse(R"({
    "suite": "train", "system": {"model_name": "TinyBot", "cpu": "CPU", "isa": "avx2", "threads": 2},
    "steps": [{"step": 1, "loss": 6.9, "lr": 0.001, "tokens_per_s": 2000},
              {"step": 2, "loss": 6.1, "lr": 0.002, "tokens_per_s": 2100}],
    "checkpoints": [{"name": "final", "epoch": 1, "step": 2, "train_loss": 6.5, "held_out_loss": 6.2,
                     "tokens_per_s": 2050, "generation_tokens_per_s": 3000.5}]})");
  const SuiteReport r = read_suite_report(log, "log.json");
  ASSERT_EQ(r.charts.size(), 4u);
  EXPECT_EQ(r.charts[0].name, "train_loss");
  EXPECT_EQ(r.charts[0].series[0].y, (std::vector<double>{6.9, 6.1}));
  EXPECT_EQ(r.charts[0].series[1].y, (std::vector<double>{6.2}));
  EXPECT_EQ(r.charts[3].series[0].y, (std::vector<double>{3000.5}));
  ASSERT_EQ(r.tables.size(), 1u);
  EXPECT_EQ(r.tables[0].rows[0][4], "6.2000");
  EXPECT_EQ(r.system, "TinyBot on CPU (avx2 kernels, 2 threads)");
}

}  // namespace
}  // namespace kvscope::report
