#include "store/etcd_codec.h"

#include <array>
#include <charconv>

#include <nlohmann/json.hpp>

namespace rampart::store::etcd {
namespace {

using json = nlohmann::json;

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string str(int64_t n) { return std::to_string(n); }

// proto3 JSON int64: a string ("42"), though plain numbers are accepted too.
int64_t int64Field(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) {
    return 0;
  }
  if (it->is_number_integer()) {
    return it->get<int64_t>();
  }
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    int64_t value = 0;
    std::from_chars(s.data(), s.data() + s.size(), value);
    return value;
  }
  return 0;
}

bool boolField(const json& obj, const char* name) {
  auto it = obj.find(name);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

std::string bytesField(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || !it->is_string()) {
    return {};
  }
  auto decoded = base64Decode(it->get_ref<const std::string&>());
  return decoded ? std::move(*decoded) : std::string();
}

Result<json> parse(std::string_view body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return fail(ErrorCode::Internal, "etcd answered with invalid JSON: ",
                body.substr(0, std::min<size_t>(body.size(), 200)));
  }
  return parsed;
}

Revision headerRevision(const json& obj) {
  auto it = obj.find("header");
  return it == obj.end() ? 0 : int64Field(*it, "revision");
}

KeyValue decodeKv(const json& obj) {
  KeyValue kv;
  kv.key = bytesField(obj, "key");
  kv.value = bytesField(obj, "value");
  kv.create_revision = int64Field(obj, "create_revision");
  kv.mod_revision = int64Field(obj, "mod_revision");
  kv.version = int64Field(obj, "version");
  kv.lease = int64Field(obj, "lease");
  return kv;
}

json rangeJson(const RangeRequest& r) {
  json j = {{"key", base64Encode(r.key)}};
  if (!r.range_end.empty()) {
    j["range_end"] = base64Encode(r.range_end);
  }
  if (r.limit) {
    j["limit"] = str(r.limit);
  }
  if (r.revision) {
    j["revision"] = str(r.revision);
  }
  if (r.serializable) {
    j["serializable"] = true;
  }
  if (r.keys_only) {
    j["keys_only"] = true;
  }
  if (r.count_only) {
    j["count_only"] = true;
  }
  return j;
}

json putJson(const PutRequest& r) {
  json j = {{"key", base64Encode(r.key)}, {"value", base64Encode(r.value)}};
  if (r.lease) {
    j["lease"] = str(r.lease);
  }
  if (r.prev_kv) {
    j["prev_kv"] = true;
  }
  return j;
}

json deleteJson(const DeleteRequest& r) {
  json j = {{"key", base64Encode(r.key)}};
  if (!r.range_end.empty()) {
    j["range_end"] = base64Encode(r.range_end);
  }
  if (r.prev_kv) {
    j["prev_kv"] = true;
  }
  return j;
}

json compareJson(const Compare& c) {
  static constexpr std::array<const char*, 4> kOps = {"EQUAL", "GREATER", "LESS", "NOT_EQUAL"};
  json j = {{"key", base64Encode(c.key)}, {"result", kOps[static_cast<int>(c.op)]}};
  switch (c.target) {
    case Compare::Target::Version:
      j["target"] = "VERSION";
      j["version"] = str(c.number);
      break;
    case Compare::Target::CreateRevision:
      j["target"] = "CREATE";
      j["create_revision"] = str(c.number);
      break;
    case Compare::Target::ModRevision:
      j["target"] = "MOD";
      j["mod_revision"] = str(c.number);
      break;
    case Compare::Target::Value:
      j["target"] = "VALUE";
      j["value"] = base64Encode(c.value);
      break;
    case Compare::Target::Lease:
      j["target"] = "LEASE";
      j["lease"] = str(c.number);
      break;
  }
  return j;
}

json opsJson(const std::vector<TxnOp>& ops) {
  json out = json::array();
  for (const auto& op : ops) {
    if (auto* r = std::get_if<RangeRequest>(&op)) {
      out.push_back({{"request_range", rangeJson(*r)}});
    } else if (auto* p = std::get_if<PutRequest>(&op)) {
      out.push_back({{"request_put", putJson(*p)}});
    } else if (auto* d = std::get_if<DeleteRequest>(&op)) {
      out.push_back({{"request_delete_range", deleteJson(*d)}});
    }
  }
  return out;
}

RangeResponse rangeFrom(const json& j) {
  RangeResponse out;
  out.revision = headerRevision(j);
  if (auto it = j.find("kvs"); it != j.end() && it->is_array()) {
    for (const auto& kv : *it) {
      out.kvs.push_back(decodeKv(kv));
    }
  }
  out.more = boolField(j, "more");
  out.count = int64Field(j, "count");
  return out;
}

PutResponse putFrom(const json& j) {
  PutResponse out;
  out.revision = headerRevision(j);
  if (auto it = j.find("prev_kv"); it != j.end() && it->is_object()) {
    out.prev_kv = decodeKv(*it);
  }
  return out;
}

DeleteResponse deleteFrom(const json& j) {
  DeleteResponse out;
  out.revision = headerRevision(j);
  out.deleted = int64Field(j, "deleted");
  if (auto it = j.find("prev_kvs"); it != j.end() && it->is_array()) {
    for (const auto& kv : *it) {
      out.prev_kvs.push_back(decodeKv(kv));
    }
  }
  return out;
}

ErrorCode fromGrpcCode(int64_t code) {
  switch (code) {
    case 1:
      return ErrorCode::Cancelled;
    case 3:
      return ErrorCode::InvalidArgument;
    case 4:
      return ErrorCode::DeadlineExceeded;
    case 5:
      return ErrorCode::NotFound;
    case 6:
      return ErrorCode::AlreadyExists;
    case 7:
      return ErrorCode::PermissionDenied;
    case 9:
      return ErrorCode::FailedPrecondition;
    case 11:
      return ErrorCode::OutOfRange;
    case 13:
      return ErrorCode::Internal;
    case 14:
      return ErrorCode::Unavailable;
    case 16:
      return ErrorCode::Unauthenticated;
    default:
      return ErrorCode::Unknown;
  }
}

}  // namespace

std::string base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back(kAlphabet[n & 63]);
  }
  if (i + 1 == bytes.size()) {
    uint32_t n = uint8_t(bytes[i]) << 16;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.append("==");
  } else if (i + 2 == bytes.size()) {
    uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

Result<std::string> base64Decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') {
      break;
    }
    auto pos = kAlphabet.find(c);
    if (pos == std::string_view::npos) {
      return fail(ErrorCode::InvalidArgument, "invalid base64 character");
    }
    acc = (acc << 6) | static_cast<uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string encodeRange(const RangeRequest& request) { return rangeJson(request).dump(); }
std::string encodePut(const PutRequest& request) { return putJson(request).dump(); }
std::string encodeDelete(const DeleteRequest& request) { return deleteJson(request).dump(); }

std::string encodeTxn(const TxnRequest& request) {
  json compares = json::array();
  for (const auto& c : request.compare) {
    compares.push_back(compareJson(c));
  }
  return json{{"compare", compares},
              {"success", opsJson(request.success)},
              {"failure", opsJson(request.failure)}}
      .dump();
}

std::string encodeCompact(Revision revision) {
  return json{{"revision", str(revision)}, {"physical", true}}.dump();
}

std::string encodeLeaseGrant(std::chrono::seconds ttl) {
  return json{{"TTL", str(ttl.count())}}.dump();
}

std::string encodeLeaseId(LeaseId id) { return json{{"ID", str(id)}}.dump(); }

std::string encodeLeaseTimeToLive(LeaseId id, bool with_keys) {
  return json{{"ID", str(id)}, {"keys", with_keys}}.dump();
}

std::string encodeWatchCreate(const WatchRequest& request) {
  json create = {{"key", base64Encode(request.key)}};
  if (!request.range_end.empty()) {
    create["range_end"] = base64Encode(request.range_end);
  }
  if (request.start_revision) {
    create["start_revision"] = str(request.start_revision);
  }
  if (request.prev_kv) {
    create["prev_kv"] = true;
  }
  return json{{"create_request", create}}.dump();
}

Result<RangeResponse> decodeRange(std::string_view body) {
  auto j = parse(body);
  if (!j) {
    return fail(j.error());
  }
  return rangeFrom(*j);
}

Result<PutResponse> decodePut(std::string_view body) {
  auto j = parse(body);
  if (!j) {
    return fail(j.error());
  }
  return putFrom(*j);
}

Result<DeleteResponse> decodeDelete(std::string_view body) {
  auto j = parse(body);
  if (!j) {
    return fail(j.error());
  }
  return deleteFrom(*j);
}

Result<TxnResponse> decodeTxn(std::string_view body) {
  auto j = parse(body);
  if (!j) {
    return fail(j.error());
  }
  TxnResponse out;
  out.revision = headerRevision(*j);
  out.succeeded = boolField(*j, "succeeded");
  if (auto it = j->find("responses"); it != j->end() && it->is_array()) {
    for (const auto& op : *it) {
      if (auto r = op.find("response_range"); r != op.end()) {
        out.responses.emplace_back(rangeFrom(*r));
      } else if (auto p = op.find("response_put"); p != op.end()) {
        out.responses.emplace_back(putFrom(*p));
      } else if (auto d = op.find("response_delete_range"); d != op.end()) {
        out.responses.emplace_back(deleteFrom(*d));
      }
    }
  }
  return out;
}

Result<LeaseGrantResponse> decodeLeaseGrant(std::string_view body) {
  auto j = parse(body);
  if (!j) {
    return fail(j.error());
  }
  if (auto e = j->find("error"); e != j->end() && e->is_string() && !e->get<std::string>().empty()) {
    return fail(ErrorCode::Unavailable, "lease grant: ", e->get<std::string>());
  }
  return LeaseGrantResponse{int64Field(*j, "ID"), std::chrono::seconds(int64Field(*j, "TTL"))};
}

Result<LeaseKeepAliveResponse> decodeLeaseKeepAlive(std::string_view body) {
  auto j = parse(body);
  if (!j) {
    return fail(j.error());
  }
  const json* result = &*j;
  if (auto it = j->find("result"); it != j->end()) {
    result = &*it;
  }
  auto ttl = int64Field(*result, "TTL");
  if (ttl <= 0) {
    return fail(ErrorCode::NotFound, "lease ", std::to_string(int64Field(*result, "ID")),
                " not found (expired or revoked)");
  }
  return LeaseKeepAliveResponse{std::chrono::seconds(ttl)};
}

Result<LeaseTimeToLiveResponse> decodeLeaseTimeToLive(std::string_view body) {
  auto j = parse(body);
  if (!j) {
    return fail(j.error());
  }
  LeaseTimeToLiveResponse out;
  out.ttl = std::chrono::seconds(int64Field(*j, "TTL"));
  out.granted_ttl = std::chrono::seconds(int64Field(*j, "grantedTTL"));
  if (auto it = j->find("keys"); it != j->end() && it->is_array()) {
    for (const auto& k : *it) {
      if (k.is_string()) {
        auto key = base64Decode(k.get<std::string>());
        if (key) {
          out.keys.push_back(std::move(*key));
        }
      }
    }
  }
  return out;
}

Error decodeError(int http_status, std::string_view body) {
  json j = json::parse(body, nullptr, false);
  std::string message;
  int64_t code = 0;
  if (!j.is_discarded() && j.is_object()) {
    if (auto it = j.find("error"); it != j.end()) {
      // Streams wrap the error object; unary calls put it at the top level.
      const json& e = it->is_object() ? *it : j;
      code = int64Field(e, "code");
      if (auto m = e.find("message"); m != e.end() && m->is_string()) {
        message = m->get<std::string>();
      }
    }
  }
  if (message.empty()) {
    message = "HTTP " + std::to_string(http_status) + ": " +
              std::string(body.substr(0, std::min<size_t>(body.size(), 200)));
  }
  ErrorCode mapped = code                 ? fromGrpcCode(code)
                     : http_status == 401 ? ErrorCode::Unauthenticated
                     : http_status == 403 ? ErrorCode::PermissionDenied
                     : http_status >= 500 ? ErrorCode::Unavailable
                                          : ErrorCode::Unknown;
  return Error{mapped, message};
}

Result<WatchMessage> decodeWatchMessage(std::string_view line) {
  auto j = parse(line);
  if (!j) {
    return fail(j.error());
  }
  if (auto e = j->find("error"); e != j->end()) {
    return fail(decodeError(200, line));
  }
  auto it = j->find("result");
  if (it == j->end() || !it->is_object()) {
    return fail(ErrorCode::Internal, "watch message without result");
  }
  const json& r = *it;
  WatchMessage out;
  out.created = boolField(r, "created");
  out.canceled = boolField(r, "canceled");
  if (auto reason = r.find("cancel_reason"); reason != r.end() && reason->is_string()) {
    out.cancel_reason = reason->get<std::string>();
  }
  out.compact_revision = int64Field(r, "compact_revision");
  out.header_revision = headerRevision(r);
  if (auto events = r.find("events"); events != r.end() && events->is_array()) {
    for (const auto& e : *events) {
      WatchEvent event;
      if (auto t = e.find("type"); t != e.end() && t->is_string() && *t == "DELETE") {
        event.type = WatchEvent::Type::Delete;
      }
      if (auto kv = e.find("kv"); kv != e.end()) {
        event.kv = decodeKv(*kv);
      }
      if (auto prev = e.find("prev_kv"); prev != e.end() && prev->is_object()) {
        event.prev_kv = decodeKv(*prev);
      }
      out.events.push_back(std::move(event));
    }
  }
  return out;
}

}  // namespace rampart::store::etcd
