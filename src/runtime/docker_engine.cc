#include "runtime/docker_engine.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <limits>
#include <utility>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "common/duration.h"
#include "runtime/docker_stream.h"

namespace slipway::runtime {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = asio::local::stream_protocol;
using boost::system::error_code;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxErrorBody = 64 * 1024;
constexpr std::size_t kReadChunk = 16 * 1024;

// Docker answers errors as {"message": "..."}.
std::string EngineMessage(unsigned status, const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    return j["message"].get<std::string>();
  }
  std::string text = body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return fmt::format("Docker engine answered HTTP {}{}", status, text.empty() ? "" : ": " + text);
}

struct Exchange : DockerEngine::Stream {
  explicit Exchange(asio::io_context& io) : socket(io), timer(io) {}

  void Cancel() override {
    cancelled = true;
    error_code ignored;
    socket.close(ignored);
    timer.cancel();
  }

  void Finish(Status st) {
    timer.cancel();
    auto end = std::move(handlers.on_end);
    handlers = {};
    if (!cancelled && end) end(std::move(st));
  }

  // What went wrong with the connection, in words.
  Status Broken(const char* step, const error_code& ec) const {
    if (timed_out) {
      return Error{fmt::format("Docker engine at {}: no answer within {}", socket_path,
                               FormatDuration(timeout))};
    }
    return Error{fmt::format("cannot reach the Docker engine at {}: {}: {}", socket_path, step,
                             ec.message())};
  }

  local::socket socket;
  asio::steady_timer timer;
  std::string socket_path;
  std::chrono::milliseconds timeout{0};
  bool cancelled = false;
  bool timed_out = false;
  DockerEngine::StreamHandlers handlers;
};

asio::awaitable<void> RunExchange(std::shared_ptr<Exchange> x, std::string method,
                                  std::string target, std::string body, std::string content_type,
                                  std::string registry_auth) {
  auto [connect_ec] = co_await x->socket.async_connect(local::endpoint(x->socket_path), kUseTuple);
  if (x->cancelled) co_return;
  if (connect_ec) {
    x->Finish(x->Broken("connect", connect_ec));
    co_return;
  }
  http::request<http::string_body> request;
  request.method(http::string_to_verb(method));
  request.target(target);
  request.version(11);
  request.set(http::field::host, "docker");
  request.set(http::field::user_agent, "slipway");
  if (!content_type.empty()) request.set(http::field::content_type, content_type);
  if (!registry_auth.empty()) request.set("X-Registry-Auth", registry_auth);
  request.body() = std::move(body);
  request.prepare_payload();
  auto [write_ec, written] = co_await http::async_write(x->socket, request, kUseTuple);
  if (x->cancelled) co_return;
  if (write_ec) {
    x->Finish(x->Broken("write", write_ec));
    co_return;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  auto [head_ec, head_read] =
      co_await http::async_read_header(x->socket, buffer, parser, kUseTuple);
  if (x->cancelled) co_return;
  if (head_ec) {
    x->Finish(x->Broken("read", head_ec));
    co_return;
  }
  const unsigned status = parser.get().result_int();
  const bool ok = status / 100 == 2;
  if (ok && x->handlers.on_head) {
    x->handlers.on_head(status);
    if (x->cancelled) co_return;
  }
  std::string error_body;
  std::string chunk(kReadChunk, '\0');
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    auto [read_ec, read] = co_await http::async_read_some(x->socket, buffer, parser, kUseTuple);
    if (x->cancelled) co_return;
    if (read_ec == http::error::need_buffer) read_ec = {};
    if (read_ec) {
      x->Finish(x->Broken("read", read_ec));
      co_return;
    }
    std::size_t got = chunk.size() - parser.get().body().size;
    if (got == 0) continue;
    if (ok) {
      if (x->handlers.on_data) x->handlers.on_data(std::string_view(chunk.data(), got));
      if (x->cancelled) co_return;
    } else if (error_body.size() < kMaxErrorBody) {
      error_body.append(chunk.data(), got);
    }
  }
  if (ok) {
    x->Finish(Ok());
  } else {
    x->Finish(Error{EngineMessage(status, error_body)});
  }
}

}  // namespace

Result<std::string> DockerEngine::SocketPathOf(const std::string& host) {
  constexpr std::string_view kUnix = "unix://";
  if (!host.starts_with(kUnix) || host.size() <= kUnix.size() || host[kUnix.size()] != '/') {
    return Error{"docker host \"" + host +
                 "\": only a Unix socket is supported (unix:///path/to/docker.sock)"};
  }
  return host.substr(kUnix.size());
}

std::string DockerEngine::DefaultHost() {
  const char* env = std::getenv("DOCKER_HOST");
  return env && *env ? std::string(env) : std::string("unix:///var/run/docker.sock");
}

DockerEngine::DockerEngine(asio::io_context& io, std::string socket_path)
    : io_(io), socket_path_(std::move(socket_path)) {}

std::shared_ptr<DockerEngine::Stream> DockerEngine::Open(std::string method, std::string path,
                                                         std::string body, std::string content_type,
                                                         StreamHandlers handlers,
                                                         std::chrono::milliseconds timeout) {
  return OpenWithAuth(std::move(method), std::move(path), std::move(body), std::move(content_type),
                      "", std::move(handlers), timeout);
}

std::shared_ptr<DockerEngine::Stream> DockerEngine::OpenWithAuth(
    std::string method, std::string path, std::string body, std::string content_type,
    std::string registry_auth, StreamHandlers handlers, std::chrono::milliseconds timeout) {
  auto x = std::make_shared<Exchange>(io_);
  x->socket_path = socket_path_;
  x->timeout = timeout;
  x->handlers = std::move(handlers);
  if (timeout.count() > 0) {
    x->timer.expires_after(timeout);
    x->timer.async_wait([w = std::weak_ptr<Exchange>(x)](error_code ec) {
      auto self = w.lock();
      if (ec || !self) return;
      self->timed_out = true;
      error_code ignored;
      self->socket.close(ignored);
    });
  }
  std::string target = fmt::format("/v{}{}", kApiVersion, path);
  asio::co_spawn(io_,
                 RunExchange(x, std::move(method), std::move(target), std::move(body),
                             std::move(content_type), std::move(registry_auth)),
                 [x](std::exception_ptr error) {
                   if (!error) return;
                   std::string what = "unexpected error";
                   try {
                     std::rethrow_exception(error);
                   } catch (const std::exception& e) {
                     what = e.what();
                   } catch (...) {
                   }
                   x->Finish(Error{"Docker engine request failed: " + what});
                 });
  return x;
}

void DockerEngine::Call(const std::string& method, const std::string& path,
                        const nlohmann::json& body, JsonDone done,
                        std::chrono::milliseconds timeout) {
  auto answer = std::make_shared<std::string>();
  StreamHandlers h;
  h.on_data = [answer](std::string_view bytes) { answer->append(bytes); };
  h.on_end = [answer, done = std::move(done)](Status st) {
    if (!st) return done(st.error());
    if (answer->empty()) return done(nlohmann::json());
    auto j = nlohmann::json::parse(*answer, nullptr, false);
    if (j.is_discarded()) return done(Error{"Docker engine answered with invalid JSON"});
    done(std::move(j));
  };
  std::string text = body.is_null() ? std::string() : body.dump();
  Open(method, path, std::move(text), body.is_null() ? "" : "application/json", std::move(h),
       timeout);
}

void DockerEngine::Ping(std::function<void(Status)> done) {
  StreamHandlers h;
  h.on_end = std::move(done);
  Open("GET", "/_ping", "", "", std::move(h), kCallTimeout);
}

void DockerEngine::CheckVersion(JsonDone done) {
  Call("GET", "/version", nullptr, [done = std::move(done)](Result<nlohmann::json> v) {
    if (!v) return done(v);
    std::string min = v->value("MinAPIVersion", "1.12");
    std::string max = v->value("ApiVersion", "");
    auto number = [](const std::string& s) {
      auto dot = s.find('.');
      if (dot == std::string::npos) return 0;
      return std::atoi(s.substr(0, dot).c_str()) * 1000 + std::atoi(s.substr(dot + 1).c_str());
    };
    const int want = number(kApiVersion);
    if (max.empty() || number(max) < want || number(min) > want) {
      return done(
          Error{fmt::format("the Docker engine {} speaks API {}..{}; Slipway needs API {}",
                            v->value("Version", "?"), min, max.empty() ? "?" : max, kApiVersion)});
    }
    done(std::move(v));
  });
}

void DockerEngine::InspectImage(const std::string& ref, JsonDone done) {
  Call("GET", "/images/" + ref + "/json", nullptr, std::move(done));
}

void DockerEngine::InspectContainer(const std::string& id_or_name, JsonDone done) {
  Call("GET", "/containers/" + id_or_name + "/json", nullptr, std::move(done));
}

void DockerEngine::ListContainers(const std::map<std::string, std::string>& labels, JsonDone done) {
  nlohmann::json filter = nlohmann::json::array();
  for (const auto& [k, v] : labels) filter.push_back(k + "=" + v);
  nlohmann::json filters{{"label", filter}};
  Call("GET", "/containers/json?all=1&filters=" + QueryEscape(filters.dump()), nullptr,
       std::move(done));
}

void DockerEngine::CreateContainer(const std::string& name, const nlohmann::json& config,
                                   std::function<void(Result<std::string>)> done) {
  Call("POST", "/containers/create?name=" + QueryEscape(name), config,
       [done = std::move(done)](Result<nlohmann::json> r) {
         if (!r) return done(r.error());
         if (!r->is_object() || !r->contains("Id")) {
           return done(Error{"Docker engine: create answered without an Id"});
         }
         done((*r)["Id"].get<std::string>());
       });
}

void DockerEngine::StartContainer(const std::string& id, std::function<void(Status)> done) {
  Call("POST", "/containers/" + id + "/start", nullptr,
       [done = std::move(done)](Result<nlohmann::json> r) { done(r ? Ok() : Status(r.error())); });
}

void DockerEngine::KillContainer(const std::string& id, const std::string& signal,
                                 std::function<void(Status)> done) {
  Call("POST", "/containers/" + id + "/kill?signal=" + QueryEscape(signal), nullptr,
       [done = std::move(done)](Result<nlohmann::json> r) {
         // 409: "Container ... is not running" - it is already where a kill would bring it.
         if (!r && r.error().message.find("is not running") != std::string::npos) return done(Ok());
         done(r ? Ok() : Status(r.error()));
       });
}

void DockerEngine::RemoveContainer(const std::string& id, bool force,
                                   std::function<void(Status)> done) {
  Call("DELETE", "/containers/" + id + (force ? "?force=1&v=0" : "?v=0"), nullptr,
       [done = std::move(done)](Result<nlohmann::json> r) {
         if (!r && (r.error().message.starts_with("No such container") ||
                    r.error().message.find("is already in progress") != std::string::npos)) {
           return done(Ok());
         }
         done(r ? Ok() : Status(r.error()));
       });
}

Status DockerEngine::RemoveContainerNow(const std::string& id) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{std::string("socket: ") + std::strerror(errno)};
  struct timeval tv {};
  tv.tv_sec = kBlockingTimeout.count() / 1000;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof addr.sun_path) {
    ::close(fd);
    return Error{"socket path too long: " + socket_path_};
  }
  std::memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    Status st = Error{fmt::format("cannot reach the Docker engine at {}: connect: {}", socket_path_,
                                  std::strerror(errno))};
    ::close(fd);
    return st;
  }
  std::string request = fmt::format(
      "DELETE /v{}/containers/{}?force=1&v=0 HTTP/1.1\r\nHost: docker\r\nConnection: "
      "close\r\n\r\n",
      kApiVersion, id);
  std::string answer;
  if (::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0 && answer.size() < 64 * 1024) {
      answer.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  // "HTTP/1.1 204 No Content": 2xx or 404 (already gone) is success.
  if (answer.size() < 12) return Error{"Docker engine: no answer to DELETE " + id};
  int status = std::atoi(answer.substr(9, 3).c_str());
  if (status / 100 == 2 || status == 404) return Ok();
  return Error{fmt::format("Docker engine answered HTTP {} to removing {}", status, id)};
}

std::shared_ptr<DockerEngine::Stream> DockerEngine::WaitContainer(
    const std::string& id, const std::string& condition, std::function<void()> on_waiting,
    std::function<void(Result<int>)> on_exit) {
  auto answer = std::make_shared<std::string>();
  StreamHandlers h;
  h.on_head = [on_waiting = std::move(on_waiting)](unsigned) {
    if (on_waiting) on_waiting();
  };
  h.on_data = [answer](std::string_view bytes) { answer->append(bytes); };
  h.on_end = [answer, on_exit = std::move(on_exit)](Status st) {
    if (!st) return on_exit(st.error());
    auto j = nlohmann::json::parse(*answer, nullptr, false);
    if (!j.is_object() || !j.contains("StatusCode")) {
      return on_exit(Error{"Docker engine: wait answered without a StatusCode"});
    }
    if (j.contains("Error") && j["Error"].is_object() && j["Error"].contains("Message") &&
        !j["Error"]["Message"].get<std::string>().empty()) {
      return on_exit(Error{j["Error"]["Message"].get<std::string>()});
    }
    on_exit(j["StatusCode"].get<int>());
  };
  return Open("POST", "/containers/" + id + "/wait?condition=" + QueryEscape(condition), "", "",
              std::move(h), std::chrono::milliseconds(0));
}

std::shared_ptr<DockerEngine::Stream> DockerEngine::FollowLogs(
    const std::string& id, const std::string& since,
    std::function<void(std::string_view bytes)> on_bytes, std::function<void(Status)> on_end) {
  StreamHandlers h;
  h.on_data = std::move(on_bytes);
  h.on_end = std::move(on_end);
  std::string path = "/containers/" + id + "/logs?follow=1&stdout=1&stderr=1&timestamps=1";
  if (!since.empty()) path += "&since=" + since;
  return Open("GET", path, "", "", std::move(h), std::chrono::milliseconds(0));
}

namespace {
// Progress objects, one per line; the first error object ends the operation with its message.
struct ProgressReader {
  LineSplitter lines;
  std::optional<std::string> error;
  std::string image_id;  // from {"aux":{"ID":...}} (build)
  std::string digest;    // from {"aux":{"Digest":...}} (push)
  std::function<void(const std::string&)> on_progress;
  std::function<void(const nlohmann::json&)> on_object;  // instead of on_progress (pull)

  void Feed(std::string_view bytes) {
    lines.Feed(bytes, [this](std::string_view line) { Line(line); });
  }
  void Line(std::string_view line) {
    if (line.empty()) return;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) return;
    if (auto e = ProgressError(j)) {
      if (!error) error = *e;
      return;
    }
    if (j.contains("aux") && j["aux"].is_object() && j["aux"].contains("ID")) {
      image_id = j["aux"]["ID"].get<std::string>();
    }
    if (j.contains("aux") && j["aux"].is_object() && j["aux"].contains("Digest") &&
        j["aux"]["Digest"].is_string()) {
      digest = j["aux"]["Digest"].get<std::string>();
    }
    if (on_object) return on_object(j);
    std::string text = DescribeProgress(j);
    if (!text.empty() && on_progress) on_progress(text);
  }
};
}  // namespace

void DockerEngine::PullImage(const std::string& ref, const std::string& registry_auth,
                             std::function<void(const std::string& line)> on_progress,
                             std::function<void(Status)> done) {
  auto reader = std::make_shared<ProgressReader>();
  auto tally = std::make_shared<PullProgress>(ref);
  auto shown = std::make_shared<std::function<void(const std::string&)>>(std::move(on_progress));
  reader->on_object = [tally, shown](const nlohmann::json& j) {
    if (auto line = tally->Feed(j, PullProgress::Clock::now()); line && *shown) (*shown)(*line);
  };
  auto [name, tag] = SplitImageReference(ref);
  StreamHandlers h;
  h.on_data = [reader](std::string_view bytes) { reader->Feed(bytes); };
  h.on_end = [reader, tally, shown, done = std::move(done), ref](Status st) {
    if (auto last = reader->lines.Flush()) reader->Line(*last);
    if (st && reader->error) st = Error{"pull " + ref + ": " + *reader->error};
    reader->on_object = nullptr;
    if (st && *shown) (*shown)(tally->Done());
    *shown = nullptr;
    done(std::move(st));
  };
  OpenWithAuth("POST", "/images/create?fromImage=" + QueryEscape(name) + "&tag=" + QueryEscape(tag),
               "", "", registry_auth, std::move(h), std::chrono::minutes(30));
}

void DockerEngine::BuildImage(std::string context_tar, const BuildParams& params,
                              std::function<void(const std::string& line)> on_progress,
                              std::function<void(Result<std::string>)> done) {
  auto reader = std::make_shared<ProgressReader>();
  reader->on_progress = std::move(on_progress);
  StreamHandlers h;
  h.on_data = [reader](std::string_view bytes) { reader->Feed(bytes); };
  h.on_end = [reader, done = std::move(done)](Status st) {
    if (auto last = reader->lines.Flush()) reader->Line(*last);
    reader->on_progress = nullptr;
    if (!st) return done(st.error());
    if (reader->error) return done(Error{"build: " + *reader->error});
    if (reader->image_id.empty()) return done(Error{"build: the engine named no image"});
    done(reader->image_id);
  };
  std::string path = "/build?rm=1&forcerm=1";
  if (!params.tag.empty()) path += "&t=" + QueryEscape(params.tag);
  if (!params.dockerfile.empty()) path += "&dockerfile=" + QueryEscape(params.dockerfile);
  if (!params.build_args.empty()) {
    nlohmann::json args = nlohmann::json::object();
    for (const auto& [k, v] : params.build_args) args[k] = v;
    path += "&buildargs=" + QueryEscape(args.dump());
  }
  Open("POST", path, std::move(context_tar), "application/x-tar", std::move(h),
       std::chrono::minutes(30));
}

void DockerEngine::PushImage(const std::string& ref, const std::string& registry_auth,
                             std::function<void(const std::string& line)> on_progress,
                             std::function<void(Result<std::string>)> done) {
  auto reader = std::make_shared<ProgressReader>();
  reader->on_progress = std::move(on_progress);
  auto [name, tag] = SplitImageReference(ref);
  StreamHandlers h;
  h.on_data = [reader](std::string_view bytes) { reader->Feed(bytes); };
  h.on_end = [reader, done = std::move(done), ref](Status st) {
    if (auto last = reader->lines.Flush()) reader->Line(*last);
    reader->on_progress = nullptr;
    if (!st) return done(st.error());
    if (reader->error) return done(Error{"push " + ref + ": " + *reader->error});
    if (reader->digest.empty()) return done(Error{"push " + ref + ": the engine named no digest"});
    done(reader->digest);
  };
  // No credentials: "{}" in base64 (the engine refuses a push without the header).
  OpenWithAuth("POST", "/images/" + name + "/push?tag=" + QueryEscape(tag), "", "",
               registry_auth.empty() ? std::string("e30=") : registry_auth, std::move(h),
               std::chrono::minutes(30));
}

std::string RegistryAuth(const std::string& server, const std::string& username,
                         const std::string& password) {
  const std::string json =
      nlohmann::json{{"username", username}, {"password", password}, {"serveraddress", server}}
          .dump();
  std::string out(4 * ((json.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(json.data()),
                          static_cast<int>(json.size()));
  out.resize(static_cast<std::size_t>(n));
  // base64url, as the engine decodes it.
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

Result<std::string> RegistryAuthFromFile(const std::string& server, const std::string& username,
                                         const std::string& password_file) {
  struct stat st {};
  if (::stat(password_file.c_str(), &st) != 0) {
    return Error{fmt::format("registry password file {}: {}", password_file, std::strerror(errno))};
  }
  if (!S_ISREG(st.st_mode)) {
    return Error{"registry password file " + password_file + " is not a regular file"};
  }
  if ((st.st_mode & 077) != 0) {
    return Error{
        fmt::format("registry password file {} is readable by others (mode {:o}); chmod 600 it",
                    password_file, st.st_mode & 0777)};
  }
  std::ifstream in(password_file, std::ios::binary);
  std::string password;
  std::getline(in, password);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) return Error{"registry password file " + password_file + " is empty"};
  return RegistryAuth(server, username, password);
}

std::pair<std::string, std::string> SplitImageReference(const std::string& ref) {
  if (auto at = ref.find('@'); at != std::string::npos) {
    return {ref.substr(0, at), ref.substr(at + 1)};
  }
  // A ':' after the last '/' separates the tag (one before it is a registry's port).
  auto slash = ref.rfind('/');
  auto colon = ref.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    return {ref.substr(0, colon), ref.substr(colon + 1)};
  }
  return {ref, "latest"};
}

std::string QueryEscape(std::string_view value) {
  std::string out;
  for (unsigned char c : value) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace slipway::runtime
