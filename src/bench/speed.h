#pragma once
// `kvscope bench speed`: llama-bench's tests, timed as llama-bench times them, so that the two
// can be compared line by line. pp N: one prefill of N random tokens; tg N: N decode steps of one
// random token per sequence; pg N,M: both in one timing. Each test first fills the cache to the
// requested depth (untimed), runs once as warm-up, then `repetitions` timed runs.
#include <string>
#include <vector>

#include "generate/session.h"

namespace kvscope {

struct SpeedTest {
  int n_prompt = 0;
  int n_gen = 0;
  int n_depth = 0;
  int n_batch = 1;  // sequences decoded together
};

struct SpeedResult {
  SpeedTest test;
  std::vector<double> samples_ts;  // tokens per second of each repetition
  double avg_ts = 0;
  double stddev_ts = 0;
  // Decode only: bytes read per step (every weight once, plus each sequence's cached K and V at
  // the middle of the test) and the resulting rate at avg_ts.
  double bytes_per_step = 0;
  double achieved_gbs = 0;
};

struct SpeedOptions {
  int threads = 2;
  int repetitions = 5;
  KvType kv_type = KvType::kF32;
  Precision precision = Precision::kFast;
};

SpeedResult run_speed_test(const Model& model, const SpeedTest& test, const SpeedOptions& options);
std::string speed_test_name(const SpeedTest& test);  // "pp512", "tg128 @ d512", "pp512+tg128"

}  // namespace kvscope
