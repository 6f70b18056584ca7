#include "runtime/docker_exec.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "runtime/docker_stream.h"

namespace slipway::runtime {
namespace {

namespace asio = boost::asio;

struct DockerExecRun : std::enable_shared_from_this<DockerExecRun> {
  DockerExecRun(asio::io_context& io, DockerEngine* engine) : engine(engine), deadline(io) {}

  void Finish(ExecOutcome outcome) {
    if (finished) return;
    finished = true;
    deadline.cancel();
    if (stream) stream->Cancel();
    auto callback = std::move(done);
    done = nullptr;
    callback(std::move(outcome));
  }

  void Fail(const std::string& step, const std::string& message) {
    ExecOutcome outcome;
    outcome.error = step + ": " + message;
    Finish(std::move(outcome));
  }

  // The output ended: the command is done; its exit code comes from the inspect.
  void Inspect() {
    engine->Call("GET", "/exec/" + exec_id + "/json", nullptr,
                 [self = shared_from_this()](Result<nlohmann::json> info) {
                   if (self->finished) return;
                   if (!info) return self->Fail("docker exec inspect", info.error().message);
                   ExecOutcome outcome;
                   outcome.output = std::move(self->output);
                   const nlohmann::json& code = (*info)["ExitCode"];
                   if (info->value("Running", false) || !code.is_number_integer()) {
                     outcome.error = "docker exec: the command's output ended but it still runs";
                   } else {
                     outcome.exit_code = code.get<int>();
                   }
                   self->Finish(std::move(outcome));
                 });
  }

  // The deadline: the command is killed through its host pid, then reported as timed out.
  void OnDeadline() {
    if (finished) return;
    if (stream) stream->Cancel();
    stream.reset();
    ExecOutcome outcome;
    outcome.timed_out = true;
    outcome.output = output;
    if (exec_id.empty()) return Finish(std::move(outcome));
    engine->Call(
        "GET", "/exec/" + exec_id + "/json", nullptr,
        [self = shared_from_this(), outcome](Result<nlohmann::json> info) mutable {
          if (info && info->value("Running", false)) {
            int pid = info->value("Pid", 0);
            if (pid > 1) kill(pid, SIGKILL);
          }
          self->Finish(std::move(outcome));
        },
        std::chrono::seconds(5));
  }

  DockerEngine* engine;
  asio::steady_timer deadline;
  std::shared_ptr<DockerEngine::Stream> stream;
  MultiplexDecoder decoder;
  std::string exec_id;
  std::string output;
  bool finished = false;
  std::function<void(ExecOutcome)> done;
};

}  // namespace

void RunDockerExec(DockerEngine* engine, const std::string& container_id, const std::string& user,
                   std::vector<std::string> argv, Millis timeout,
                   std::function<void(ExecOutcome)> done) {
  auto run = std::make_shared<DockerExecRun>(engine->io(), engine);
  run->done = std::move(done);
  run->deadline.expires_after(timeout);
  run->deadline.async_wait([run](boost::system::error_code ec) {
    if (!ec) run->OnDeadline();
  });
  nlohmann::json config = {{"Cmd", argv},
                           {"AttachStdin", false},
                           {"AttachStdout", true},
                           {"AttachStderr", true},
                           {"Tty", false}};
  if (!user.empty()) config["User"] = user;
  engine->Call(
      "POST", "/containers/" + container_id + "/exec", config,
      [run](Result<nlohmann::json> created) {
        if (run->finished) return;
        if (!created) return run->Fail("docker exec", created.error().message);
        run->exec_id = created->value("Id", "");
        if (run->exec_id.empty()) return run->Fail("docker exec", "the engine returned no exec Id");
        DockerEngine::StreamHandlers handlers;
        handlers.on_data = [w = std::weak_ptr<DockerExecRun>(run)](std::string_view bytes) {
          auto self = w.lock();
          if (!self || self->finished) return;
          self->decoder.Feed(bytes, [&](int, std::string_view payload) {
            std::size_t room = kExecOutputKept - std::min(kExecOutputKept, self->output.size());
            self->output.append(payload.substr(0, std::min(room, payload.size())));
          });
        };
        handlers.on_end = [w = std::weak_ptr<DockerExecRun>(run)](Status end) {
          auto self = w.lock();
          if (!self || self->finished) return;
          self->stream.reset();
          if (!end) return self->Fail("docker exec start", end.error().message);
          self->Inspect();
        };
        nlohmann::json start = {{"Detach", false}, {"Tty", false}};
        run->stream = run->engine->Open("POST", "/exec/" + run->exec_id + "/start", start.dump(),
                                        "application/json", std::move(handlers),
                                        std::chrono::milliseconds(0));
      });
}

}  // namespace slipway::runtime
