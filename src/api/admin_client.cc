#include "api/admin_client.h"

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace slipway::api {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using local = asio::local::stream_protocol;

struct AdminClient::Impl {
  std::string path;
  asio::io_context io;
  local::socket socket{io};
  boost::beast::flat_buffer buffer;

  Status Connect() {
    if (socket.is_open()) return Ok();
    boost::system::error_code ec;
    socket.connect(local::endpoint(path), ec);
    if (!ec) return Ok();
    socket.close();
    if (ec == boost::system::errc::no_such_file_or_directory ||
        ec == boost::system::errc::connection_refused) {
      return Error{
          fmt::format("the slipway daemon is not running (nothing answers on {}); start it with "
                      "`slipway daemon --state-dir DIR`",
                      path)};
    }
    return Error{fmt::format("cannot reach the slipway daemon at {}: {}", path, ec.message())};
  }
};

AdminClient::AdminClient(std::string socket_path) : impl_(std::make_unique<Impl>()) {
  impl_->path = std::move(socket_path);
}

AdminClient::~AdminClient() = default;

Result<ApiResponse> AdminClient::Call(const std::string& method, const std::string& target,
                                      const nlohmann::json& body) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = impl_->socket.is_open();
    if (Status st = impl_->Connect(); !st) return st.error();
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "slipway");
    req.set(http::field::user_agent, "slipway-cli");
    if (!body.is_null()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body.dump();
    }
    req.keep_alive(true);
    req.prepare_payload();
    boost::system::error_code ec;
    http::write(impl_->socket, req, ec);
    http::response<http::string_body> res;
    if (!ec) http::read(impl_->socket, impl_->buffer, res, ec);
    if (ec) {
      impl_->socket.close();
      impl_->buffer.clear();
      if (reused) continue;  // the daemon closed an idle connection: one fresh try
      return Error{fmt::format("lost the connection to the slipway daemon: {}", ec.message())};
    }
    if (!res.keep_alive()) impl_->socket.close();
    ApiResponse out;
    out.status = res.result_int();
    out.body = nlohmann::json::parse(res.body(), nullptr, false);
    if (out.body.is_discarded()) {
      return Error{fmt::format("the daemon answered {} with a body that is not JSON", out.status)};
    }
    return out;
  }
  return Error{"lost the connection to the slipway daemon"};
}

}  // namespace slipway::api
