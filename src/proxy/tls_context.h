// TLS termination for a listener: a certificate chain and key, loaded into a server
// boost::asio::ssl::context, and reloaded in place when the files change (certificate renewal)
// without touching connections already open.
//
// The context allows TLS 1.2 and 1.3 only; TLS 1.2 uses ECDHE key exchange with AES-GCM or
// ChaCha20-Poly1305 (forward secrecy, AEAD), with the server's preference order; compression
// and renegotiation are off, session tickets on (their keys are per context, so a Reload makes
// clients do one full handshake); ALPN selects "http/1.1" and a client that offers only other
// protocols (say h2) still connects, without ALPN.
//
// Policy on validity: a certificate past its notAfter is an error, from Load and from Reload
// (every client would refuse it; on Reload the old certificate keeps serving, and the error says
// when the new one expired). A notBefore in the future is accepted: a certificate issued a moment
// ago by a CA whose clock runs ahead is still valid a moment later.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "common/result.h"

namespace boost::asio::ssl {
class context;
}

namespace slipway::proxy {

// The leaf certificate a context serves, for logs and the admin API.
struct TlsCertificateInfo {
  std::string subject;  // RFC 2253 (last RDN first), e.g. "O=Slipway,CN=localhost"
  std::string issuer;
  std::string serial;  // upper-case hex, as `openssl x509 -noout -serial` prints it
  std::chrono::system_clock::time_point not_after;
  std::string not_after_text;  // "2025-06-01T12:00:00Z"
};

class TlsServerContext {
 public:
  // Reads `cert_file` (PEM: the leaf certificate first, then any intermediates) and `key_file`
  // (PEM, unencrypted). Errors name the file and say what is wrong with it: unreadable,
  // not PEM, a key that does not match the leaf (or a leaf that is not first), expired.
  static Result<std::unique_ptr<TlsServerContext>> Load(std::string cert_file,
                                                        std::string key_file);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  // The context to create a new connection's ssl::stream with; never null. Thread-safe and
  // cheap: one std::atomic<std::shared_ptr> load, never waiting on a Reload (which builds the
  // new context aside and swaps it in). A connection keeps the shared_ptr for its lifetime: a
  // Reload neither changes nor frees the context the connection was created with.
  std::shared_ptr<boost::asio::ssl::context> Current() const;

  // Re-reads both files. When they make a valid pair, new connections get the new context;
  // otherwise the error says why and the current context keeps serving. Thread-safe.
  Status Reload();

  // The certificate Current() serves.
  TlsCertificateInfo Certificate() const;
  const std::string& cert_file() const { return cert_file_; }
  const std::string& key_file() const { return key_file_; }

  struct Loaded;  // a context and the description of its certificate

 private:
  TlsServerContext(std::string cert_file, std::string key_file, std::shared_ptr<Loaded> loaded);

  const std::string cert_file_;
  const std::string key_file_;
  std::mutex reload_mu_;  // one Reload at a time; never taken by Current()
  std::atomic<std::shared_ptr<Loaded>> loaded_;
};

}  // namespace slipway::proxy
