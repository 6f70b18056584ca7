#include "proxy/tls_context.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include "test_certs.h"

namespace slipway::proxy {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;
using testing::TestCert;

constexpr auto kDeadline = std::chrono::seconds(10);

bool WaitUntil(const std::function<bool()>& done) {
  auto limit = std::chrono::steady_clock::now() + kDeadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() > limit) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polling, not waiting a guess
  }
  return true;
}

std::string SerialOf(const X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string serial = hex;
  OPENSSL_free(hex);
  BN_free(bn);
  return serial;
}

// A TLS server on 127.0.0.1 that takes a context from `context_for_new_connection` for each
// connection, as the proxy's listener will, and echoes what it reads.
class TlsEchoServer {
 public:
  explicit TlsEchoServer(std::function<std::shared_ptr<ssl::context>()> context_for_new_connection)
      : context_for_new_connection_(std::move(context_for_new_connection)),
        acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TlsEchoServer() {
    io_.stop();
    thread_.join();
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int handshakes_ok() const { return handshakes_ok_; }
  int handshakes_failed() const { return handshakes_failed_; }

 private:
  struct Session {
    Session(tcp::socket socket, std::shared_ptr<ssl::context> context)
        : context(std::move(context)), stream(std::move(socket), *this->context) {}
    std::shared_ptr<ssl::context> context;  // kept for the connection's lifetime
    ssl::stream<tcp::socket> stream;
    char buffer[1024];
  };

  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;
      auto session = std::make_shared<Session>(std::move(socket), context_for_new_connection_());
      session->stream.async_handshake(ssl::stream_base::server,
                                      [this, session](boost::system::error_code ec) {
                                        if (ec) {
                                          ++handshakes_failed_;
                                          return;
                                        }
                                        ++handshakes_ok_;
                                        Echo(session);
                                      });
      Accept();
    });
  }

  void Echo(std::shared_ptr<Session> session) {
    session->stream.async_read_some(
        asio::buffer(session->buffer),
        [this, session](boost::system::error_code ec, std::size_t n) {
          if (ec) return;
          asio::async_write(session->stream, asio::buffer(session->buffer, n),
                            [this, session](boost::system::error_code ec, std::size_t) {
                              if (!ec) Echo(session);
                            });
        });
  }

  std::function<std::shared_ptr<ssl::context>()> context_for_new_connection_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<int> handshakes_ok_{0};
  std::atomic<int> handshakes_failed_{0};
  std::thread thread_;
};

// Set with the With* calls: GCC warns about designated initializers that skip a member.
struct ClientOptions {
  std::vector<std::string> alpn = {"http/1.1"};
  int max_version = 0;         // 0: TLS 1.3
  std::string tls12_ciphers;   // "": OpenSSL's default
  bool old_protocols = false;  // allow TLS 1.0/1.1 (security level 0), to try a server with them
  SSL_SESSION* session = nullptr;  // to resume; the caller keeps ownership

  ClientOptions& WithAlpn(std::vector<std::string> protocols) {
    alpn = std::move(protocols);
    return *this;
  }
  ClientOptions& WithMaxVersion(int version) {
    max_version = version;
    return *this;
  }
  ClientOptions& WithTls12Ciphers(std::string ciphers) {
    tls12_ciphers = std::move(ciphers);
    return *this;
  }
  ClientOptions& WithSession(SSL_SESSION* to_resume) {
    session = to_resume;
    return *this;
  }
  ClientOptions& WithOldProtocols() {
    old_protocols = true;
    return *this;
  }
};

// A TLS client connection to 127.0.0.1:port that verifies the server against `ca_file` for the
// name localhost. Every operation gives up after kDeadline.
class TlsClient {
 public:
  TlsClient(std::uint16_t port, const std::string& ca_file, const ClientOptions& options = {})
      : context_(VerifyingContext(ca_file)), stream_(io_, context_) {
    SSL* ssl = stream_.native_handle();
    SSL_set_tlsext_host_name(ssl, "localhost");
    SSL_set1_host(ssl, "localhost");
    std::string protos;
    for (const std::string& p : options.alpn) protos += static_cast<char>(p.size()) + p;
    if (!protos.empty()) {
      SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(protos.data()),
                          static_cast<unsigned>(protos.size()));
    }
    if (options.old_protocols) {
      SSL_set_security_level(ssl, 0);
      SSL_set_min_proto_version(ssl, TLS1_VERSION);
    }
    if (options.max_version) SSL_set_max_proto_version(ssl, options.max_version);
    if (!options.tls12_ciphers.empty()) SSL_set_cipher_list(ssl, options.tls12_ciphers.c_str());
    if (options.session) SSL_set_session(ssl, options.session);

    boost::system::error_code result = asio::error::timed_out;
    stream_.next_layer().async_connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
        [this, &result](boost::system::error_code ec) {
          if (ec) {
            result = ec;
            return;
          }
          stream_.async_handshake(ssl::stream_base::client,
                                  [&result](boost::system::error_code ec) { result = ec; });
        });
    Run();
    if (result) {
      error_ = result.message();
      return;
    }
    connected_ = true;
  }

  bool connected() const { return connected_; }
  const std::string& error() const { return error_; }  // why the handshake failed
  std::string version() { return SSL_get_version(stream_.native_handle()); }
  std::string cipher() { return SSL_get_cipher_name(stream_.native_handle()); }
  std::string alpn() {
    const unsigned char* data = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(stream_.native_handle(), &data, &len);
    return std::string(reinterpret_cast<const char*>(data), len);
  }
  std::string peer_serial() {
    X509* cert = SSL_get1_peer_certificate(stream_.native_handle());
    if (!cert) return "";
    std::string serial = SerialOf(cert);
    X509_free(cert);
    return serial;
  }

  bool resumed() { return SSL_session_reused(stream_.native_handle()) == 1; }
  // The session to resume later (free with SSL_SESSION_free); TLS 1.3 sends its ticket after the
  // handshake, so call it after an Echo.
  SSL_SESSION* TakeSession() { return SSL_get1_session(stream_.native_handle()); }

  // Writes `text` and reads its echo; "" on error or timeout.
  std::string Echo(const std::string& text) {
    std::string reply(text.size(), '\0');
    boost::system::error_code result = asio::error::timed_out;
    asio::async_write(stream_, asio::buffer(text),
                      [this, &reply, &result](boost::system::error_code ec, std::size_t) {
                        if (ec) {
                          result = ec;
                          return;
                        }
                        asio::async_read(
                            stream_, asio::buffer(reply),
                            [&result](boost::system::error_code ec, std::size_t) { result = ec; });
                      });
    Run();
    return result ? "" : reply;
  }

 private:
  // Configured before the stream exists: an SSL copies its context's verify mode when created.
  static ssl::context VerifyingContext(const std::string& ca_file) {
    ssl::context context(ssl::context::tls_client);
    context.load_verify_file(ca_file);
    context.set_verify_mode(ssl::verify_peer);
    return context;
  }

  void Run() {
    io_.restart();
    io_.run_for(kDeadline);
  }

  asio::io_context io_;
  ssl::context context_;
  ssl::stream<tcp::socket> stream_;
  bool connected_ = false;
  std::string error_;
};

class TlsServerContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = testing::MakeTestCa(dir_.path());
    first_ = testing::MakeServerCert(dir_.path(), "first");
  }

  // Loads the pair, failing the test when it does not load.
  std::unique_ptr<TlsServerContext> MustLoad(const TestCert& cert) {
    Result<std::unique_ptr<TlsServerContext>> loaded =
        TlsServerContext::Load(cert.cert_file, cert.key_file);
    EXPECT_TRUE(loaded.ok()) << loaded.error().message;
    return loaded.ok() ? std::move(*loaded) : nullptr;
  }
  // The error Load gives for the pair; "" when it loads.
  static std::string LoadError(const std::string& cert_file, const std::string& key_file) {
    Result<std::unique_ptr<TlsServerContext>> loaded = TlsServerContext::Load(cert_file, key_file);
    return loaded.ok() ? "" : loaded.error().message;
  }
  // Copies `cert` to the files a TlsServerContext reloads from (live.crt, live.key).
  TestCert Install(const TestCert& cert, bool key_too = true) {
    testing::ReplaceFile(dir_.File("live.crt"), testing::ReadFile(cert.cert_file));
    if (key_too) testing::ReplaceFile(dir_.File("live.key"), testing::ReadFile(cert.key_file));
    return {dir_.File("live.crt"), dir_.File("live.key"), cert.serial};
  }

  testing::TempDir dir_;
  TestCert ca_;
  TestCert first_;
};

TEST_F(TlsServerContextTest, LoadsAPairAndDescribesTheCertificate) {
  std::unique_ptr<TlsServerContext> tls = MustLoad(first_);
  ASSERT_TRUE(tls);
  TlsCertificateInfo info = tls->Certificate();
  EXPECT_EQ(info.serial, first_.serial);
  EXPECT_NE(info.subject.find("CN=localhost"), std::string::npos) << info.subject;
  EXPECT_NE(info.subject.find("O=first"), std::string::npos) << info.subject;
  EXPECT_EQ(info.issuer, "CN=Slipway Test CA");
  auto now = std::chrono::system_clock::now();
  EXPECT_GT(info.not_after, now + std::chrono::hours(24 * 29));
  EXPECT_LT(info.not_after, now + std::chrono::hours(24 * 31));
  EXPECT_EQ(info.not_after_text.size(), 20u) << info.not_after_text;  // 2025-06-01T12:00:00Z
  EXPECT_NE(tls->Current(), nullptr);
}

TEST_F(TlsServerContextTest, HandshakeNegotiatesTls13AndHttp11) {
  std::unique_ptr<TlsServerContext> tls = MustLoad(first_);
  ASSERT_TRUE(tls);
  TlsEchoServer server([&] { return tls->Current(); });
  TlsClient client(server.port(), ca_.cert_file);
  ASSERT_TRUE(client.connected()) << client.error();
  EXPECT_EQ(client.version(), "TLSv1.3");
  EXPECT_EQ(client.alpn(), "http/1.1");
  EXPECT_EQ(client.peer_serial(), first_.serial);
  EXPECT_EQ(client.Echo("ping"), "ping");
}

TEST_F(TlsServerContextTest, AClientTrustingAnotherCaRefusesTheCertificate) {
  std::unique_ptr<TlsServerContext> tls = MustLoad(first_);
  ASSERT_TRUE(tls);
  TlsEchoServer server([&] { return tls->Current(); });
  testing::TempDir other_dir;
  TestCert other_ca = testing::MakeTestCa(other_dir.path());
  TlsClient client(server.port(), other_ca.cert_file);
  EXPECT_FALSE(client.connected());
  EXPECT_NE(client.error().find("certificate verify failed"), std::string::npos) << client.error();
}

TEST_F(TlsServerContextTest, ClientsWithoutHttp11InAlpnStillConnect) {
  std::unique_ptr<TlsServerContext> tls = MustLoad(first_);
  ASSERT_TRUE(tls);
  TlsEchoServer server([&] { return tls->Current(); });

  TlsClient no_alpn(server.port(), ca_.cert_file, ClientOptions().WithAlpn({}));
  ASSERT_TRUE(no_alpn.connected()) << no_alpn.error();
  EXPECT_EQ(no_alpn.alpn(), "");

  TlsClient h2_only(server.port(), ca_.cert_file, ClientOptions().WithAlpn({"h2"}));
  ASSERT_TRUE(h2_only.connected()) << h2_only.error();
  EXPECT_EQ(h2_only.alpn(), "");  // no ALPN agreed: the client speaks HTTP/1.1

  TlsClient h2_first(server.port(), ca_.cert_file, ClientOptions().WithAlpn({"h2", "http/1.1"}));
  ASSERT_TRUE(h2_first.connected()) << h2_first.error();
  EXPECT_EQ(h2_first.alpn(), "http/1.1");
}

TEST_F(TlsServerContextTest, Tls12ClientGetsEcdheWithAnAeadCipher) {
  std::unique_ptr<TlsServerContext> tls = MustLoad(first_);
  ASSERT_TRUE(tls);
  TlsEchoServer server([&] { return tls->Current(); });
  // The client prefers CBC and ChaCha20; the server's preference (AES-128-GCM) wins.
  TlsClient client(server.port(), ca_.cert_file,
                   ClientOptions()
                       .WithMaxVersion(TLS1_2_VERSION)
                       .WithTls12Ciphers("ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-CHACHA20-POLY1305:"
                                         "ECDHE-ECDSA-AES128-GCM-SHA256"));
  ASSERT_TRUE(client.connected()) << client.error();
  EXPECT_EQ(client.version(), "TLSv1.2");
  EXPECT_EQ(client.cipher(), "ECDHE-ECDSA-AES128-GCM-SHA256");
  EXPECT_EQ(client.alpn(), "http/1.1");
}

TEST_F(TlsServerContextTest, Tls12ClientWithOnlyNonAeadOrStaticRsaCiphersIsRefused) {
  std::unique_ptr<TlsServerContext> tls = MustLoad(first_);
  ASSERT_TRUE(tls);
  TlsEchoServer server([&] { return tls->Current(); });
  TlsClient client(
      server.port(), ca_.cert_file,
      ClientOptions()
          .WithMaxVersion(TLS1_2_VERSION)
          .WithTls12Ciphers("ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA:AES128-GCM-SHA256"));
  EXPECT_FALSE(client.connected());
  EXPECT_NE(client.error().find("handshake failure"), std::string::npos) << client.error();
}

TEST_F(TlsServerContextTest, Tls11ClientIsRefused) {
  std::unique_ptr<TlsServerContext> tls = MustLoad(first_);
  ASSERT_TRUE(tls);
  TlsEchoServer server([&] { return tls->Current(); });
  TlsClient client(server.port(), ca_.cert_file,
                   ClientOptions().WithMaxVersion(TLS1_1_VERSION).WithOldProtocols());
  EXPECT_FALSE(client.connected());
  // The server's alert, not the client's own refusal: the client did send a TLS 1.1 hello.
  EXPECT_NE(client.error().find("alert protocol version"), std::string::npos) << client.error();
  EXPECT_TRUE(WaitUntil([&] { return server.handshakes_failed() == 1; }));
  EXPECT_EQ(server.handshakes_ok(), 0);
}

TEST_F(TlsServerContextTest, SessionTicketsLetAClientResume) {
  std::unique_ptr<TlsServerContext> tls = MustLoad(first_);
  ASSERT_TRUE(tls);
  TlsEchoServer server([&] { return tls->Current(); });
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    TlsClient first_visit(server.port(), ca_.cert_file, ClientOptions().WithMaxVersion(version));
    ASSERT_TRUE(first_visit.connected()) << first_visit.error();
    ASSERT_EQ(first_visit.Echo("x"), "x");
    std::unique_ptr<SSL_SESSION, decltype(&SSL_SESSION_free)> session(first_visit.TakeSession(),
                                                                      SSL_SESSION_free);
    ASSERT_TRUE(session);
    EXPECT_EQ(SSL_SESSION_has_ticket(session.get()), 1);  // a ticket, not only a cached session id
    TlsClient second_visit(server.port(), ca_.cert_file,
                           ClientOptions().WithMaxVersion(version).WithSession(session.get()));
    ASSERT_TRUE(second_visit.connected()) << second_visit.error();
    EXPECT_TRUE(second_visit.resumed()) << second_visit.version();
  }
}

TEST_F(TlsServerContextTest, AChainFileWithTheLeafFirstLoads) {
  testing::ReplaceFile(dir_.File("chain.crt"),
                       testing::ReadFile(first_.cert_file) + testing::ReadFile(ca_.cert_file));
  EXPECT_EQ(LoadError(dir_.File("chain.crt"), first_.key_file), "");
}

TEST_F(TlsServerContextTest, ErrorsNameTheFileAndSayWhatIsWrong) {
  struct Case {
    std::string cert_file, key_file;
    std::vector<std::string> expected;  // substrings of the error
  };
  TestCert second = testing::MakeServerCert(dir_.path(), "second");
  TestCert expired = testing::MakeExpiredServerCert(dir_.path(), "expired");
  testing::ReplaceFile(dir_.File("text.crt"), "just some text\n");
  testing::ReplaceFile(dir_.File("text.key"), "just some text\n");
  testing::ReplaceFile(dir_.File("empty.crt"), "");
  std::string pem = testing::ReadFile(first_.cert_file);
  testing::ReplaceFile(dir_.File("truncated.crt"),
                       pem.substr(0, pem.size() / 2) + "\n-----END CERTIFICATE-----\n");
  testing::ReplaceFile(dir_.File("ca_first.crt"), testing::ReadFile(ca_.cert_file) + pem);
  testing::RunInDir(dir_.path(),
                    "openssl pkey -in first.key -aes256 -passout pass:secret -out encrypted.key");

  const std::vector<Case> cases = {
      {dir_.File("missing.crt"),
       first_.key_file,
       {"tls cert_file " + dir_.File("missing.crt"), "No such file or directory"}},
      {first_.cert_file,
       dir_.File("missing.key"),
       {"tls key_file " + dir_.File("missing.key"), "No such file or directory"}},
      {dir_.path(), first_.key_file, {"tls cert_file " + dir_.path(), "not a regular file"}},
      {dir_.File("empty.crt"), first_.key_file, {dir_.File("empty.crt"), "empty file"}},
      {dir_.File("text.crt"), first_.key_file, {dir_.File("text.crt"), "not PEM"}},
      {first_.cert_file, dir_.File("text.key"), {dir_.File("text.key"), "not PEM"}},
      {first_.key_file, first_.cert_file, {first_.key_file, "swapped"}},
      {dir_.File("truncated.crt"),
       first_.key_file,
       {dir_.File("truncated.crt"), "invalid PEM certificate #1"}},
      {first_.cert_file, dir_.File("encrypted.key"), {dir_.File("encrypted.key"), "encrypted"}},
      {first_.cert_file,
       second.key_file,
       {"tls key_file " + second.key_file,
        "does not match the certificate in " + first_.cert_file}},
      {dir_.File("ca_first.crt"),
       first_.key_file,
       {"tls key_file " + first_.key_file, "certificate #2 in " + dir_.File("ca_first.crt"),
        "leaf certificate must come first"}},
      {expired.cert_file,
       expired.key_file,
       {"tls cert_file " + expired.cert_file, "expired on 2020-01-02T00:00:00Z"}},
  };
  for (const Case& c : cases) {
    std::string error = LoadError(c.cert_file, c.key_file);
    ASSERT_NE(error, "") << c.cert_file << " + " << c.key_file << " loaded";
    for (const std::string& part : c.expected) {
      EXPECT_NE(error.find(part), std::string::npos) << "\"" << part << "\" not in: " << error;
    }
  }
  EXPECT_EQ(ERR_peek_error(), 0u);  // nothing left on OpenSSL's queue for the next operation
}

TEST_F(TlsServerContextTest, ReloadServesTheNewCertificateToNewConnectionsOnly) {
  TestCert live = Install(first_);
  std::unique_ptr<TlsServerContext> tls = MustLoad(live);
  ASSERT_TRUE(tls);
  TlsEchoServer server([&] { return tls->Current(); });
  TlsClient before(server.port(), ca_.cert_file);
  ASSERT_TRUE(before.connected()) << before.error();
  EXPECT_EQ(before.peer_serial(), first_.serial);
  std::shared_ptr<ssl::context> old_context = tls->Current();

  TestCert second = testing::MakeServerCert(dir_.path(), "second");
  Install(second);
  Status reloaded = tls->Reload();
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().message;
  EXPECT_EQ(tls->Certificate().serial, second.serial);

  TlsClient after(server.port(), ca_.cert_file);
  ASSERT_TRUE(after.connected()) << after.error();
  EXPECT_EQ(after.peer_serial(), second.serial);
  // The connection made before the reload still works on the context it was made with.
  EXPECT_EQ(before.Echo("still here"), "still here");
  EXPECT_EQ(SerialOf(SSL_CTX_get0_certificate(old_context->native_handle())), first_.serial);
  EXPECT_NE(tls->Current(), old_context);
}

TEST_F(TlsServerContextTest, AFailedReloadKeepsTheOldCertificateServing) {
  TestCert live = Install(first_);
  std::unique_ptr<TlsServerContext> tls = MustLoad(live);
  ASSERT_TRUE(tls);
  TlsEchoServer server([&] { return tls->Current(); });
  std::shared_ptr<ssl::context> serving = tls->Current();
  auto still_serves_first = [&] {
    EXPECT_EQ(tls->Current(), serving);
    EXPECT_EQ(tls->Certificate().serial, first_.serial);
    TlsClient client(server.port(), ca_.cert_file);
    ASSERT_TRUE(client.connected()) << client.error();
    EXPECT_EQ(client.peer_serial(), first_.serial);
  };

  testing::ReplaceFile(live.cert_file, "-----BEGIN CERTIFICATE-----\nnot base64!\n");
  Status broken = tls->Reload();
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find(live.cert_file), std::string::npos)
      << broken.error().message;
  still_serves_first();

  // Half-way through a rotation: the new certificate is in place, its key not yet.
  TestCert second = testing::MakeServerCert(dir_.path(), "second");
  Install(second, /*key_too=*/false);
  Status mismatched = tls->Reload();
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.error().message.find("does not match"), std::string::npos)
      << mismatched.error().message;
  still_serves_first();

  Install(testing::MakeExpiredServerCert(dir_.path(), "expired"));
  Status expired = tls->Reload();
  ASSERT_FALSE(expired.ok());
  EXPECT_NE(expired.error().message.find("expired on"), std::string::npos)
      << expired.error().message;
  still_serves_first();

  std::filesystem::remove(live.key_file);
  Status missing = tls->Reload();
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find(live.key_file), std::string::npos)
      << missing.error().message;
  still_serves_first();

  Install(second);
  Status fixed = tls->Reload();
  ASSERT_TRUE(fixed.ok()) << fixed.error().message;
  TlsClient client(server.port(), ca_.cert_file);
  ASSERT_TRUE(client.connected()) << client.error();
  EXPECT_EQ(client.peer_serial(), second.serial);
}

TEST_F(TlsServerContextTest, CurrentIsSafeWhileReloading) {
  TestCert live = Install(first_);
  std::unique_ptr<TlsServerContext> tls = MustLoad(live);
  ASSERT_TRUE(tls);
  TestCert second = testing::MakeServerCert(dir_.path(), "second");
  std::atomic<bool> stop{false};
  std::atomic<long> reads{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) {
    readers.emplace_back([&] {
      while (!stop) {
        std::shared_ptr<ssl::context> context = tls->Current();
        // The context is whole: it holds a certificate, whichever one.
        if (SSL_CTX_get0_certificate(context->native_handle()) == nullptr) break;
        ++reads;
      }
    });
  }
  for (int i = 0; i < 10; ++i) {
    Install(i % 2 ? first_ : second);
    Status reloaded = tls->Reload();
    EXPECT_TRUE(reloaded.ok()) << reloaded.error().message;
  }
  stop = true;
  for (std::thread& reader : readers) reader.join();
  EXPECT_GT(reads, 0);
  EXPECT_EQ(tls->Certificate().serial, first_.serial);  // the last one installed
}

}  // namespace
}  // namespace slipway::proxy
