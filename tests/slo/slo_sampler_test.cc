// SloSampler with a real store and a scripted traffic source on fake wall time: counts are taken
// as differences (a counter that starts again from zero included), availability is sampled once
// per second while the app is meant to serve, Stop stores what the current minute holds, and a
// new sampler on the same database (a restarted daemon) carries on from the stored minutes.
#include "slo/slo_sampler.h"

#include <stdlib.h>

#include <filesystem>

#include <gtest/gtest.h>

namespace slipway::slo {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr std::int64_t kT0 = 1'700'000'040;  // a minute boundary

class SloSamplerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "slipway-slo-sampler-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Reopen();
    traffic_.slo = spec::SloSpec{};
    traffic_.slo->error_rate = 0.01;
    traffic_.slo->availability = spec::AvailabilityObjective{.target = 0.99};
    traffic_.serving = true;
  }
  void TearDown() override {
    sampler_.reset();
    slo_store_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  void Reopen() {
    sampler_.reset();
    slo_store_.reset();
    store_.reset();
    auto opened = state::ReleaseStore::Open((dir_ / "state.db").string());
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened).value();
    slo_store_ = std::make_unique<state::SloStore>(*store_);
    sampler_ = std::make_unique<SloSampler>(
        SloSamplerEnv{.io = &io_,
                      .store = slo_store_.get(),
                      .read_traffic =
                          [this] {
                            std::map<std::string, AppTraffic> out;
                            out["web"] = traffic_;
                            return out;
                          },
                      .wall_now = [this] { return std::chrono::system_clock::time_point(now_); }});
  }
  nlohmann::json Window(const std::string& slo, const std::string& window = "1h") {
    const nlohmann::json report = sampler_->ReportJson("web");
    for (const auto& o : report["objectives"]) {
      if (o["slo"] != slo) continue;
      for (const auto& w : o["windows"]) {
        if (w["window"] == window) return w;
      }
    }
    return nullptr;
  }

  boost::asio::io_context io_;
  fs::path dir_;
  std::unique_ptr<state::ReleaseStore> store_;
  std::unique_ptr<state::SloStore> slo_store_;
  std::unique_ptr<SloSampler> sampler_;
  AppTraffic traffic_;
  std::chrono::system_clock::duration now_ = std::chrono::seconds(kT0 + 10);
};

TEST_F(SloSamplerTest, CountsDifferencesAndSurvivesARestart) {
  ASSERT_TRUE(sampler_->Start().ok());
  traffic_.requests = 600;
  traffic_.errors = 3;
  now_ += 1s;
  sampler_->Sample();
  traffic_.requests = 1000;
  traffic_.errors = 7;
  now_ += 1s;
  nlohmann::json w = Window("error_rate");
  EXPECT_EQ(w["total"], 1000);
  EXPECT_EQ(w["bad"], 7);
  EXPECT_DOUBLE_EQ(w["sli"].get<double>(), 0.993);
  EXPECT_NEAR(w["error_budget_remaining"].get<double>(), 0.3, 1e-12);
  // Availability: three seconds looked at (start, two samples), all with a ready replica.
  EXPECT_EQ(Window("availability")["total"], 1);
  EXPECT_EQ(Window("availability")["bad"], 0);

  sampler_->Stop();  // SIGTERM: the current minute is stored
  now_ += 30s;
  Reopen();
  traffic_.requests = 10;  // the new daemon's counters start from zero
  traffic_.errors = 1;
  ASSERT_TRUE(sampler_->Start().ok());
  w = Window("error_rate");
  EXPECT_EQ(w["total"], 1010);
  EXPECT_EQ(w["bad"], 8);
  EXPECT_EQ(Window("error_rate", "30d")["total"], 1010);
}

TEST_F(SloSamplerTest, ADownSecondMakesItsMinuteBadAndUnservedSecondsDoNotCount) {
  traffic_.serving = false;  // no release has served yet
  ASSERT_TRUE(sampler_->Start().ok());
  EXPECT_EQ(Window("availability")["total"], 0);
  EXPECT_TRUE(Window("availability")["sli"].is_null()) << "no data is not 100%";
  traffic_.serving = true;
  traffic_.down = true;
  now_ += 1s;
  sampler_->Sample();
  traffic_.down = false;
  now_ += 60s;  // the next minute, served throughout so far
  sampler_->Sample();
  nlohmann::json w = Window("availability");
  EXPECT_EQ(w["total"], 2);
  EXPECT_EQ(w["bad"], 1);
  EXPECT_DOUBLE_EQ(w["sli"].get<double>(), 0.5);
  EXPECT_NEAR(w["burn_rate"].get<double>(), 50, 1e-9);
}

TEST_F(SloSamplerTest, MetricsLeaveOutWindowsWithoutData) {
  ASSERT_TRUE(sampler_->Start().ok());
  metrics::ExpositionWriter out;
  sampler_->WriteMetrics(out);
  const std::string page = out.Text();
  EXPECT_NE(page.find("slipway_slo_objective_ratio{app=\"web\",slo=\"error_rate\"} 0.99\n"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("slipway_slo_events{app=\"web\",slo=\"error_rate\",window=\"1h\"} 0\n"),
            std::string::npos);
  EXPECT_EQ(page.find("slipway_slo_sli_ratio{app=\"web\",slo=\"error_rate\""), std::string::npos);
  // Availability has its first minute (served so far): an SLI of 1.
  EXPECT_NE(page.find("slipway_slo_sli_ratio{app=\"web\",slo=\"availability\",window=\"1h\"} 1\n"),
            std::string::npos);
}

}  // namespace
}  // namespace slipway::slo
