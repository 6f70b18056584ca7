// A webhook receiver for the poster's tests: HTTP/1.1 on 127.0.0.1:0, driven by the test's
// io_context; records each request and answers with `status` (or never, when silent).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

namespace slipway::alerts::testing {

class WebhookReceiver {
 public:
  struct Request {
    std::string method;
    std::string target;
    std::string host;
    std::string content_type;
    std::string body;
  };
  explicit WebhookReceiver(boost::asio::io_context& io);
  ~WebhookReceiver();
  std::uint16_t port() const;
  void set_status(unsigned status);  // 200 unless set
  void set_silent(bool silent);      // read the request, never answer
  const std::vector<Request>& requests() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace slipway::alerts::testing
