#include "net/tls.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include "net/pki.h"
#include "testing/test_files.h"

namespace rampart::net {
namespace {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

using rampart::testing::TempDir;

unsigned modeOf(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 0777) : 0;
}

// `openssl verify` exit status 0 (the certificate chains to the CA and may serve as `purpose`).
bool opensslVerifies(const std::string& ca, const std::string& cert, const std::string& purpose) {
  std::string command =
      "openssl verify -purpose " + purpose + " -CAfile " + ca + " " + cert + " >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

// A lab CA in <dir>/<name>/ and a server+client certificate for 127.0.0.1 and localhost.
struct Lab {
  explicit Lab(const std::string& dir, const std::string& name = "ca") : ca_dir(dir + "/" + name) {
    std::filesystem::create_directories(ca_dir);
    EXPECT_TRUE(makeCa(ca_dir, "Rampart test CA " + name));
    CertificateSpec spec;
    spec.common_name = "member-1";
    spec.dns_names = {"localhost"};
    spec.ip_addresses = {"127.0.0.1"};
    auto issued = issueCertificate(ca_dir, spec, ca_dir + "/node.pem", ca_dir + "/node-key.pem");
    EXPECT_TRUE(issued) << issued.error().message;
  }
  TlsFiles server() const { return {ca_dir + "/ca.pem", cert(), key(), ""}; }
  TlsFiles client() const { return {ca_dir + "/ca.pem", cert(), key(), ""}; }
  std::string ca() const { return ca_dir + "/ca.pem"; }
  std::string cert() const { return ca_dir + "/node.pem"; }
  std::string key() const { return ca_dir + "/node-key.pem"; }
  std::string ca_dir;
};

TEST(Pki, IssuedCertificateVerifiesAgainstItsCaWithOpenssl) {
  TempDir dir;
  Lab lab(dir.path());
  EXPECT_TRUE(opensslVerifies(lab.ca(), lab.cert(), "sslserver"));
  EXPECT_TRUE(opensslVerifies(lab.ca(), lab.cert(), "sslclient"));
  std::string command = "openssl x509 -noout -ext subjectAltName -in " + lab.cert() +
                        " | grep -q 'DNS:localhost, IP Address:127.0.0.1'";
  EXPECT_EQ(std::system(command.c_str()), 0);
}

TEST(Pki, CertificateFromAnotherCaIsRefused) {
  TempDir dir;
  Lab lab(dir.path(), "one");
  Lab other(dir.path(), "two");
  EXPECT_FALSE(opensslVerifies(other.ca(), lab.cert(), "sslserver"));
}

TEST(Pki, KeysAre0600AndCertificates0644) {
  TempDir dir;
  Lab lab(dir.path());
  EXPECT_EQ(modeOf(lab.ca_dir + "/ca-key.pem"), 0600u);
  EXPECT_EQ(modeOf(lab.key()), 0600u);
  EXPECT_EQ(modeOf(lab.cert()), 0644u);
  EXPECT_EQ(modeOf(lab.ca()), 0644u);
}

TEST(Pki, ServerOnlyCertificateIsNotAClientCertificate) {
  TempDir dir;
  Lab lab(dir.path());
  CertificateSpec spec;
  spec.common_name = "server-only";
  spec.client_auth = false;
  ASSERT_TRUE(issueCertificate(lab.ca_dir, spec, dir.path() + "/s.pem", dir.path() + "/s-key.pem"));
  EXPECT_TRUE(opensslVerifies(lab.ca(), dir.path() + "/s.pem", "sslserver"));
  EXPECT_FALSE(opensslVerifies(lab.ca(), dir.path() + "/s.pem", "sslclient"));
}

TEST(TlsContext, ErrorsNameTheFieldAndTheFile) {
  auto missing = makeClientContext({"/nonexistent/ca.pem", "", "", ""});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("tls.ca: /nonexistent/ca.pem"), std::string::npos)
      << missing.error().message;
  auto half = makeClientContext({"", "/x/cert.pem", "", ""});
  ASSERT_FALSE(half);
  EXPECT_NE(half.error().message.find("cert and key"), std::string::npos);
  EXPECT_FALSE(makeServerContext({}));
}

TEST(TlsContext, KeyThatDoesNotMatchTheCertificateIsRefused) {
  TempDir dir;
  Lab lab(dir.path(), "one");
  Lab other(dir.path(), "two");
  auto mismatched = makeServerContext({"", lab.cert(), other.key(), ""});
  ASSERT_FALSE(mismatched);
  EXPECT_NE(mismatched.error().message.find("tls.key"), std::string::npos);
}

// One TLS handshake over loopback: the server with `server_files`, the client with
// `client_files` checking `host`. Returns the client's error ("" on success) and the client
// certificate's common name as the server saw it.
struct Handshake {
  std::string client_error;
  std::string server_saw;
};

Handshake handshake(const TlsFiles& server_files, const TlsFiles& client_files,
                    const std::string& host) {
  auto server_ctx = makeServerContext(server_files);
  auto client_ctx = makeClientContext(client_files);
  EXPECT_TRUE(server_ctx && client_ctx);
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  Handshake out;
  std::thread server([&] {
    asio::ssl::stream<tcp::socket> stream(acceptor.accept(), **server_ctx);
    boost::system::error_code ec;
    stream.handshake(asio::ssl::stream_base::server, ec);
    if (!ec) {
      out.server_saw = peerCommonName(stream.native_handle());
    }
  });
  asio::ssl::stream<tcp::socket> stream(io, **client_ctx);
  EXPECT_TRUE(prepareClientConnection(stream.native_handle(), client_files, host));
  stream.next_layer().connect(acceptor.local_endpoint());
  boost::system::error_code ec;
  stream.handshake(asio::ssl::stream_base::client, ec);
  out.client_error = ec ? ec.message() : "";
  stream.next_layer().close();
  server.join();
  return out;
}

TEST(TlsContext, VerifiedHandshakeByIpAndNameGivesTheClientsCommonName) {
  TempDir dir;
  Lab lab(dir.path());
  auto by_ip = handshake(lab.server(), lab.client(), "127.0.0.1");
  EXPECT_EQ(by_ip.client_error, "");
  EXPECT_EQ(by_ip.server_saw, "member-1");
  auto by_name = handshake(lab.server(), lab.client(), "localhost");
  EXPECT_EQ(by_name.client_error, "");
}

TEST(TlsContext, ClientRefusesAServerFromAnotherCa) {
  TempDir dir;
  Lab lab(dir.path(), "one");
  Lab other(dir.path(), "two");
  auto result = handshake(lab.server(), other.client(), "127.0.0.1");
  EXPECT_NE(result.client_error, "");
  EXPECT_EQ(result.server_saw, "");
}

TEST(TlsContext, ClientRefusesAServerWhoseCertificateNamesAnotherHost) {
  TempDir dir;
  Lab lab(dir.path());
  auto wrong_ip = handshake(lab.server(), lab.client(), "127.0.0.2");
  EXPECT_NE(wrong_ip.client_error, "");
  TlsFiles named = lab.client();
  named.server_name = "db.example.com";
  EXPECT_NE(handshake(lab.server(), named, "127.0.0.1").client_error, "");
}

TEST(TlsContext, ServerRequiresAClientCertificateWhenItHasACa) {
  TempDir dir;
  Lab lab(dir.path());
  TlsFiles anonymous{lab.ca(), "", "", ""};
  auto result = handshake(lab.server(), anonymous, "127.0.0.1");
  EXPECT_EQ(result.server_saw, "");
  // TLS 1.3 lets the client finish before the server's refusal arrives; the server must not
  // have accepted an identity either way.
}

}  // namespace
}  // namespace rampart::net
