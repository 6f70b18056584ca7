// The proxy's RequestCounters: each client request counted once, for the release that answered
// last; connect errors and retries for the release that failed; the listener's own answers in
// its own counters; methods and client aborts.
#include <gtest/gtest.h>

#include <map>

#include "metrics/request_counters.h"
#include "proxy_test_fixture.h"

namespace slipway::proxy::testing {
namespace {

using metrics::HttpMethod;
using metrics::RequestCounters;
using metrics::RequestTotals;
using metrics::RetryReason;

std::uint64_t Requests(const RequestTotals& t, int status, HttpMethod method) {
  return t.requests[static_cast<std::size_t>(metrics::StatusClassIndex(status))]
                   [static_cast<std::size_t>(method)];
}
std::uint64_t Retries(const RequestTotals& t, RetryReason reason) {
  return t.retries[static_cast<std::size_t>(reason)];
}

class RequestCountingTest : public ProxyTest {
 protected:
  std::shared_ptr<Backend> Counted(std::shared_ptr<Backend> backend, std::int64_t release) {
    backend->release = release;
    auto& counters = release_counters_[release];
    if (!counters) counters = std::make_shared<RequestCounters>(1);
    backend->counters = counters;
    return backend;
  }
  RequestTotals Totals(std::int64_t release) { return release_counters_[release]->Totals(); }
  // The proxy counts a request just after its answer's last byte is written: poll.
  bool WaitTotal(const std::shared_ptr<RequestCounters>& counters, std::uint64_t n) {
    return WaitFor([&] { return counters->Totals().total_requests() == n; });
  }

  std::map<std::int64_t, std::shared_ptr<RequestCounters>> release_counters_;
  std::shared_ptr<RequestCounters> local_ = std::make_shared<RequestCounters>(1);
};

std::shared_ptr<Backend> DeadBackend() {
  auto dead = std::make_shared<Backend>();
  dead->id = "dead";
  dead->port = ClosedPort();
  return dead;
}

TEST_F(RequestCountingTest, AFailedConnectCountsForTheDeadReleaseTheAnswerForTheLiveOne) {
  TestBackend live("live");
  options_.outlier.enabled = false;  // the dead backend keeps being picked
  StartProxy({Counted(DeadBackend(), 1), Counted(live.MakeBackend(), 2)});
  TestClient client = Client();
  for (int i = 0; i < 10; ++i) ASSERT_EQ(client.RoundTrip(Get()).status, 200);
  ASSERT_TRUE(WaitTotal(release_counters_[2], 10));
  const RequestTotals dead = Totals(1);
  const RequestTotals answered = Totals(2);
  EXPECT_EQ(dead.total_requests(), 0u);
  EXPECT_GE(dead.connect_errors, 1u);
  EXPECT_EQ(Retries(dead, RetryReason::kConnectError), dead.connect_errors);
  EXPECT_EQ(Requests(answered, 200, HttpMethod::kGet), 10u);
  EXPECT_EQ(answered.connect_errors, 0u);
  std::uint64_t histogram = 0;
  for (auto n : answered.duration) histogram += n;
  EXPECT_EQ(histogram, 10u);
}

TEST_F(RequestCountingTest, TheProxys502CountsForTheReleaseThatFailed) {
  StartProxy({Counted(DeadBackend(), 1)});
  TestClient client = Client();
  EXPECT_EQ(client.RoundTrip(Get()).status, 502);
  ASSERT_TRUE(WaitTotal(release_counters_[1], 1));
  const RequestTotals t = Totals(1);
  EXPECT_EQ(Requests(t, 502, HttpMethod::kGet), 1u);
  EXPECT_EQ(t.connect_errors, 1u);
  EXPECT_EQ(Retries(t, RetryReason::kConnectError), 0u);  // nowhere else to go
}

TEST_F(RequestCountingTest, AnswersWithoutABackendCountInTheListenersCounters) {
  options_.local_counters = local_;
  StartProxy({});
  TestClient client = Client();
  EXPECT_EQ(client.RoundTrip(Get()).status, 503);  // no replica
  EXPECT_EQ(
      client.RoundTrip("POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 0\r\n\r\n").status,
      503);
  ASSERT_TRUE(WaitTotal(local_, 2));
  TestClient refused = Client();  // a head the proxy refuses: 400, before any method is known
  EXPECT_EQ(refused
                .RoundTrip("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                .status,
            400);
  ASSERT_TRUE(WaitTotal(local_, 3));
  const RequestTotals t = local_->Totals();
  EXPECT_EQ(Requests(t, 503, HttpMethod::kGet), 1u);
  EXPECT_EQ(Requests(t, 503, HttpMethod::kPost), 1u);
  EXPECT_EQ(Requests(t, 400, HttpMethod::kOther), 1u);
}

TEST_F(RequestCountingTest, EachMethodHasItsCounterOthersShareOne) {
  TestBackend live("live");
  StartProxy({Counted(live.MakeBackend(), 1)});
  TestClient client = Client();
  const std::pair<const char*, HttpMethod> methods[] = {
      {"GET", HttpMethod::kGet},     {"POST", HttpMethod::kPost},
      {"PUT", HttpMethod::kPut},     {"DELETE", HttpMethod::kDelete},
      {"PATCH", HttpMethod::kPatch}, {"OPTIONS", HttpMethod::kOptions},
      {"PURGE", HttpMethod::kOther}, {"PROPFIND", HttpMethod::kOther}};
  for (const auto& [name, method] : methods) {
    const std::string request =
        std::string(name) + " / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 0\r\n\r\n";
    ASSERT_EQ(client.RoundTrip(request).status, 200) << name;
  }
  client.Send("HEAD / HTTP/1.1\r\nHost: app.test\r\n\r\n");
  ASSERT_EQ(client.Read(/*head_response=*/true).status, 200);
  ASSERT_TRUE(WaitTotal(release_counters_[1], 9));
  const RequestTotals t = Totals(1);
  for (HttpMethod m : {HttpMethod::kGet, HttpMethod::kPost, HttpMethod::kPut, HttpMethod::kDelete,
                       HttpMethod::kPatch, HttpMethod::kOptions, HttpMethod::kHead}) {
    EXPECT_EQ(Requests(t, 200, m), 1u) << metrics::HttpMethodName(m);
  }
  EXPECT_EQ(Requests(t, 200, HttpMethod::kOther), 2u);
}

TEST_F(RequestCountingTest, AClientLeavingMidBodyIsAnAbortNotARequest) {
  TestBackend live("live");
  StartProxy({Counted(live.MakeBackend(), 1)});
  {
    TestClient client = Client();
    // Announces 100 KiB, sends a little, leaves: the body cannot be read whole.
    client.Send("POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 102400\r\n\r\nsome");
  }
  ASSERT_TRUE(WaitFor([&] { return Totals(1).client_aborts == 1; }));
  EXPECT_EQ(Totals(1).total_requests(), 0u);
}

}  // namespace
}  // namespace slipway::proxy::testing
