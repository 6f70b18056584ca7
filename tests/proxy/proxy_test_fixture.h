// A ProxyServer with one listener ("hello" on 127.0.0.1:0) over a pool the test controls.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "proxy/proxy_server.h"
#include "test_backend.h"

namespace slipway::proxy::testing {

class ProxyTest : public ::testing::Test {
 protected:
  void StartProxy(BackendList backends, int threads = 1) {
    pool_->Publish(std::move(backends));
    server_ = std::make_unique<ProxyServer>(threads);
    options_.app = "hello";
    options_.listen = "127.0.0.1:0";
    options_.pool = pool_;
    Status added = server_->AddListener(options_);
    ASSERT_TRUE(added.ok()) << added.error().message;
    std::string bound = server_->BoundAddress("hello");
    port_ = static_cast<std::uint16_t>(std::stoi(bound.substr(bound.rfind(':') + 1)));
  }
  TestClient Client() const { return TestClient(port_); }

  // What StartProxy's listener is given beyond its app, address and pool: tests set limits,
  // timeouts and the like here first.
  ListenerOptions options_;
  std::shared_ptr<BackendPool> pool_ = std::make_shared<BackendPool>();
  std::unique_ptr<ProxyServer> server_;
  std::uint16_t port_ = 0;
};

}  // namespace slipway::proxy::testing
