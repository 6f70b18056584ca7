// WebhookPoster: one HTTP POST of a notification body to a receiver. HttpWebhookPoster does it
// with Beast on the controller's io_context (no thread, no blocking call); tests swap in a fake.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace boost::asio {
class io_context;
}

namespace slipway::alerts {

struct PostResult {
  enum class Outcome {
    kDelivered,  // 2xx
    kRetry,      // no answer (connect error, timeout, broken connection), 408, 429 or 5xx
    kRejected,   // any other answer (4xx, 3xx): the same body would be refused again
  };
  Outcome outcome = Outcome::kRetry;
  std::string detail;  // "HTTP 200", "connect: Connection refused", "timeout after 10s"
};

class WebhookPoster {
 public:
  virtual ~WebhookPoster() = default;
  // POSTs `body` (JSON) to `url` (an http:// URL the spec accepted). `done` runs exactly once,
  // from the io_context, within about `timeout`.
  virtual void Post(const std::string& url, std::string body, std::chrono::milliseconds timeout,
                    std::function<void(PostResult)> done) = 0;
};

class HttpWebhookPoster : public WebhookPoster {
 public:
  // `io` must outlive the poster and every Post in flight.
  explicit HttpWebhookPoster(boost::asio::io_context& io) : io_(io) {}
  void Post(const std::string& url, std::string body, std::chrono::milliseconds timeout,
            std::function<void(PostResult)> done) override;

 private:
  boost::asio::io_context& io_;
};

}  // namespace slipway::alerts
