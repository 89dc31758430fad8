#pragma once
// Reading YAML configuration with errors an operator can act on: every error names the file,
// the line and column, and the field's path ("member.yaml:7:10: etcd.request_timeout: invalid
// duration 'fast': ..."). Unknown keys are errors too (a typo must not silently fall back to a
// default). Parsing is all-or-nothing: callers build their config struct from a Section and only
// swap it in when everything parsed, so a bad reload changes nothing.
// Sections are values; thread-compatible.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/node/node.h>

#include "base/clock.h"
#include "base/result.h"
#include "net/endpoint.h"
#include "net/tls.h"

namespace rampart::config {

class Section {
 public:
  Section(YAML::Node node, std::shared_ptr<const std::string> file, std::string path)
      : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)) {}

  Result<std::string> requiredString(std::string_view key) const;
  Result<std::string> string(std::string_view key, std::string fallback) const;
  Result<Duration> duration(std::string_view key, Duration fallback) const;
  Result<int64_t> integer(std::string_view key, int64_t fallback, int64_t min, int64_t max) const;
  Result<bool> boolean(std::string_view key, bool fallback) const;
  // "host:port" (an http:// prefix is accepted).
  Result<net::Endpoint> endpoint(std::string_view key, net::Endpoint fallback) const;
  // A list of "host:port"; a single string is accepted as a list of one.
  Result<std::vector<net::Endpoint>> endpointList(std::string_view key) const;
  // A list of strings; a single string is accepted as a list of one.
  Result<std::vector<std::string>> stringList(std::string_view key) const;
  // A mapping of names to scalars (e.g. extra postgresql.conf settings); absent gives {}.
  Result<std::map<std::string, std::string>> stringMap(std::string_view key) const;
  // A `tls:` mapping {ca: FILE, cert: FILE, key: FILE, server_name: NAME}; absent gives empty
  // TlsFiles. Unknown keys are rejected, cert and key must come together, and each file must
  // exist (errors name file:line:col and the field, e.g. "etcd.tls.ca").
  Result<net::TlsFiles> tls(std::string_view key) const;
  // A credential sent in an HTTP header: `key` inline, or `<key>_file` naming a file whose first
  // line it is (refused when others may read the file, or it is not ours); not both. "" when
  // neither is given. A control character (a newline would end the header) is refused; the
  // messages never quote the credential.
  Result<std::string> credential(std::string_view key) const;
  // A nested mapping; an absent key gives an empty section.
  Result<Section> section(std::string_view key) const;
  // A list of mappings (e.g. backends); an absent key gives an empty list.
  Result<std::vector<Section>> sectionList(std::string_view key) const;
  bool has(std::string_view key) const;
  // Fails on the first key not in `allowed`, naming it and its line.
  Result<void> allowOnly(std::initializer_list<std::string_view> allowed) const;

  // "file:line:col" of this section.
  std::string where() const;
  // "file:line:col" of the value of `key`, or of this section when it is absent.
  std::string whereIs(std::string_view key) const;
  const std::string& path() const { return path_; }

 private:
  std::string fieldPath(std::string_view key) const;
  std::string whereOf(const YAML::Node& node) const;
  Error invalid(const YAML::Node& node, std::string_view key, std::string_view why) const;

  YAML::Node node_;
  std::shared_ptr<const std::string> file_;
  std::string path_;  // dotted path of this section ("" at the top)
};

// The `admin: {listen: host:port, tls: {...}}` section every role's config has (the Daemon's
// admin server): where it listens, and its optional TLS (cert and key; a ca makes client
// certificates required).
Result<net::Endpoint> adminListen(const Section& root, net::Endpoint fallback);
Result<net::TlsFiles> adminTls(const Section& root);

// The top-level mapping of a YAML file (or text, named `name` in errors).
Result<Section> loadFile(const std::string& file);
Result<Section> loadString(const std::string& text, const std::string& name);

}  // namespace rampart::config
