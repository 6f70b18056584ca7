// DockerEngine against a scripted stand-in for dockerd on a Unix socket (no daemon): requests
// carry the pinned API version, chunked answers are reassembled however they are split, errors
// carry Docker's message, streams deliver as they arrive.
#include "runtime/docker_engine.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "runtime/child_reaper.h"
#include "runtime/docker_exec.h"
#include "runtime/docker_stream.h"

namespace slipway::runtime {
namespace {

using namespace std::chrono_literals;

// A piece that is not written: the engine pauses for 1s instead.
const std::string kPause = "<pause>";

// Answers one connection per scripted answer, in order; each answer is a list of pieces
// written with a short pause between them (so the client reads them separately).
class ScriptedEngine {
 public:
  explicit ScriptedEngine(std::vector<std::vector<std::string>> answers)
      : answers_(std::move(answers)) {
    char tmpl[] = "/tmp/sw-fake-docker-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/docker.sock";
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path_.c_str());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedEngine() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    std::filesystem::remove_all(dir_);
  }
  const std::string& path() const { return path_; }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    for (const auto& pieces : answers_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string request;
      char buf[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
      }
      auto length_at = request.find("Content-Length: ");
      if (length_at != std::string::npos) {
        std::size_t length = std::strtoul(request.c_str() + length_at + 16, nullptr, 10);
        std::size_t body_at = request.find("\r\n\r\n") + 4;
        while (request.size() < body_at + length) {
          ssize_t n = ::read(c, buf, sizeof buf);
          if (n <= 0) break;
          request.append(buf, static_cast<std::size_t>(n));
        }
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(request);
      }
      for (const std::string& piece : pieces) {
        if (piece == kPause) {  // a stream that stays silent for a while
          std::this_thread::sleep_for(1s);
          continue;
        }
        if (::write(c, piece.data(), piece.size()) < 0) break;
        std::this_thread::sleep_for(5ms);
      }
      ::close(c);
    }
  }

  std::vector<std::vector<std::string>> answers_;
  std::string dir_;
  std::string path_;
  int fd_ = -1;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> requests_;
};

std::string Chunk(const std::string& data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + data + "\r\n";
}

constexpr const char* kChunkedHead =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";

std::string Frame(int stream, const std::string& payload) {
  std::string f(8, '\0');
  f[0] = static_cast<char>(stream);
  f[7] = static_cast<char>(payload.size());
  return f + payload;
}

void RunUntil(boost::asio::io_context& io, const bool& done) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!done && std::chrono::steady_clock::now() < deadline) io.run_one_for(100ms);
  ASSERT_TRUE(done) << "no answer within 10s";
}

TEST(DockerEngineTest, ReassemblesAChunkedJsonAnswerAndPinsTheApiVersion) {
  std::string body = R"([{"Id":"abc","State":"running","Labels":{"slipway.app":"hello"}}])";
  ScriptedEngine fake({{kChunkedHead, Chunk(body.substr(0, 7)), Chunk(body.substr(7, 20)),
                        Chunk(body.substr(27)) + "0\r\n\r\n"}});
  boost::asio::io_context io;
  DockerEngine engine(io, fake.path());
  bool done = false;
  Result<nlohmann::json> got = Error{"not called"};
  engine.ListContainers({{"slipway.owner", "/srv/state"}}, [&](Result<nlohmann::json> r) {
    got = std::move(r);
    done = true;
  });
  RunUntil(io, done);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ((*got)[0]["Id"], "abc");
  ASSERT_EQ(fake.requests().size(), 1u);
  const std::string request = fake.requests()[0];
  EXPECT_TRUE(request.starts_with("GET /v1.41/containers/json?all=1&filters=")) << request;
  EXPECT_NE(request.find("slipway.owner%3D%2Fsrv%2Fstate"), std::string::npos) << request;
}

TEST(DockerEngineTest, AnErrorCarriesDockersMessage) {
  ScriptedEngine fake(
      {{"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
        "Content-Length: 37\r\n\r\n{\"message\":\"No such image: hello:v9\"}"}});
  boost::asio::io_context io;
  DockerEngine engine(io, fake.path());
  bool done = false;
  Result<nlohmann::json> got = nlohmann::json();
  engine.InspectImage("hello:v9", [&](Result<nlohmann::json> r) {
    got = std::move(r);
    done = true;
  });
  RunUntil(io, done);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().message, "No such image: hello:v9");
  EXPECT_TRUE(fake.requests()[0].starts_with("GET /v1.41/images/hello:v9/json HTTP/1.1"));
}

TEST(DockerEngineTest, AMissingSocketSaysWhichEngineCannotBeReached) {
  boost::asio::io_context io;
  DockerEngine engine(io, "/nonexistent/docker.sock");
  bool done = false;
  Status got = Ok();
  engine.Ping([&](Status st) {
    got = std::move(st);
    done = true;
  });
  RunUntil(io, done);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().message,
            "cannot reach the Docker engine at /nonexistent/docker.sock: connect: No such file or "
            "directory");
}

TEST(DockerEngineTest, LogsArriveAsTheyStreamWithFramesAcrossChunks) {
  std::string frames = Frame(1, "2026-12-01T11:00:00.1Z hello v1 listening\n") +
                       Frame(2, "2026-12-01T11:00:00.2Z a warning\n");
  ScriptedEngine fake({{kChunkedHead, Chunk(frames.substr(0, 5)), Chunk(frames.substr(5, 40)),
                        Chunk(frames.substr(45)), "0\r\n\r\n"}});
  boost::asio::io_context io;
  DockerEngine engine(io, fake.path());
  MultiplexDecoder decoder;
  std::vector<std::string> lines;
  bool done = false;
  auto stream = engine.FollowLogs(
      "abc", "1796122800.000000001",
      [&](std::string_view bytes) {
        decoder.Feed(bytes, [&](int s, std::string_view payload) {
          lines.push_back(std::to_string(s) + " " + std::string(payload));
        });
      },
      [&](Status st) {
        EXPECT_TRUE(st) << st.error().message;
        done = true;
      });
  RunUntil(io, done);
  EXPECT_EQ(lines, (std::vector<std::string>{"1 2026-12-01T11:00:00.1Z hello v1 listening\n",
                                             "2 2026-12-01T11:00:00.2Z a warning\n"}));
  EXPECT_NE(
      fake.requests()[0].find("/v1.41/containers/abc/logs?follow=1&stdout=1&stderr=1&timestamps=1"
                              "&since=1796122800.000000001"),
      std::string::npos);
}

TEST(DockerEngineTest, WaitSaysWhenItWatchesThenGivesTheExitCode) {
  ScriptedEngine fake({{kChunkedHead, Chunk(R"({"StatusCode":3,"Error":null})") + "0\r\n\r\n"}});
  boost::asio::io_context io;
  DockerEngine engine(io, fake.path());
  std::vector<std::string> order;
  bool done = false;
  engine.WaitContainer(
      "abc", "next-exit", [&] { order.push_back("waiting"); },
      [&](Result<int> code) {
        order.push_back(code ? "exit " + std::to_string(*code) : code.error().message);
        done = true;
      });
  RunUntil(io, done);
  EXPECT_EQ(order, (std::vector<std::string>{"waiting", "exit 3"}));
  EXPECT_TRUE(fake.requests()[0].starts_with(
      "POST /v1.41/containers/abc/wait?condition=next-exit HTTP/1.1"));
}

std::string JsonAnswer(const std::string& status_line, const std::string& json) {
  return "HTTP/1.1 " + status_line +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(json.size()) +
         "\r\n\r\n" + json;
}

// An attached exec start: the engine hijacks the connection, sends a head without a length and
// the multiplexed output until the command ends, then closes.
constexpr const char* kRawStreamHead =
    "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n";

TEST(DockerExecTest, CreatesStartsAndInspectsForTheExitCodeAndOutput) {
  ScriptedEngine fake({{JsonAnswer("201 Created", R"({"Id":"e1"})")},
                       {kRawStreamHead, Frame(1, "probe: GET /nope: "), Frame(2, "HTTP 404\n")},
                       {JsonAnswer("200 OK", R"({"Running":false,"ExitCode":1,"Pid":0})")}});
  boost::asio::io_context io;
  DockerEngine engine(io, fake.path());
  std::optional<ExecOutcome> got;
  RunDockerExec(&engine, "c1", "65534:65534", {"/hello", "probe", "/nope"}, 5s,
                [&](ExecOutcome o) { got = std::move(o); });
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!got && std::chrono::steady_clock::now() < deadline) io.run_one_for(100ms);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->error, "");
  EXPECT_EQ(got->exit_code, 1);
  EXPECT_EQ(got->output, "probe: GET /nope: HTTP 404\n");
  std::vector<std::string> requests = fake.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_TRUE(requests[0].starts_with("POST /v1.41/containers/c1/exec HTTP/1.1")) << requests[0];
  EXPECT_NE(requests[0].find(R"("Cmd":["/hello","probe","/nope"])"), std::string::npos);
  EXPECT_NE(requests[0].find(R"("User":"65534:65534")"), std::string::npos);
  EXPECT_NE(requests[0].find(R"("AttachStdout":true)"), std::string::npos);
  EXPECT_TRUE(requests[1].starts_with("POST /v1.41/exec/e1/start HTTP/1.1")) << requests[1];
  EXPECT_NE(requests[1].find(R"("Detach":false)"), std::string::npos);
  EXPECT_TRUE(requests[2].starts_with("GET /v1.41/exec/e1/json HTTP/1.1")) << requests[2];
}

TEST(DockerExecTest, PastItsTimeoutTheCommandsHostPidIsKilled) {
  // A process standing in for the command the exec runs; no ChildReaper may reap it before us.
  ReapGuard no_reaping;
  pid_t command = fork();
  if (command == 0) {
    execl("/bin/sleep", "sleep", "30", nullptr);
    _exit(127);
  }
  ASSERT_GT(command, 0);
  const std::string running =
      R"({"Running":true,"ExitCode":null,"Pid":)" + std::to_string(command) + "}";
  ScriptedEngine fake({{JsonAnswer("201 Created", R"({"Id":"e2"})")},
                       {kRawStreamHead, Frame(1, "working\n"), kPause},
                       {JsonAnswer("200 OK", running)}});
  boost::asio::io_context io;
  DockerEngine engine(io, fake.path());
  std::optional<ExecOutcome> got;
  RunDockerExec(&engine, "c1", "", {"/bin/slow"}, 200ms,
                [&](ExecOutcome o) { got = std::move(o); });
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!got && std::chrono::steady_clock::now() < deadline) io.run_one_for(100ms);
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->timed_out);
  EXPECT_FALSE(got->exit_code.has_value());
  EXPECT_EQ(got->output, "working\n");
  int status = 0;
  ASSERT_EQ(waitpid(command, &status, 0), command);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  EXPECT_EQ(fake.requests()[0].find(R"("User")"), std::string::npos);  // the container's own
}

TEST(DockerEngineTest, PullFoldsProgressIntoOneLineAndFailsWithTheErrorObject) {
  ScriptedEngine fake(
      {{kChunkedHead,
        Chunk("{\"status\":\"Pulling from hello\",\"id\":\"v1\"}\r\n{\"status\":\"Downl"),
        Chunk("oading\",\"id\":\"a1\",\"progressDetail\":{\"current\":5,\"total\":10}}\r\n"),
        Chunk("{\"errorDetail\":{\"message\":\"manifest unknown\"},\"error\":"
              "\"manifest unknown\"}\r\n") +
            "0\r\n\r\n"}});
  boost::asio::io_context io;
  DockerEngine engine(io, fake.path());
  std::vector<std::string> progress;
  bool done = false;
  Status got = Ok();
  engine.PullImage(
      "127.0.0.1:5000/hello:v1", "QUTH", [&](const std::string& line) { progress.push_back(line); },
      [&](Status st) {
        got = std::move(st);
        done = true;
      });
  RunUntil(io, done);
  EXPECT_EQ(progress,
            (std::vector<std::string>{"pulling 127.0.0.1:5000/hello:v1: 0/1 layers, 5 B"}));
  EXPECT_NE(fake.requests()[0].find("X-Registry-Auth: QUTH\r\n"), std::string::npos);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().message, "pull 127.0.0.1:5000/hello:v1: manifest unknown");
  EXPECT_TRUE(fake.requests()[0].starts_with(
      "POST /v1.41/images/create?fromImage=127.0.0.1%3A5000%2Fhello&tag=v1 HTTP/1.1"))
      << fake.requests()[0];
}

TEST(DockerEngineTest, BuildStreamsTheTarContextAndReturnsTheImageId) {
  ScriptedEngine fake({{kChunkedHead, Chunk("{\"stream\":\"Step 1/4 : FROM scratch\\n\"}\r\n"),
                        Chunk("{\"aux\":{\"ID\":\"sha256:feed\"}}\r\n") + "0\r\n\r\n"}});
  boost::asio::io_context io;
  DockerEngine engine(io, fake.path());
  std::vector<std::string> progress;
  bool done = false;
  Result<std::string> got = Error{"not called"};
  engine.BuildImage(
      std::string(3000, 't'), {"hello:v1", "docker/Dockerfile.web", {{"V", "a b"}}},
      [&](const std::string& line) { progress.push_back(line); },
      [&](Result<std::string> id) {
        got = std::move(id);
        done = true;
      });
  RunUntil(io, done);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, "sha256:feed");
  EXPECT_EQ(progress, (std::vector<std::string>{"Step 1/4 : FROM scratch"}));
  const std::string request = fake.requests()[0];
  EXPECT_NE(request.find("Content-Type: application/x-tar"), std::string::npos);
  EXPECT_NE(request.find(std::string(3000, 't')), std::string::npos);
  EXPECT_TRUE(
      request.starts_with("POST /v1.41/build?rm=1&forcerm=1&t=hello%3Av1&dockerfile=docker%"
                          "2FDockerfile.web&buildargs=%7B%22V%22%3A%22a%20b%22%7D "))
      << request;
}

TEST(RegistryAuthTest, ThePasswordFileMustBeReadableByItsOwnerOnly) {
  const std::string file = ::testing::TempDir() + "/registry-pass-" + std::to_string(::getpid());
  std::ofstream(file) << "p?>\n";
  ::chmod(file.c_str(), 0644);
  auto refused = RegistryAuthFromFile("r:5000", "u", file);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "registry password file " + file + " is readable by others (mode 644); chmod 600 it");
  ::chmod(file.c_str(), 0600);
  auto auth = RegistryAuthFromFile("r:5000", "u", file);
  ASSERT_TRUE(auth) << auth.error().message;
  EXPECT_EQ(*auth, RegistryAuth("r:5000", "u", "p?>")) << "the newline is not the password's";
  ::unlink(file.c_str());
  EXPECT_FALSE(RegistryAuthFromFile("r:5000", "u", file));
}

TEST(RegistryAuthTest, IsBase64UrlOfTheCredentialsJson) {
  // {"password":"p?>","serveraddress":"r:5000","username":"u"}
  EXPECT_EQ(RegistryAuth("r:5000", "u", "p?>"),
            "eyJwYXNzd29yZCI6InA_PiIsInNlcnZlcmFkZHJlc3MiOiJyOjUwMDAiLCJ1c2VybmFtZSI6InUifQ==");
}

TEST(DockerEngineTest, HostMustBeAUnixSocket) {
  EXPECT_EQ(DockerEngine::SocketPathOf("unix:///run/docker.sock").value(), "/run/docker.sock");
  EXPECT_FALSE(DockerEngine::SocketPathOf("tcp://127.0.0.1:2375"));
  EXPECT_FALSE(DockerEngine::SocketPathOf("unix://relative.sock"));
}

TEST(ImageReferenceTest, SplitsNameFromTagOrDigest) {
  EXPECT_EQ(SplitImageReference("hello:v1"),
            std::make_pair(std::string("hello"), std::string("v1")));
  EXPECT_EQ(SplitImageReference("hello"),
            std::make_pair(std::string("hello"), std::string("latest")));
  EXPECT_EQ(SplitImageReference("127.0.0.1:5000/a/b"),
            std::make_pair(std::string("127.0.0.1:5000/a/b"), std::string("latest")));
  EXPECT_EQ(SplitImageReference("reg:5000/a@sha256:00"),
            std::make_pair(std::string("reg:5000/a"), std::string("sha256:00")));
}

}  // namespace
}  // namespace slipway::runtime
