// Shared by the alerts tests: a temporary state store, a scripted poster, and running an
// io_context until a condition holds (never a fixed sleep).
#pragma once

#include <stdlib.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "alerts/webhook_poster.h"
#include "state/release_store.h"

namespace slipway::alerts::testing {

class TempStore {
 public:
  TempStore() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "slipway-alerts-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp";
    dir_ = tmpl;
    Reopen();
  }
  ~TempStore() {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Closes and opens the database again, as a restarted daemon does.
  void Reopen() {
    store_.reset();
    auto opened = state::ReleaseStore::Open((dir_ / "state.db").string());
    if (!opened) {
      ADD_FAILURE() << opened.error().message;
      return;
    }
    store_ = std::move(opened).value();
  }
  state::ReleaseStore& operator*() { return *store_; }
  state::ReleaseStore* operator->() { return store_.get(); }
  state::ReleaseStore* get() { return store_.get(); }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<state::ReleaseStore> store_;
};

// Answers each Post with the next scripted result (delivered once the script runs out), or
// holds it until Release() when `hold` is set.
class ScriptedPoster : public WebhookPoster {
 public:
  struct Call {
    std::string url;
    std::string body;
    std::chrono::steady_clock::time_point at;
  };
  void Post(const std::string& url, std::string body, std::chrono::milliseconds,
            std::function<void(PostResult)> done) override {
    calls.push_back({url, std::move(body), std::chrono::steady_clock::now()});
    if (hold) {
      held.push_back(std::move(done));
      return;
    }
    PostResult result{PostResult::Outcome::kDelivered, "HTTP 200"};
    if (!script.empty()) {
      result = script.front();
      script.pop_front();
    }
    done(result);
  }
  void Release(PostResult result) {
    auto done = std::move(held.front());
    held.pop_front();
    done(result);
  }
  std::deque<PostResult> script;
  std::vector<Call> calls;
  bool hold = false;
  std::deque<std::function<void(PostResult)>> held;
};

inline PostResult Refused() { return {PostResult::Outcome::kRetry, "connect: Connection refused"}; }

template <typename Pred>
bool RunUntil(boost::asio::io_context& io, Pred done,
              std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_one_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace slipway::alerts::testing
