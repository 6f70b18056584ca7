#include "api/admin_server.h"

#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/un.h>

#include <cctype>
#include <optional>

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "common/log.h"

namespace slipway::api {

constexpr log::Logger kLog{"api"};

namespace asio = boost::asio;
namespace http = boost::beast::http;
using local = asio::local::stream_protocol;

namespace {

std::string UserName(unsigned uid) {
  passwd pw{};
  passwd* out = nullptr;
  char buf[4096];
  if (getpwuid_r(uid, &pw, buf, sizeof(buf), &out) == 0 && out) {
    return fmt::format("{} (uid {})", out->pw_name, uid);
  }
  return fmt::format("uid {}", uid);
}

std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool IsHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

std::map<std::string, std::string> ParseQuery(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    size_t eq = part.find('=');
    std::string_view key = part.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : part.substr(eq + 1);
    bool ok = true;
    for (size_t i = 0; i < value.size(); ++i) {
      if (value[i] == '%' &&
          (i + 2 >= value.size() || !IsHex(value[i + 1]) || !IsHex(value[i + 2]))) {
        ok = false;
      }
    }
    if (ok && !key.empty()) out[std::string(key)] = Unescape(value);
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace

struct AdminServer::Impl : std::enable_shared_from_this<Impl> {
  asio::io_context& io;
  std::string path;
  Handler handler;
  local::acceptor acceptor;

  Impl(asio::io_context& io_, std::string path_, Handler handler_)
      : io(io_), path(std::move(path_)), handler(std::move(handler_)), acceptor(io_) {}

  asio::awaitable<void> Accept() {
    auto self = shared_from_this();
    while (acceptor.is_open()) {
      boost::system::error_code ec;
      local::socket socket =
          co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        continue;
      }
      asio::co_spawn(io, Serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<ApiResponse> Dispatch(const ApiRequest& request) {
    // Bridges the callback-style handler into this coroutine.
    auto self = shared_from_this();
    auto result = std::make_shared<std::optional<ApiResponse>>();
    auto timer = std::make_shared<asio::steady_timer>(io, asio::steady_timer::time_point::max());
    try {
      handler(request, [result, timer](ApiResponse response) {
        *result = std::move(response);
        timer->cancel();
      });
    } catch (const std::exception& e) {
      // A bug in a route must not take the connection (or the daemon) down unanswered.
      kLog.Error("admin API request failed",
                 {{"method", request.method}, {"path", request.path}, {"error", e.what()}});
      if (!result->has_value()) *result = ApiResponse{500, {{"error", e.what()}}};
    }
    if (!result->has_value()) {
      boost::system::error_code ec;
      co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return std::move(**result);
  }

  asio::awaitable<void> Serve(local::socket socket) {
    auto self = shared_from_this();
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) co_return;
    boost::beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(8 << 20);
      boost::system::error_code ec;
      co_await http::async_read(socket, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      auto& req = parser.get();
      ApiRequest request;
      request.method = std::string(req.method_string());
      std::string_view target = req.target();
      size_t qm = target.find('?');
      request.path = std::string(target.substr(0, qm));
      if (qm != std::string_view::npos) request.query = ParseQuery(target.substr(qm + 1));
      request.peer_uid = cred.uid;
      request.peer = UserName(cred.uid);
      ApiResponse response;
      bool bad = false;
      if (!req.body().empty()) {
        request.body = nlohmann::json::parse(req.body(), nullptr, /*allow_exceptions=*/false);
        if (request.body.is_discarded()) {
          response = {400, {{"error", "request body is not valid JSON"}}};
          bad = true;
        }
      }
      if (!bad) response = co_await Dispatch(request);
      http::response<http::string_body> res{static_cast<http::status>(response.status),
                                            req.version()};
      res.set(http::field::content_type, "application/json");
      res.set(http::field::server, "slipway");
      res.keep_alive(req.keep_alive());
      res.body() = response.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      res.prepare_payload();
      co_await http::async_write(socket, res, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !res.keep_alive()) co_return;
    }
  }
};

AdminServer::AdminServer(asio::io_context& io, std::string socket_path, Handler handler)
    : impl_(std::make_shared<Impl>(io, std::move(socket_path), std::move(handler))) {}

AdminServer::~AdminServer() { Stop(); }

Status AdminServer::Start() {
  const std::string& path = impl_->path;
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return Error{fmt::format("socket path {} is too long ({} bytes; the limit is {})", path,
                             path.size(), sizeof(sockaddr_un::sun_path) - 1)};
  }
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    // A live daemon answers on it; a stale file from a crash does not.
    local::socket probe(impl_->io);
    boost::system::error_code ec;
    probe.connect(local::endpoint(path), ec);
    if (!ec) return Error{"another slipway daemon is already serving " + path};
    ::unlink(path.c_str());
  }
  boost::system::error_code ec;
  // umask makes the socket 0600 from its creation, not only after a chmod.
  mode_t old_mask = ::umask(0177);
  impl_->acceptor.open(local(), ec);
  if (!ec) impl_->acceptor.bind(local::endpoint(path), ec);
  ::umask(old_mask);
  if (!ec) impl_->acceptor.listen(64, ec);
  if (ec) return Error{fmt::format("admin socket {}: {}", path, ec.message())};
  ::chmod(path.c_str(), 0600);
  asio::co_spawn(impl_->io, impl_->Accept(), asio::detached);
  return Ok();
}

void AdminServer::Stop() {
  if (impl_->acceptor.is_open()) {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
    ::unlink(impl_->path.c_str());
  }
}

}  // namespace slipway::api
