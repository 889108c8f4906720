// The server's engine thread: requests submitted and cancelled from many threads get their own
// tokens (the same as alone), cancelled ones free their blocks, a full queue is refused, and
// stopping ends every request in flight with an error. Also built under ThreadSanitizer.
#include "serve/engine_loop.h"

#include <gtest/gtest.h>

#include <future>
#include <sstream>
#include <thread>

#include "serve/api_error.h"
#include "test_paths.h"

namespace kvscope::serve {
namespace {

using std::chrono::milliseconds;

class EngineLoopTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = Model::load(testing::fixture("models/tiny-llama-f32.gguf")).release();
  }
  static void TearDownTestSuite() { delete model_; }

  static EngineOptions options(int max_seqs = 4) {
    EngineOptions o;
    o.max_seqs = max_seqs;
    o.n_ctx = 128;
    return o;
  }
  static Request request(int i, int new_tokens) {
    Request r;
    for (int t = 0; t < 6 + i % 5; ++t) r.prompt.push_back(5 + (t * 7 + i * 13) % 300);
    r.max_new_tokens = new_tokens;
    r.stop_at_end_token = false;
    r.sampling.temperature = i % 2 ? 0.9f : 0.0f;
    r.sampling.seed = static_cast<uint64_t>(i);
    return r;
  }
  // The events of a request until its last; empty text on an error.
  static std::vector<Event> drain(Channel& channel) {
    std::vector<Event> all;
    while (all.empty() || all.back().kind == Event::Kind::kToken)
      for (Event& e : channel.take(milliseconds(100))) all.push_back(std::move(e));
    return all;
  }
  // The value of an unlabelled metric in the Prometheus text (-1 when absent).
  static double metric(const EngineLoop& loop, const std::string& name) {
    std::istringstream lines(loop.metrics_text());
    for (std::string line; std::getline(lines, line);)
      if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
    return -1;
  }
  static Model* model_;
};
Model* EngineLoopTest::model_ = nullptr;

TEST_F(EngineLoopTest, RequestsFromManyThreadsEqualTheirRunsAlone) {
  constexpr int kRequests = 8;
  std::vector<std::vector<int32_t>> alone(kRequests), together(kRequests);
  {
    EngineLoop loop(*model_, options(1), 16);
    for (int i = 0; i < kRequests; ++i) {
      const Submitted s = loop.submit(request(i, 6), 2);
      for (const Event& e : drain(*s.channel))
        if (e.kind == Event::Kind::kFinish) alone[i] = e.output.output;
    }
  }
  EngineLoop loop(*model_, options(4), 16);
  std::vector<std::thread> clients;
  for (int i = 0; i < kRequests; ++i)
    clients.emplace_back([&, i] {
      const Submitted s = loop.submit(request(i, 6), 2);
      const std::vector<Event> events = drain(*s.channel);
      int logprobs = 0;
      for (const Event& e : events) logprobs += e.logprob.has_value();
      EXPECT_EQ(logprobs, 6);
      EXPECT_EQ(events.back().kind, Event::Kind::kFinish);
      together[i] = events.back().output.output;
    });
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(together, alone);
}

TEST_F(EngineLoopTest, CancelFromAnotherThreadFreesTheBlocks) {
  EngineLoop loop(*model_, options(1), 16);
  // The first request holds the engine thread at its first sampling until the cancel is sent,
  // so that it cannot end, and let the second one run to its end, before the cancel arrives.
  std::promise<void> cancel_sent;
  Request first = request(0, 100);
  first.on_logits = [sent = cancel_sent.get_future().share()](std::span<const float>) {
    sent.wait();
  };
  const Submitted running = loop.submit(std::move(first), -1);
  const Submitted waiting = loop.submit(request(1, 100), -1);  // behind it: one runs at a time
  std::thread([&] { loop.cancel(waiting.id); }).join();
  cancel_sent.set_value();
  EXPECT_EQ(drain(*waiting.channel).back().output.stop, StopReason::kCancelled);
  EXPECT_EQ(drain(*running.channel).back().output.stop, StopReason::kMaxTokens);
  for (int i = 0; i < 100 && metric(loop, "kvscope_kv_blocks_used") != 0; ++i)
    std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(metric(loop, "kvscope_kv_blocks_used"), 0);
  EXPECT_EQ(metric(loop, "kvscope_requests_aborted_total"), 1);
}

TEST_F(EngineLoopTest, RefusesBeyondTheQueue) {
  EngineLoop loop(*model_, options(1), 1);
  // The first request is held at its first sampling until the third is refused, so that it
  // cannot end and make room (on a fast machine its 100 tokens took under 4 ms).
  std::promise<void> third_refused;
  Request first = request(0, 100);
  first.on_logits = [refused = third_refused.get_future().share()](std::span<const float>) {
    refused.wait();
  };
  const Submitted a = loop.submit(std::move(first), -1);
  const Submitted b = loop.submit(request(1, 100), -1);
  try {
    loop.submit(request(2, 1), -1);
    ADD_FAILURE() << "a third request was queued";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 429);
  }
  third_refused.set_value();
  loop.cancel(a.id);
  loop.cancel(b.id);
}

TEST_F(EngineLoopTest, StoppingEndsRequestsInFlightWithAnError) {
  EngineLoop loop(*model_, options(), 16);
  std::vector<Submitted> in_flight;
  for (int i = 0; i < 3; ++i) {
    // Each sampling waits, so that 100 tokens take seconds and cannot end before the stop.
    Request r = request(i, 100);
    r.on_logits = [](std::span<const float>) { std::this_thread::sleep_for(milliseconds(20)); };
    in_flight.push_back(loop.submit(std::move(r), -1));
  }
  loop.stop();
  for (const Submitted& s : in_flight) {
    const std::vector<Event> events = drain(*s.channel);
    EXPECT_EQ(events.back().kind, Event::Kind::kError);
  }
  EXPECT_THROW(loop.submit(request(0, 1), -1), ApiError);
}

}  // namespace
}  // namespace kvscope::serve
