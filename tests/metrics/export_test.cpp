#include "metrics/export.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "metrics/op_profile.h"
#include "metrics/roofline.h"
#include "models/model.h"
#include "test_paths.h"

namespace kvscope {
namespace {

TEST(Csv, KeepsTheRecordsOrderAndQuotesWhatNeedsIt) {
  nlohmann::ordered_json records = nlohmann::ordered_json::array();
  records.push_back({{"name", "p4 g2 b1"}, {"seconds", 0.5}, {"identical", true}});
  records.push_back({{"name", "a,b \"c\""}, {"seconds", 2}, {"identical", false}});
  records.push_back(
      {{"name", "say \"hi\""}, {"seconds", 1}, {"identical", true}});  // a quote alone
  records.push_back({{"name", "two\nlines"}, {"seconds", 1}, {"identical", true}});
  EXPECT_EQ(csv_from_records(records),
            "name,seconds,identical\np4 g2 b1,0.5,true\n\"a,b \"\"c\"\"\",2,false\n\"say "
            "\"\"hi\"\"\",1,true\n"
            "\"two\nlines\",1,true\n");
  EXPECT_EQ(csv_from_records(nlohmann::ordered_json::array()), "");
}

TEST(Log, NamedAfterModelSuiteAndDayAndAppended) {
  const std::string path = default_log_path("logs", "SmolLM2 135M/x", "kv-compare");
  EXPECT_EQ(path.rfind("logs/kvscope_SmolLM2_135M_x_kv-compare_20", 0), 0u) << path;
  EXPECT_EQ(path.size(), std::string("logs/kvscope_SmolLM2_135M_x_kv-compare_20261128.log").size());
  const std::string dir = ::testing::TempDir() + "/kvscope_log_test";
  std::filesystem::remove_all(dir);
  const std::string file = dir + "/nested/run.log";
  append_log(file, {"sweep", "tiny", "cpu", "kvscope bench sweep", "first body"});
  append_log(file, {"sweep", "tiny", "cpu", "kvscope bench sweep", "second body"});
  std::ifstream in(file);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_LT(text.find("first body"), text.find("second body"));
  EXPECT_EQ(text.rfind(std::string(80, '=') + "\nKVSCOPE sweep\n", 0), 0u);
  EXPECT_NE(text.find("Command: kvscope bench sweep"), std::string::npos);
  EXPECT_THROW(append_log("/proc/kvscope/x.log", {}), std::exception);
}

TEST(OpProfile, TotalsPerKindAndLayerFromSyntheticTimings) {
  OpProfile p;
  const auto t0 = Observer::Clock::now();
  const auto ms = [&](int n) { return t0 + std::chrono::milliseconds(n); };
  p.on_op(OpKind::kEmbedding, -1, ms(0), ms(1));
  p.on_op(OpKind::kAttention, 0, ms(1), ms(4));
  p.on_op(OpKind::kFeedForward, 0, ms(4), ms(6));
  p.on_op(OpKind::kAttention, 1, ms(6), ms(7));
  p.on_op(OpKind::kSampling, -1, ms(7), ms(8));
  EXPECT_NEAR(p.by_kind()[static_cast<int>(OpKind::kAttention)].seconds, 0.004, 1e-9);
  EXPECT_EQ(p.by_kind()[static_cast<int>(OpKind::kAttention)].calls, 2);
  ASSERT_EQ(p.by_layer().size(), 3u);
  EXPECT_NEAR(p.by_layer()[1][static_cast<int>(OpKind::kAttention)].seconds, 0.003, 1e-9);
  EXPECT_NEAR(p.seconds(), 0.008, 1e-9);
  const nlohmann::json j = op_profile_json(p, 0.010);
  EXPECT_EQ(j["by_kind"].back()["kind"], "other");
  EXPECT_NEAR(j["by_kind"].back()["seconds"].get<double>(), 0.002, 1e-9);
  EXPECT_NEAR(j["by_kind"][2]["share"].get<double>(), 0.4, 1e-9);
  EXPECT_EQ(j["by_layer"].size(), 5u);
  const std::string text = format_op_profile(p, 0.010, 2);
  EXPECT_NE(text.find("attention       40.0% of time"), std::string::npos) << text;
  EXPECT_NE(text.find("layers.0.attention"), std::string::npos) << text;
  EXPECT_EQ(text.find("layers.1.attention"), std::string::npos) << text;  // only the top 2
  const nlohmann::json trace = chrome_trace_json(p, t0, {{"token 1", ms(8)}});
  ASSERT_EQ(trace["traceEvents"].size(), 6u);
  EXPECT_EQ(trace["traceEvents"][1]["name"], "layers.0.attention");
  EXPECT_NEAR(trace["traceEvents"][1]["ts"].get<double>(), 1000, 1e-6);
  EXPECT_NEAR(trace["traceEvents"][1]["dur"].get<double>(), 3000, 1e-6);
  EXPECT_EQ(trace["traceEvents"][5]["ph"], "i");
}

TEST(Roofline, CountsEveryWeightOnceAndTheCachePerSequence) {
  const auto model = Model::load(testing::fixture("models/tiny-llama-q4_1.gguf"));
  const Roofline one = decode_roofline(*model, KvType::kF32, 10, 1, 100, 20e9);
  EXPECT_DOUBLE_EQ(one.weight_bytes_per_token,
                   static_cast<double>(model->weight_bytes_per_token()));
  EXPECT_DOUBLE_EQ(one.kv_bytes_per_token,
                   2.0 * 2 * 32 * 4 * 10);  // K and V, 2 layers, kv_dim 32, f32
  EXPECT_DOUBLE_EQ(one.achieved_gbs, one.bytes_per_token * 100 / 1e9);
  EXPECT_DOUBLE_EQ(one.bandwidth_share, one.achieved_gbs / 20);
  EXPECT_GT(one.flops_per_token, 2.0 * model->matmul_weights());
  const Roofline four = decode_roofline(*model, KvType::kF16, 10, 4, 100, 0);
  EXPECT_DOUBLE_EQ(four.weight_bytes_per_token,
                   one.weight_bytes_per_token / 4);  // shared by the batch
  EXPECT_DOUBLE_EQ(four.kv_bytes_per_token, one.kv_bytes_per_token / 2);
  EXPECT_EQ(four.bandwidth_share, 0);
}

}  // namespace
}  // namespace kvscope
