#include "test_certs.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace slipway::proxy::testing {

// tests/testdata/test-openssl.cnf, shared with the Python integration tests.
constexpr const char* kTestOpensslConfigPath = SLIPWAY_TEST_OPENSSL_CNF;

namespace {

std::string Quote(const std::string& s) {
  std::string quoted = "'";
  for (char c : s) {
    if (c == '\'')
      quoted += "'\\''";
    else
      quoted += c;
  }
  return quoted + "'";
}

std::string Serial(const std::string& dir, const std::string& cert) {
  std::string out = RunInDir(dir, "openssl x509 -in " + Quote(cert) + " -noout -serial");
  std::size_t equals = out.find('=');
  if (equals == std::string::npos) throw std::runtime_error("openssl x509 -serial: " + out);
  std::string serial = out.substr(equals + 1);
  while (!serial.empty() && (serial.back() == '\n' || serial.back() == '\r')) serial.pop_back();
  return serial;
}

TestCert SignServerCert(const std::string& dir, const std::string& name,
                        const std::string& validity) {
  RunInDir(dir,
           "openssl req -new -config openssl.cnf -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
           "-noenc -keyout " +
               Quote(name + ".key") + " -out " + Quote(name + ".csr") + " -subj " +
               Quote("/CN=localhost/O=" + name));
  RunInDir(dir, "openssl ca -batch -config openssl.cnf -notext " + validity + " -in " +
                    Quote(name + ".csr") + " -out " + Quote(name + ".crt"));
  TestCert cert{dir + "/" + name + ".crt", dir + "/" + name + ".key", ""};
  cert.serial = Serial(dir, cert.cert_file);
  return cert;
}

}  // namespace

TempDir::TempDir() {
  const char* tmp = getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/slipway-test-XXXXXX";
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp " + pattern + " failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string RunInDir(const std::string& dir, const std::string& command) {
  std::string line = "cd " + Quote(dir) + " && " + command + " 2>&1";
  FILE* pipe = popen(line.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed: " + line);
  std::string output;
  char buffer[4096];
  while (std::size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  int status = pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("command failed: " + command + "\n" + output);
  }
  return output;
}

TestCert MakeTestCa(const std::string& dir) {
  ReplaceFile(dir + "/openssl.cnf", ReadFile(kTestOpensslConfigPath));
  ReplaceFile(dir + "/index.txt", "");
  RunInDir(dir,
           "openssl req -x509 -config openssl.cnf -extensions ca_ext -newkey ec "
           "-pkeyopt ec_paramgen_curve:P-256 -noenc -keyout ca.key -out ca.crt -days 3650 "
           "-subj '/CN=Slipway Test CA'");
  TestCert ca{dir + "/ca.crt", dir + "/ca.key", ""};
  ca.serial = Serial(dir, ca.cert_file);
  return ca;
}

TestCert MakeServerCert(const std::string& dir, const std::string& name, int days) {
  return SignServerCert(dir, name, "-days " + std::to_string(days));
}

TestCert MakeExpiredServerCert(const std::string& dir, const std::string& name) {
  return SignServerCert(dir, name, "-startdate 20200101000000Z -enddate 20200102000000Z");
}

void ReplaceFile(const std::string& path, const std::string& content) {
  std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) throw std::runtime_error("write " + temporary + " failed");
  }
  std::filesystem::rename(temporary, path);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("open " + path + " failed");
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

}  // namespace slipway::proxy::testing
