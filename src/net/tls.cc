#include "net/tls.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ssl.hpp>

namespace rampart::net {
namespace ssl = boost::asio::ssl;

namespace {

// OpenSSL's reasons for the last failures, oldest first, and clears the queue.
std::string opensslReasons() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!out.empty()) {
      out += "; ";
    }
    out += buffer;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

// A readable regular file, or an error naming the field and the file.
Result<void> checkReadable(std::string_view field, const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return fail(ErrorCode::InvalidArgument, "tls.", field, ": ", path, ": ", std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(ErrorCode::InvalidArgument, "tls.", field, ": ", path, ": not a regular file");
  }
  return ok();
}

Result<void> loadOwnCertificate(ssl::context& ctx, const TlsFiles& files) {
  if (files.cert.empty() != files.key.empty()) {
    return fail(ErrorCode::InvalidArgument, "tls: cert and key must be given together");
  }
  if (files.cert.empty()) {
    return ok();
  }
  if (auto r = checkReadable("cert", files.cert); !r) {
    return r;
  }
  if (auto r = checkReadable("key", files.key); !r) {
    return r;
  }
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx.native_handle(), files.cert.c_str()) != 1) {
    return fail(ErrorCode::InvalidArgument, "tls.cert: ", files.cert, ": ", opensslReasons());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.native_handle(), files.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail(ErrorCode::InvalidArgument, "tls.key: ", files.key, ": ", opensslReasons());
  }
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    return fail(ErrorCode::InvalidArgument, "tls.key: ", files.key,
                ": does not match the certificate in ", files.cert);
  }
  return ok();
}

Result<void> loadCa(ssl::context& ctx, const std::string& ca) {
  if (auto r = checkReadable("ca", ca); !r) {
    return r;
  }
  ERR_clear_error();
  if (SSL_CTX_load_verify_locations(ctx.native_handle(), ca.c_str(), nullptr) != 1) {
    return fail(ErrorCode::InvalidArgument, "tls.ca: ", ca, ": ", opensslReasons());
  }
  return ok();
}

Result<SslContextPtr> newContext(ssl::context::method method) {
  try {
    auto ctx = std::make_shared<ssl::context>(method);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
    if (SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION) != 1) {
      return fail(ErrorCode::Internal, "tls: cannot require TLS 1.2: ", opensslReasons());
    }
    return ctx;
  } catch (const std::exception& e) {
    return fail(ErrorCode::Internal, "tls: ", e.what());
  }
}

}  // namespace

// PEM text given inline (a kubeconfig's certificate-authority-data, client-certificate-data...).
Result<void> loadInlinePem(ssl::context& ctx, const TlsFiles& files) {
  boost::system::error_code ec;
  if (files.ca.empty() && !files.ca_pem.empty()) {
    ctx.add_certificate_authority(boost::asio::buffer(files.ca_pem), ec);
    if (ec) {
      return fail(ErrorCode::InvalidArgument, "tls: the inline CA certificate: ", ec.message());
    }
  }
  if (files.cert.empty() && (!files.cert_pem.empty() || !files.key_pem.empty())) {
    if (files.cert_pem.empty() || files.key_pem.empty()) {
      return fail(ErrorCode::InvalidArgument,
                  "tls: an inline client certificate and its key must be given together");
    }
    ctx.use_certificate_chain(boost::asio::buffer(files.cert_pem), ec);
    if (!ec) {
      ctx.use_private_key(boost::asio::buffer(files.key_pem), ssl::context::pem, ec);
    }
    if (ec) {
      return fail(ErrorCode::InvalidArgument, "tls: the inline client certificate: ", ec.message());
    }
  }
  return ok();
}

Result<SslContextPtr> makeClientContext(const TlsFiles& files) {
  auto ctx = newContext(ssl::context::tls_client);
  if (!ctx) {
    return ctx;
  }
  if (files.ca.empty() && !files.ca_pem.empty()) {
    // Only the given CA, as kubectl trusts only a kubeconfig's certificate-authority-data.
  } else if (!files.ca.empty()) {
    if (auto r = loadCa(**ctx, files.ca); !r) {
      return fail(r.error());
    }
  } else if (SSL_CTX_set_default_verify_paths((*ctx)->native_handle()) != 1) {
    return fail(ErrorCode::Internal, "tls: no default CA paths: ", opensslReasons());
  }
  if (auto r = loadOwnCertificate(**ctx, files); !r) {
    return fail(r.error());
  }
  if (auto r = loadInlinePem(**ctx, files); !r) {
    return fail(r.error());
  }
  SSL_CTX_set_verify((*ctx)->native_handle(), SSL_VERIFY_PEER, nullptr);
  return ctx;
}

Result<SslContextPtr> makeServerContext(const TlsFiles& files) {
  if (files.cert.empty() || files.key.empty()) {
    return fail(ErrorCode::InvalidArgument, "tls: a server needs cert and key");
  }
  auto ctx = newContext(ssl::context::tls_server);
  if (!ctx) {
    return ctx;
  }
  if (auto r = loadOwnCertificate(**ctx, files); !r) {
    return fail(r.error());
  }
  if (!files.ca.empty()) {
    if (auto r = loadCa(**ctx, files.ca); !r) {
      return fail(r.error());
    }
    // Tell clients which CAs are accepted, and refuse a client without a certificate.
    SSL_CTX_set_client_CA_list((*ctx)->native_handle(), SSL_load_client_CA_file(files.ca.c_str()));
    SSL_CTX_set_verify((*ctx)->native_handle(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       nullptr);
  } else {
    SSL_CTX_set_verify((*ctx)->native_handle(), SSL_VERIFY_NONE, nullptr);
  }
  return ctx;
}

std::string peerCommonName(void* ssl_handle) {
  auto* ssl = static_cast<SSL*>(ssl_handle);
  if (ssl == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) {
    return "";
  }
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) {
    return "";
  }
  std::string out;
  X509_NAME* subject = X509_get_subject_name(cert);
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index >= 0) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    unsigned char* utf8 = nullptr;
    int length = ASN1_STRING_to_UTF8(&utf8, data);
    if (length > 0) {
      out.assign(reinterpret_cast<char*>(utf8), static_cast<size_t>(length));
    }
    OPENSSL_free(utf8);
  }
  X509_free(cert);
  return out;
}

Result<void> prepareClientConnection(void* ssl_handle, const TlsFiles& files,
                                     const std::string& host) {
  auto* ssl = static_cast<SSL*>(ssl_handle);
  const std::string& name = files.server_name.empty() ? host : files.server_name;
  in6_addr ignored{};
  bool is_ip = ::inet_pton(AF_INET, name.c_str(), &ignored) == 1 ||
               ::inet_pton(AF_INET6, name.c_str(), &ignored) == 1;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (is_ip) {
    if (X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) != 1) {
      return fail(ErrorCode::InvalidArgument, "tls: bad IP address '", name, "'");
    }
  } else {
    // SNI only for names (RFC 6066 forbids IP literals there).
    if (SSL_set_tlsext_host_name(ssl, name.c_str()) != 1 ||
        X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size()) != 1) {
      return fail(ErrorCode::InvalidArgument, "tls: bad server name '", name, "'");
    }
  }
  return ok();
}

}  // namespace rampart::net
