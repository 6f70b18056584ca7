#include "proxy/tls_context.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/ssl/context.hpp>

namespace slipway::proxy {

struct TlsServerContext::Loaded {
  boost::asio::ssl::context context{boost::asio::ssl::context::tls_server};
  TlsCertificateInfo certificate;
};

namespace {

// TLS 1.2: ECDHE only (forward secrecy), AEAD only; ECDSA before RSA, AES-128 first (as fast
// and as strong as needed), ChaCha20 for clients without AES hardware. TLS 1.3's suites are all
// AEAD with ECDHE; this is OpenSSL's default set in the same preference order.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kTls13Ciphersuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
// OpenSSL 3 always picks the ECDH curve automatically (SSL_CTX_set_ecdh_auto is a no-op); this
// is the order it picks from.
constexpr const char* kGroups = "X25519:P-256:P-384";
// Certificate and key files are a few KiB; anything this big is the wrong file.
constexpr off_t kMaxPemBytes = 1 << 20;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* x509) const { X509_free(x509); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// The reason of the oldest error on this thread's OpenSSL queue, which it empties: errors left
// there would be reported by the next TLS operation on the thread.
std::string TakeOpenSslError() {
  unsigned long code = ERR_get_error();
  const char* reason = code ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  return reason ? reason : "unknown OpenSSL error";
}

Error FileError(std::string_view role, const std::string& path, std::string_view why) {
  std::string message = "tls ";
  message.append(role).append(" ").append(path).append(": ").append(why);
  return Error{std::move(message)};
}

Result<std::string> ReadPemFile(std::string_view role, const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FileError(role, path, std::strerror(errno));
  struct stat st {};
  std::string content;
  std::string why;
  if (fstat(fd, &st) != 0) {
    why = std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    why = "not a regular file";
  } else if (st.st_size > kMaxPemBytes) {
    why = "larger than 1 MiB, not a PEM certificate or key";
  } else {
    content.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < content.size()) {
      ssize_t n = read(fd, content.data() + got, content.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) why = std::strerror(errno);
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    content.resize(got);  // the file may have shrunk while being read
  }
  close(fd);
  if (!why.empty()) return FileError(role, path, why);
  if (content.empty()) return FileError(role, path, "empty file");
  return content;
}

// Never prompts on the terminal for a passphrase (OpenSSL's default for encrypted PEM).
int NoPassphrase(char*, int, int, void*) { return -1; }

BioPtr MemoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

Result<std::vector<X509Ptr>> ParseCertificates(const std::string& path, const std::string& pem) {
  std::vector<X509Ptr> chain;
  BioPtr bio = MemoryBio(pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr)) {
    chain.emplace_back(cert);
  }
  // Reading stops with "no start line" at the end of the file; any other reason is damage.
  unsigned long last = ERR_peek_last_error();
  bool clean_end = ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
  std::string reason = TakeOpenSslError();
  if (!clean_end) {
    return FileError(
        "cert_file", path,
        "invalid PEM certificate #" + std::to_string(chain.size() + 1) + ": " + reason);
  }
  if (chain.empty()) {
    if (Contains(pem, "PRIVATE KEY-----")) {
      return FileError("cert_file", path,
                       "holds a private key, not a certificate (cert_file and key_file swapped?)");
    }
    return FileError("cert_file", path,
                     Contains(pem, "-----BEGIN")
                         ? "no PEM certificate in it (no -----BEGIN CERTIFICATE----- block)"
                         : "not PEM (expected -----BEGIN CERTIFICATE-----; convert DER with "
                           "`openssl x509 -inform der`)");
  }
  return chain;
}

Result<PkeyPtr> ParsePrivateKey(const std::string& path, const std::string& pem) {
  if (Contains(pem, "ENCRYPTED")) {  // "BEGIN ENCRYPTED PRIVATE KEY" or "Proc-Type: 4,ENCRYPTED"
    return FileError("key_file", path,
                     "encrypted private keys are not supported (decrypt it with `openssl pkey`)");
  }
  if (!Contains(pem, "PRIVATE KEY-----")) {
    if (Contains(pem, "BEGIN CERTIFICATE")) {
      return FileError("key_file", path,
                       "holds a certificate, not a private key (cert_file and key_file swapped?)");
    }
    return FileError("key_file", path, "not PEM (expected -----BEGIN PRIVATE KEY-----)");
  }
  ERR_clear_error();
  BioPtr bio = MemoryBio(pem);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (!key) return FileError("key_file", path, "invalid PEM private key: " + TakeOpenSslError());
  return key;
}

std::string NameText(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string SerialHex(const X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* hex = bn ? BN_bn2hex(bn) : nullptr;
  std::string serial = hex ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return serial;
}

// nullopt when OpenSSL cannot read the time (a malformed certificate).
std::optional<std::chrono::system_clock::time_point> TimePoint(const ASN1_TIME* time) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(time, &tm) != 1) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string Iso8601(std::chrono::system_clock::time_point time) {
  std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// "certificate" for the leaf, "certificate #2 (CN=...)" for the others.
std::string CertificateLabel(const std::vector<X509Ptr>& chain, std::size_t index) {
  std::string subject = NameText(X509_get_subject_name(chain[index].get()));
  if (index == 0) return "certificate " + subject;
  return "certificate #" + std::to_string(index + 1) + " (" + subject + ")";
}

// Picks "http/1.1" from the client's ALPN list. Without it (a client offering only h2),
// NOACK: the handshake goes on without ALPN and the client falls back to HTTP/1.1.
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
               unsigned int in_len, void*) {
  constexpr std::string_view kHttp11 = "http/1.1";
  unsigned int i = 0;
  while (i < in_len) {
    unsigned int len = in[i];
    if (len == 0 || i + 1 + len > in_len) break;  // malformed list
    std::string_view protocol(reinterpret_cast<const char*>(in + i + 1), len);
    if (protocol == kHttp11) {
      *out = in + i + 1;  // points into the ClientHello, which outlives the callback's use
      *out_len = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

// Everything but the certificate: protocol versions, ciphers, options, ALPN.
Status ConfigureProtocol(SSL_CTX* ctx) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, 0) != 1 ||  // 0: the highest OpenSSL has (TLS 1.3)
      SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(ctx, kTls13Ciphersuites) != 1 ||
      SSL_CTX_set1_groups_list(ctx, kGroups) != 1) {
    return Error{"tls: configuring OpenSSL: " + TakeOpenSslError()};
  }
  SSL_CTX_set_options(
      ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_default_passwd_cb(ctx, NoPassphrase);
  SSL_CTX_set_alpn_select_cb(ctx, SelectAlpn, nullptr);
  return Ok();
}

Result<std::shared_ptr<TlsServerContext::Loaded>> Build(const std::string& cert_file,
                                                        const std::string& key_file) {
  Result<std::string> cert_pem = ReadPemFile("cert_file", cert_file);
  if (!cert_pem) return cert_pem.error();
  Result<std::string> key_pem = ReadPemFile("key_file", key_file);
  if (!key_pem) return key_pem.error();

  ERR_clear_error();
  Result<std::vector<X509Ptr>> chain = ParseCertificates(cert_file, *cert_pem);
  if (!chain) return chain.error();
  Result<PkeyPtr> key = ParsePrivateKey(key_file, *key_pem);
  if (!key) return key.error();

  X509* leaf = chain->front().get();
  if (X509_check_private_key(leaf, key->get()) != 1) {
    ERR_clear_error();
    for (std::size_t i = 1; i < chain->size(); ++i) {
      if (X509_check_private_key((*chain)[i].get(), key->get()) == 1) {
        return FileError("key_file", key_file,
                         "the key matches certificate #" + std::to_string(i + 1) + " in " +
                             cert_file + ", not the first; the leaf certificate must come first");
      }
      ERR_clear_error();
    }
    return FileError("key_file", key_file,
                     "private key does not match the certificate in " + cert_file + " (" +
                         NameText(X509_get_subject_name(leaf)) + ")");
  }

  for (std::size_t i = 0; i < chain->size(); ++i) {
    const ASN1_TIME* not_after = X509_get0_notAfter((*chain)[i].get());
    std::optional<std::chrono::system_clock::time_point> end = TimePoint(not_after);
    if (!end)
      return FileError("cert_file", cert_file, CertificateLabel(*chain, i) + ": bad notAfter");
    if (X509_cmp_current_time(not_after) < 0) {
      return FileError(
          "cert_file", cert_file,
          CertificateLabel(*chain, i) + " expired on " + Iso8601(*end) + " (notAfter)");
    }
  }

  std::shared_ptr<TlsServerContext::Loaded> loaded;
  try {
    loaded = std::make_shared<TlsServerContext::Loaded>();
  } catch (const std::exception& e) {  // SSL_CTX_new failed: out of memory
    return Error{std::string("tls: creating an OpenSSL context: ") + e.what()};
  }
  SSL_CTX* ctx = loaded->context.native_handle();
  if (Status configured = ConfigureProtocol(ctx); !configured) return configured.error();
  bool installed = SSL_CTX_use_certificate(ctx, leaf) == 1;
  for (std::size_t i = 1; installed && i < chain->size(); ++i) {
    installed = SSL_CTX_add1_chain_cert(ctx, (*chain)[i].get()) == 1;
  }
  installed = installed && SSL_CTX_use_PrivateKey(ctx, key->get()) == 1;
  if (!installed || SSL_CTX_check_private_key(ctx) != 1) {
    // The key matched the leaf above, so this is what OpenSSL refuses to serve (a key too weak
    // for its security level, say).
    return FileError("key_file", key_file,
                     "OpenSSL refused the certificate and key: " + TakeOpenSslError());
  }

  TlsCertificateInfo& info = loaded->certificate;
  info.subject = NameText(X509_get_subject_name(leaf));
  info.issuer = NameText(X509_get_issuer_name(leaf));
  info.serial = SerialHex(leaf);
  info.not_after = *TimePoint(X509_get0_notAfter(leaf));
  info.not_after_text = Iso8601(info.not_after);
  ERR_clear_error();
  return loaded;
}

}  // namespace

Result<std::unique_ptr<TlsServerContext>> TlsServerContext::Load(std::string cert_file,
                                                                 std::string key_file) {
  Result<std::shared_ptr<Loaded>> loaded = Build(cert_file, key_file);
  if (!loaded) return loaded.error();
  return std::unique_ptr<TlsServerContext>(
      new TlsServerContext(std::move(cert_file), std::move(key_file), std::move(*loaded)));
}

TlsServerContext::TlsServerContext(std::string cert_file, std::string key_file,
                                   std::shared_ptr<Loaded> loaded)
    : cert_file_(std::move(cert_file)),
      key_file_(std::move(key_file)),
      loaded_(std::move(loaded)) {}

TlsServerContext::~TlsServerContext() = default;

std::shared_ptr<boost::asio::ssl::context> TlsServerContext::Current() const {
  std::shared_ptr<Loaded> loaded = loaded_.load(std::memory_order_acquire);
  // Aliasing: the caller holds the context, and through it the whole Loaded.
  return std::shared_ptr<boost::asio::ssl::context>(loaded, &loaded->context);
}

Status TlsServerContext::Reload() {
  std::lock_guard lock(reload_mu_);
  Result<std::shared_ptr<Loaded>> loaded = Build(cert_file_, key_file_);
  if (!loaded) return loaded.error();
  loaded_.store(std::move(*loaded), std::memory_order_release);
  return Ok();
}

TlsCertificateInfo TlsServerContext::Certificate() const {
  return loaded_.load(std::memory_order_acquire)->certificate;
}

}  // namespace slipway::proxy
