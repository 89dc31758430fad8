#include "store/etcd_config.h"

#include "runtime/secret_file.h"

namespace rampart::store {

Result<EtcdSection> parseEtcdSection(const config::Section& etcd, EtcdSection defaults,
                                     bool with_prefix) {
  auto allowed =
      with_prefix
          ? etcd.allowOnly(
                {"endpoints", "prefix", "request_timeout", "tls", "user", "password_file"})
          : etcd.allowOnly({"endpoints", "request_timeout", "tls", "user", "password_file"});
  if (!allowed) {
    return fail(allowed.error());
  }
  EtcdSection out = std::move(defaults);
  if (etcd.has("endpoints")) {
    auto endpoints = etcd.endpointList("endpoints");
    if (!endpoints) {
      return fail(endpoints.error());
    }
    out.options.endpoints = std::move(*endpoints);
  }
  auto timeout = etcd.duration("request_timeout", out.options.request_timeout);
  if (!timeout) {
    return fail(timeout.error());
  }
  out.options.request_timeout = *timeout;
  if (with_prefix) {
    auto prefix = etcd.string("prefix", out.prefix);
    if (!prefix) {
      return fail(prefix.error());
    }
    if (prefix->empty() || prefix->front() != '/') {
      return fail(ErrorCode::InvalidArgument, etcd.whereIs("prefix"), ": ", etcd.path(),
                  ".prefix: must start with '/'");
    }
    out.prefix = *prefix;
  }
  auto tls = etcd.tls("tls");
  if (!tls) {
    return fail(tls.error());
  }
  if (!tls->empty()) {
    out.options.tls = *tls;
  }
  auto user = etcd.string("user", out.options.user);
  auto password_file = etcd.string("password_file", out.options.password_file);
  if (!user || !password_file) {
    return fail(!user ? user.error() : password_file.error());
  }
  out.options.user = *user;
  out.options.password_file = *password_file;
  if (!out.options.password_file.empty()) {
    if (out.options.user.empty()) {
      return fail(ErrorCode::InvalidArgument, etcd.whereIs("password_file"), ": ", etcd.path(),
                  ".password_file: needs etcd.user");
    }
    if (auto r = runtime::checkSecretFilePermissions(out.options.password_file); !r) {
      return fail(ErrorCode::InvalidArgument, etcd.whereIs("password_file"), ": ", etcd.path(),
                  ".password_file: ", r.error().message);
    }
  }
  return out;
}

}  // namespace rampart::store
