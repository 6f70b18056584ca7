// Throwaway PKI for TLS tests: a CA and the server certificates it signs, made with the
// `openssl` CLI (OpenSSL 3.0) in a directory the test owns. Keys are EC P-256 (fast to make);
// server certificates are for CN=localhost with subjectAltName DNS:localhost, IP:127.0.0.1.
//
// Other suites (Python integration tests) can make the same files with the same commands, run
// in the directory after writing kTestOpensslConfig (in test_certs.cc) to openssl.cnf there:
//   CA:      openssl req -x509 -config openssl.cnf -extensions ca_ext -newkey ec
//              -pkeyopt ec_paramgen_curve:P-256 -noenc -keyout ca.key -out ca.crt -days 3650
//              -subj "/CN=Slipway Test CA"
//   server:  openssl req -new -config openssl.cnf -newkey ec -pkeyopt ec_paramgen_curve:P-256
//              -noenc -keyout NAME.key -out NAME.csr -subj "/CN=localhost/O=NAME"
//            openssl ca -batch -config openssl.cnf -notext -days DAYS -in NAME.csr -out NAME.crt
//   expired: the same, with `-startdate 20200101000000Z -enddate 20200102000000Z` in place of
//            `-days DAYS` (`openssl x509 -req` cannot set a start date in 3.0; `openssl ca` can)
//   serial:  openssl x509 -in NAME.crt -noout -serial
// Not thread-safe for one directory: `openssl ca` keeps its database (index.txt) there.
#pragma once

#include <string>

namespace slipway::proxy::testing {

struct TestCert {
  std::string cert_file;  // PEM, this certificate only
  std::string key_file;   // PEM, unencrypted
  std::string serial;  // upper-case hex, as `openssl x509 -serial` and TlsCertificateInfo give it
};

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// <dir>/ca.crt and <dir>/ca.key (CN=Slipway Test CA, valid 10 years); call once per directory
// before the functions below. Each throws std::runtime_error with openssl's output on failure.
TestCert MakeTestCa(const std::string& dir);
// <dir>/<name>.crt and <dir>/<name>.key, signed by the directory's CA, valid from now for
// `days`; subject CN=localhost, O=<name> (so tests can tell certificates apart).
TestCert MakeServerCert(const std::string& dir, const std::string& name, int days = 30);
// As MakeServerCert, valid only from 2020-01-01T00:00:00Z to 2020-01-02T00:00:00Z.
TestCert MakeExpiredServerCert(const std::string& dir, const std::string& name);

// Runs `command` (a shell command line) in `dir`; returns its output (stdout and stderr), or
// throws std::runtime_error with it when the command fails.
std::string RunInDir(const std::string& dir, const std::string& command);

// Replaces `path` by writing a temporary file beside it and renaming it over, as a deploy tool
// or certbot replaces a certificate: a reader sees the old file or the new one, never half.
void ReplaceFile(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);

}  // namespace slipway::proxy::testing
