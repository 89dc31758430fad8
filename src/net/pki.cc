#include "net/pki.h"

#include <sys/stat.h>

#include <cstdio>
#include <memory>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "runtime/secret_file.h"

namespace rampart::net {

namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(ASN1_INTEGER* p) const { ASN1_INTEGER_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Free>;

std::string reasons() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    out += (out.empty() ? "" : "; ") + std::string(buffer);
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

tl::unexpected<Error> opensslFailure(std::string_view what) {
  return fail(ErrorCode::Internal, "pki: ", what, ": ", reasons());
}

Result<Owned<EVP_PKEY>> newKey() {
  Owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!key) {
    return opensslFailure("EC P-256 key generation");
  }
  return key;
}

Result<std::string> keyPem(EVP_PKEY* key) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return opensslFailure("encode private key");
  }
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

Result<void> writeCertificate(X509* cert, const std::string& path) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return opensslFailure("encode certificate");
  }
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  std::FILE* file = std::fopen(path.c_str(), "wbe");
  if (file == nullptr) {
    return fail(ErrorCode::Internal, "pki: ", path, ": cannot create");
  }
  bool written =
      std::fwrite(data, 1, static_cast<size_t>(length), file) == static_cast<size_t>(length);
  written = std::fclose(file) == 0 && written;
  if (!written || ::chmod(path.c_str(), 0644) != 0) {
    return fail(ErrorCode::Internal, "pki: ", path, ": write failed");
  }
  return ok();
}

Result<void> addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  Owned<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return opensslFailure("extension " + value);
  }
  return ok();
}

// A certificate for `key` named `common_name`, valid from a minute ago (clock skew) for
// `validity`, with a random 159-bit serial; the caller adds extensions and signs it.
Result<Owned<X509>> newCertificate(EVP_PKEY* key, const std::string& common_name,
                                   std::chrono::hours validity) {
  Owned<X509> cert(X509_new());
  Owned<BIGNUM> serial(BN_new());
  if (!cert || !serial || BN_rand(serial.get(), 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) ||
      X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      !X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                       std::chrono::duration_cast<std::chrono::seconds>(validity).count()) ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return opensslFailure("new certificate");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1) {
    return opensslFailure("common name '" + common_name + "'");
  }
  return cert;
}

Result<Owned<X509>> readCertificate(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rbe");
  if (file == nullptr) {
    return fail(ErrorCode::NotFound, "pki: ", path, ": cannot open");
  }
  Owned<X509> cert(PEM_read_X509(file, nullptr, nullptr, nullptr));
  std::fclose(file);
  if (!cert) {
    return opensslFailure(path);
  }
  return cert;
}

Result<Owned<EVP_PKEY>> readKey(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rbe");
  if (file == nullptr) {
    return fail(ErrorCode::NotFound, "pki: ", path, ": cannot open");
  }
  Owned<EVP_PKEY> key(PEM_read_PrivateKey(file, nullptr, nullptr, nullptr));
  std::fclose(file);
  if (!key) {
    return opensslFailure(path);
  }
  return key;
}

}  // namespace

Result<void> makeCa(const std::string& dir, const std::string& common_name) {
  auto key = newKey();
  if (!key) {
    return fail(key.error());
  }
  auto cert = newCertificate(key->get(), common_name, std::chrono::hours(24 * 365 * 10));
  if (!cert) {
    return fail(cert.error());
  }
  X509* c = cert->get();
  if (X509_set_issuer_name(c, X509_get_subject_name(c)) != 1) {
    return opensslFailure("issuer");
  }
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                            std::pair{NID_subject_key_identifier, "hash"}}) {
    if (auto r = addExtension(c, c, nid, value); !r) {
      return r;
    }
  }
  if (X509_sign(c, key->get(), EVP_sha256()) == 0) {
    return opensslFailure("sign CA");
  }
  auto pem = keyPem(key->get());
  if (!pem) {
    return fail(pem.error());
  }
  if (auto r = runtime::writeSecretFile(dir + "/ca-key.pem", *pem); !r) {
    return r;
  }
  return writeCertificate(c, dir + "/ca.pem");
}

Result<void> issueCertificate(const std::string& ca_dir, const CertificateSpec& spec,
                              const std::string& cert_path, const std::string& key_path) {
  auto ca_cert = readCertificate(ca_dir + "/ca.pem");
  if (!ca_cert) {
    return fail(ca_cert.error());
  }
  auto ca_key = readKey(ca_dir + "/ca-key.pem");
  if (!ca_key) {
    return fail(ca_key.error());
  }
  auto key = newKey();
  if (!key) {
    return fail(key.error());
  }
  auto cert = newCertificate(key->get(), spec.common_name, spec.validity);
  if (!cert) {
    return fail(cert.error());
  }
  X509* c = cert->get();
  if (X509_set_issuer_name(c, X509_get_subject_name(ca_cert->get())) != 1) {
    return opensslFailure("issuer");
  }
  std::string usage;
  if (spec.server_auth) {
    usage += "serverAuth";
  }
  if (spec.client_auth) {
    usage += usage.empty() ? "clientAuth" : ",clientAuth";
  }
  std::string alt_names;
  for (const auto& dns : spec.dns_names) {
    alt_names += (alt_names.empty() ? "DNS:" : ",DNS:") + dns;
  }
  for (const auto& ip : spec.ip_addresses) {
    alt_names += (alt_names.empty() ? "IP:" : ",IP:") + ip;
  }
  std::vector<std::pair<int, std::string>> extensions = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"}};
  if (!usage.empty()) {
    extensions.emplace_back(NID_ext_key_usage, usage);
  }
  if (!alt_names.empty()) {
    extensions.emplace_back(NID_subject_alt_name, alt_names);
  }
  for (const auto& [nid, value] : extensions) {
    if (auto r = addExtension(c, ca_cert->get(), nid, value); !r) {
      return r;
    }
  }
  if (X509_sign(c, ca_key->get(), EVP_sha256()) == 0) {
    return opensslFailure("sign certificate");
  }
  auto pem = keyPem(key->get());
  if (!pem) {
    return fail(pem.error());
  }
  if (auto r = runtime::writeSecretFile(key_path, *pem); !r) {
    return r;
  }
  return writeCertificate(c, cert_path);
}

}  // namespace rampart::net
