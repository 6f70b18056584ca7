#include "common/http_head_exchange.h"

namespace slipway {

std::string DescribeStepFailure(const boost::system::error_code& ec, const char* step,
                                Millis timeout) {
  if (ec == boost::beast::error::timeout) return "timeout after " + FormatDuration(timeout);
  return std::string(step) + ": " + ec.message();
}

}  // namespace slipway
