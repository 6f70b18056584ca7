// TLS termination through the proxy, driven by the real curl: TLS 1.3 with ALPN http/1.1, HSTS,
// the HTTP-to-HTTPS redirect, and a renewed certificate served after ReloadCertificates while
// requests keep flowing.
#include <sys/wait.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "proxy_test_fixture.h"
#include "test_certs.h"

namespace slipway::proxy::testing {
namespace {

struct CurlResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr together (curl -v writes the TLS details to stderr)
};

CurlResult Curl(const std::string& args) {
  CurlResult result;
  FILE* p = ::popen(("curl --silent --show-error --max-time 10 " + args + " 2>&1").c_str(), "r");
  if (p == nullptr) return result;
  std::array<char, 4096> chunk;
  while (std::size_t n = std::fread(chunk.data(), 1, chunk.size(), p))
    result.out.append(chunk.data(), n);
  int status = ::pclose(p);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class TlsProxyTest : public ProxyTest {
 protected:
  void SetUp() override {
    ca_ = MakeTestCa(dir_.path());
    cert_ = MakeServerCert(dir_.path(), "first");
    // The listener reads these paths; a renewal replaces their content.
    ReplaceFile(dir_.File("live.crt"), ReadFile(cert_.cert_file));
    ReplaceFile(dir_.File("live.key"), ReadFile(cert_.key_file));
    options_.tls.cert_file = dir_.File("live.crt");
    options_.tls.key_file = dir_.File("live.key");
  }
  std::string Url(const std::string& path = "/") const {
    return "https://localhost:" + std::to_string(port_) + path;
  }
  std::string CurlTls() const { return "--cacert " + ca_.cert_file + " "; }

  TempDir dir_;
  TestCert ca_, cert_;
};

TEST_F(TlsProxyTest, CurlGetsHttp11OverTls13WithHsts) {
  TestBackend a("a");
  StartProxy({a.MakeBackend()});
  CurlResult r = Curl(CurlTls() + "-v -i " + Url());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("SSL connection using TLSv1.3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ALPN: server accepted http/1.1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("HTTP/1.1 200 OK"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Strict-Transport-Security: max-age=31536000"), std::string::npos) << r.out;
  EXPECT_EQ(a.last_request().Header("X-Forwarded-Proto"), "https");
}

TEST_F(TlsProxyTest, Tls11IsRefused) {
  TestBackend a("a");
  StartProxy({a.MakeBackend()});
  CurlResult r = Curl(CurlTls() + "--tlsv1.1 --tls-max 1.1 " + Url());
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_EQ(a.requests(), 0);
}

TEST_F(TlsProxyTest, PlainHttpIsRedirectedToHttps) {
  TestBackend a("a");
  options_.tls.redirect_http_listen = "127.0.0.1:0";
  StartProxy({a.MakeBackend()});
  std::string plain = server_->RedirectAddress("hello");
  ASSERT_FALSE(plain.empty());
  CurlResult r = Curl("-i http://" + plain + "/path?q=1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("HTTP/1.1 308"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Location: https://127.0.0.1:" + std::to_string(port_) + "/path?q=1"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(a.requests(), 0);
  // curl follows it to the TLS listener (the certificate covers 127.0.0.1 too).
  CurlResult direct = Curl(CurlTls() + "-L http://" + plain + "/");
  EXPECT_EQ(direct.exit_code, 0) << direct.out;
  EXPECT_EQ(direct.out, "a");
}

TEST_F(TlsProxyTest, RenewedCertificateIsServedAfterReloadWithNoFailedRequest) {
  TestBackend a("a");
  StartProxy({a.MakeBackend()}, 2);
  // Requests on fresh TLS connections the whole time, from another thread.
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::thread load([&] {
    for (int i = 0; i < 2000 && !stop; ++i) {
      CurlResult r = Curl(CurlTls() + Url());
      (r.exit_code == 0 && r.out == "a" ? ok : failed)++;
    }
  });
  ASSERT_TRUE(WaitFor([&] { return ok > 3; }, std::chrono::seconds(20)));

  TestCert renewed = MakeServerCert(dir_.path(), "renewed");
  ReplaceFile(dir_.File("live.key"), ReadFile(renewed.key_file));
  ReplaceFile(dir_.File("live.crt"), ReadFile(renewed.cert_file));
  Status reloaded = server_->ReloadCertificates();
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().message;
  const int before = ok;
  ASSERT_TRUE(WaitFor([&] { return ok > before + 3; }, std::chrono::seconds(20)));
  stop = true;
  load.join();
  EXPECT_EQ(failed.load(), 0);

  CurlResult r = Curl(CurlTls() + "-v " + Url());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("O=renewed"), std::string::npos) << r.out;  // curl -v prints the subject
}

TEST_F(TlsProxyTest, ABrokenRenewalKeepsTheOldCertificate) {
  TestBackend a("a");
  StartProxy({a.MakeBackend()});
  ReplaceFile(dir_.File("live.crt"), "not a certificate");
  Status reloaded = server_->ReloadCertificates();
  ASSERT_FALSE(reloaded.ok());
  EXPECT_NE(reloaded.error().message.find("live.crt"), std::string::npos)
      << reloaded.error().message;
  CurlResult r = Curl(CurlTls() + "-v " + Url());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("O=first"), std::string::npos) << r.out;
}

TEST_F(TlsProxyTest, AListenerWithABadCertificateIsRefused) {
  options_.tls.key_file = dir_.File("missing.key");
  server_ = std::make_unique<ProxyServer>(1);
  options_.app = "hello";
  options_.listen = "127.0.0.1:0";
  options_.pool = pool_;
  Status added = server_->AddListener(options_);
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.error().message.find("missing.key"), std::string::npos) << added.error().message;
}

}  // namespace
}  // namespace slipway::proxy::testing
