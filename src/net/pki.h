#pragma once
// A lab PKI: a self-signed CA and certificates it signs, made with OpenSSL's C API (EC P-256
// keys, SHA-256 signatures). For labs, tests and `rampart etcd up --tls`; not for production
// CAs (no revocation, no key protection beyond file modes). Blocking file I/O.

#include <chrono>
#include <string>
#include <vector>

#include "base/result.h"

namespace rampart::net {

struct CertificateSpec {
  std::string common_name;
  std::vector<std::string> dns_names;     // subjectAltName DNS
  std::vector<std::string> ip_addresses;  // subjectAltName IP
  bool server_auth = true;                // extendedKeyUsage
  bool client_auth = true;
  std::chrono::hours validity{24 * 365};
};

// Creates <dir>/ca.pem and <dir>/ca-key.pem (key 0600) with a new self-signed CA (EC P-256 keys).
// `dir` must exist.
Result<void> makeCa(const std::string& dir, const std::string& common_name);

// Issues a certificate signed by the CA in ca_dir; writes cert_path (0644) and key_path (0600).
Result<void> issueCertificate(const std::string& ca_dir, const CertificateSpec& spec,
                              const std::string& cert_path, const std::string& key_path);

}  // namespace rampart::net
