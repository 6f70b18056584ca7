// DockerEngine: a client of the Docker Engine API over its Unix socket (HTTP/1.1 + JSON), on the
// controller's io_context: every call is asynchronous, its callback runs on that io_context,
// and each call uses its own connection (streams such as logs or wait hold theirs open). The API
// version is pinned (kApiVersion, what Docker 20.10 speaks); CheckVersion() confirms the engine
// serves it. Errors carry Docker's own message ("No such image: hello:v9"); a refused connection
// says which socket could not be reached.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace boost::asio {
class io_context;
}

namespace slipway::runtime {

class DockerEngine {
 public:
  static constexpr const char* kApiVersion = "1.41";
  static constexpr std::chrono::milliseconds kCallTimeout{30'000};

  // "unix:///var/run/docker.sock" -> "/var/run/docker.sock"; an Error for any other form.
  static Result<std::string> SocketPathOf(const std::string& host);
  // DOCKER_HOST when set, else unix:///var/run/docker.sock.
  static std::string DefaultHost();

  // `io` must outlive the engine and every call in flight.
  DockerEngine(boost::asio::io_context& io, std::string socket_path);
  const std::string& socket_path() const { return socket_path_; }
  boost::asio::io_context& io() const { return io_; }  // where every callback runs

  // A request in progress whose answer is read as it arrives. Cancel() closes its connection;
  // after it no handler runs. Dropping the last reference does not cancel it.
  class Stream {
   public:
    virtual ~Stream() = default;
    virtual void Cancel() = 0;
  };
  struct StreamHandlers {
    std::function<void(unsigned status)> on_head;         // a 2xx status arrived (optional)
    std::function<void(std::string_view bytes)> on_data;  // body bytes, chunking removed
    std::function<void(Status end)> on_end;               // once: Ok at the end of the body
  };
  // `path` without the version prefix ("/containers/json?all=1"); `timeout` bounds the whole
  // exchange (zero: none, for streams that last as long as a container).
  std::shared_ptr<Stream> Open(std::string method, std::string path, std::string body,
                               std::string content_type, StreamHandlers handlers,
                               std::chrono::milliseconds timeout);

  using JsonDone = std::function<void(Result<nlohmann::json>)>;
  // One request with a JSON (or empty) body; the answer's body parsed (null when empty).
  void Call(const std::string& method, const std::string& path, const nlohmann::json& body,
            JsonDone done, std::chrono::milliseconds timeout = kCallTimeout);

  // GET /_ping.
  void Ping(std::function<void(Status)> done);
  // GET /version, then checks that the engine serves kApiVersion; the engine's version object.
  void CheckVersion(JsonDone done);
  void InspectImage(const std::string& ref, JsonDone done);
  void InspectContainer(const std::string& id_or_name, JsonDone done);
  // Containers (stopped ones too) carrying every `labels` key=value.
  void ListContainers(const std::map<std::string, std::string>& labels, JsonDone done);
  // POST /containers/create?name=NAME with `config`; the new container's ID.
  void CreateContainer(const std::string& name, const nlohmann::json& config,
                       std::function<void(Result<std::string>)> done);
  void StartContainer(const std::string& id, std::function<void(Status)> done);
  // POST /kill?signal=SIGTERM; a container that is not running is not an error.
  void KillContainer(const std::string& id, const std::string& signal,
                     std::function<void(Status)> done);
  // DELETE /containers/ID (force: kill first); a container already gone is not an error.
  void RemoveContainer(const std::string& id, bool force, std::function<void(Status)> done);
  // The same as RemoveContainer(id, force=true) but blocking, bounded by kBlockingTimeout: only
  // for teardown paths where the io_context no longer runs (destructors).
  static constexpr std::chrono::milliseconds kBlockingTimeout{5'000};
  Status RemoveContainerNow(const std::string& id);
  // POST /containers/ID/wait?condition=...: `on_waiting` once the engine watches the container
  // (start it only then, or a quick exit can be missed), `on_exit` with its exit code.
  std::shared_ptr<Stream> WaitContainer(const std::string& id, const std::string& condition,
                                        std::function<void()> on_waiting,
                                        std::function<void(Result<int>)> on_exit);
  // GET /containers/ID/logs?follow=1&timestamps=1[&since=S]: raw multiplexed bytes (see
  // MultiplexDecoder); ends when the container stops.
  std::shared_ptr<Stream> FollowLogs(const std::string& id, const std::string& since,
                                     std::function<void(std::string_view bytes)> on_bytes,
                                     std::function<void(Status)> on_end);
  // POST /images/create?fromImage=REF; `registry_auth` is an X-Registry-Auth value (see
  // RegistryAuth) or "" for none. Progress comes folded into concise lines (PullProgress:
  // "pulling REF: 2/3 layers, 4.1 MB"), the last one "pulled REF: ..." when it succeeded.
  void PullImage(const std::string& ref, const std::string& registry_auth,
                 std::function<void(const std::string& line)> on_progress,
                 std::function<void(Status)> done);
  // What a build reads besides its context.
  struct BuildParams {
    std::string tag;
    std::string dockerfile;                         // path inside the context; "": Dockerfile
    std::map<std::string, std::string> build_args;  // ARG values
  };
  // POST /build?t=TAG&dockerfile=...&buildargs=... with a tar context; the built image's ID.
  void BuildImage(std::string context_tar, const BuildParams& params,
                  std::function<void(const std::string& line)> on_progress,
                  std::function<void(Result<std::string>)> done);

  // POST /images/NAME/push?tag=TAG with `registry_auth` ("": empty credentials, for a registry
  // without auth); the pushed manifest's digest ("sha256:..."), from the stream's aux object.
  void PushImage(const std::string& ref, const std::string& registry_auth,
                 std::function<void(const std::string& line)> on_progress,
                 std::function<void(Result<std::string>)> done);

 private:
  // Open with an X-Registry-Auth header (when not empty).
  std::shared_ptr<Stream> OpenWithAuth(std::string method, std::string path, std::string body,
                                       std::string content_type, std::string registry_auth,
                                       StreamHandlers handlers, std::chrono::milliseconds timeout);

  boost::asio::io_context& io_;
  std::string socket_path_;
};

// "hello:v1" -> {"hello", "v1"}; "reg:5000/a/b@sha256:..." -> {"reg:5000/a/b", "sha256:..."};
// "hello" -> {"hello", "latest"}: the fromImage and tag parameters of a pull.
std::pair<std::string, std::string> SplitImageReference(const std::string& ref);
// The X-Registry-Auth header value for `server` with `username` / `password`: base64url of
// {"username","password","serveraddress"}, as the Engine API wants it.
std::string RegistryAuth(const std::string& server, const std::string& username,
                         const std::string& password);
// RegistryAuth with the password read from `password_file` (one line; a trailing newline is
// dropped). The file must be a regular file that only its owner can read or write (mode 0600 or
// stricter): a readable password file is refused, not used.
Result<std::string> RegistryAuthFromFile(const std::string& server, const std::string& username,
                                         const std::string& password_file);
// Percent-encodes a query parameter value.
std::string QueryEscape(std::string_view value);

}  // namespace slipway::runtime
