#include "store/etcd_codec.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

namespace rampart::store::etcd {
namespace {

using json = nlohmann::json;

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string str(int64_t n) { return std::to_string(n); }

// proto3 JSON int64: a string ("42"), though plain numbers are accepted too. Absent or null is
// the proto3 default 0; anything else that is not an int64 is an error, never a silent 0 (a
// revision or lease read as 0 would mean "none" and corrupt the caller's view).
Result<int64_t> int64Field(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) {
    return int64_t{0};
  }
  if (it->is_number_unsigned()) {
    auto value = it->get<uint64_t>();
    if (value > static_cast<uint64_t>(INT64_MAX)) {
      return fail(ErrorCode::Internal, "etcd answered with an out-of-range ", name);
    }
    return static_cast<int64_t>(value);
  }
  if (it->is_number_integer()) {
    return it->get<int64_t>();
  }
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    int64_t value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
      return fail(ErrorCode::Internal, "etcd answered with an invalid ", name, " '",
                  s.substr(0, 40), "'");
    }
    return value;
  }
  return fail(ErrorCode::Internal, "etcd answered with a non-integer ", name);
}

bool boolField(const json& obj, const char* name) {
  auto it = obj.find(name);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

// proto3 JSON bytes: base64. Absent or null is the empty string; bad base64 is an error.
Result<std::string> bytesField(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) {
    return std::string();
  }
  if (!it->is_string()) {
    return fail(ErrorCode::Internal, "etcd answered with a non-string ", name);
  }
  auto decoded = base64Decode(it->get_ref<const std::string&>());
  if (!decoded) {
    return fail(ErrorCode::Internal, "etcd answered with an invalid ", name, ": ",
                decoded.error().message);
  }
  return decoded;
}

Result<json> parse(std::string_view body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return fail(ErrorCode::Internal, "etcd answered with invalid JSON: ",
                body.substr(0, std::min<size_t>(body.size(), 200)));
  }
  return parsed;
}

Result<Revision> headerRevision(const json& obj) {
  auto it = obj.find("header");
  if (it == obj.end() || it->is_null()) {
    return Revision{0};
  }
  if (!it->is_object()) {
    return fail(ErrorCode::Internal, "etcd answered with a non-object header");
  }
  return int64Field(*it, "revision");
}

// Reads fields one after another and keeps the first error, so a decoder reads as a list of
// fields instead of a ladder of ifs; the decoder returns `error` if one was set.
struct Fields {
  std::optional<Error> error;

  template <typename T, typename U>
  void get(Result<T> r, U& out) {
    if (error) {
      return;
    }
    if (!r) {
      error = r.error();
    } else {
      out = static_cast<U>(std::move(*r));
    }
  }
};

Result<KeyValue> decodeKv(const json& obj) {
  if (!obj.is_object()) {
    return fail(ErrorCode::Internal, "etcd answered with a non-object kv");
  }
  KeyValue kv;
  Fields f;
  f.get(bytesField(obj, "key"), kv.key);
  f.get(bytesField(obj, "value"), kv.value);
  f.get(int64Field(obj, "create_revision"), kv.create_revision);
  f.get(int64Field(obj, "mod_revision"), kv.mod_revision);
  f.get(int64Field(obj, "version"), kv.version);
  f.get(int64Field(obj, "lease"), kv.lease);
  if (f.error) {
    return fail(*f.error);
  }
  return kv;
}

// The kvs of `name` (an array of kv objects; absent: none) appended to `out`.
Result<void> kvList(const json& obj, const char* name, std::vector<KeyValue>& out) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) {
    return ok();
  }
  if (!it->is_array()) {
    return fail(ErrorCode::Internal, "etcd answered with a non-array ", name);
  }
  for (const auto& item : *it) {
    auto kv = decodeKv(item);
    if (!kv) {
      return fail(kv.error());
    }
    out.push_back(std::move(*kv));
  }
  return ok();
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

Result<RangeResponse> rangeFrom(const json& j) {
  RangeResponse out;
  Fields f;
  f.get(headerRevision(j), out.revision);
  f.get(int64Field(j, "count"), out.count);
  if (f.error) {
    return fail(*f.error);
  }
  if (auto kvs = kvList(j, "kvs", out.kvs); !kvs) {
    return fail(kvs.error());
  }
  out.more = boolField(j, "more");
  return out;
}

Result<PutResponse> putFrom(const json& j) {
  PutResponse out;
  auto revision = headerRevision(j);
  if (!revision) {
    return fail(revision.error());
  }
  out.revision = *revision;
  if (auto it = j.find("prev_kv"); it != j.end() && it->is_object()) {
    auto kv = decodeKv(*it);
    if (!kv) {
      return fail(kv.error());
    }
    out.prev_kv = std::move(*kv);
  }
  return out;
}

Result<DeleteResponse> deleteFrom(const json& j) {
  DeleteResponse out;
  Fields f;
  f.get(headerRevision(j), out.revision);
  f.get(int64Field(j, "deleted"), out.deleted);
  if (f.error) {
    return fail(*f.error);
  }
  if (auto kvs = kvList(j, "prev_kvs", out.prev_kvs); !kvs) {
    return fail(kvs.error());
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
  // Standard padded base64, as etcd's gateway writes it: whole 4-character groups, '=' only as
  // the last one or two characters, and no stray bits in the last character.
  if (text.size() % 4 != 0) {
    return fail(ErrorCode::InvalidArgument, "invalid base64: length ", std::to_string(text.size()),
                " is not a multiple of 4");
  }
  size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text.substr(0, text.size() - padding)) {
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
  if ((acc & ((1u << bits) - 1)) != 0) {
    return fail(ErrorCode::InvalidArgument, "invalid base64: stray bits before the padding");
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
  auto revision = headerRevision(*j);
  if (!revision) {
    return fail(revision.error());
  }
  out.revision = *revision;
  out.succeeded = boolField(*j, "succeeded");
  if (auto it = j->find("responses"); it != j->end() && it->is_array()) {
    for (const auto& op : *it) {
      if (!op.is_object()) {
        return fail(ErrorCode::Internal, "etcd answered with a non-object txn response");
      }
      if (auto r = op.find("response_range"); r != op.end()) {
        auto range = rangeFrom(*r);
        if (!range) {
          return fail(range.error());
        }
        out.responses.emplace_back(std::move(*range));
      } else if (auto p = op.find("response_put"); p != op.end()) {
        auto put = putFrom(*p);
        if (!put) {
          return fail(put.error());
        }
        out.responses.emplace_back(std::move(*put));
      } else if (auto d = op.find("response_delete_range"); d != op.end()) {
        auto del = deleteFrom(*d);
        if (!del) {
          return fail(del.error());
        }
        out.responses.emplace_back(std::move(*del));
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
  if (auto e = j->find("error");
      e != j->end() && e->is_string() && !e->get<std::string>().empty()) {
    return fail(ErrorCode::Unavailable, "lease grant: ", e->get<std::string>());
  }
  LeaseGrantResponse out;
  int64_t ttl = 0;
  Fields f;
  f.get(int64Field(*j, "ID"), out.id);
  f.get(int64Field(*j, "TTL"), ttl);
  if (f.error) {
    return fail(*f.error);
  }
  out.ttl = std::chrono::seconds(ttl);
  return out;
}

Result<LeaseKeepAliveResponse> decodeLeaseKeepAlive(std::string_view body) {
  auto j = parse(body);
  if (!j) {
    return fail(j.error());
  }
  const json* result = &*j;
  if (auto it = j->find("result"); it != j->end() && it->is_object()) {
    result = &*it;
  }
  int64_t ttl = 0;
  int64_t id = 0;
  Fields f;
  f.get(int64Field(*result, "TTL"), ttl);
  f.get(int64Field(*result, "ID"), id);
  if (f.error) {
    return fail(*f.error);
  }
  if (ttl <= 0) {
    return fail(ErrorCode::NotFound, "lease ", std::to_string(id),
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
  int64_t ttl = 0;
  int64_t granted = 0;
  Fields f;
  f.get(int64Field(*j, "TTL"), ttl);
  f.get(int64Field(*j, "grantedTTL"), granted);
  if (f.error) {
    return fail(*f.error);
  }
  out.ttl = std::chrono::seconds(ttl);
  out.granted_ttl = std::chrono::seconds(granted);
  if (auto it = j->find("keys"); it != j->end() && it->is_array()) {
    for (const auto& k : *it) {
      if (!k.is_string()) {
        return fail(ErrorCode::Internal, "etcd answered with a non-string lease key");
      }
      auto key = base64Decode(k.get<std::string>());
      if (!key) {
        return fail(ErrorCode::Internal,
                    "etcd answered with an invalid lease key: ", key.error().message);
      }
      out.keys.push_back(std::move(*key));
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
      // An error answer is reported even when its code is malformed (then: unknown).
      code = int64Field(e, "code").value_or(0);
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
  Fields f;
  f.get(int64Field(r, "compact_revision"), out.compact_revision);
  f.get(headerRevision(r), out.header_revision);
  if (f.error) {
    return fail(*f.error);
  }
  if (auto events = r.find("events"); events != r.end() && events->is_array()) {
    for (const auto& e : *events) {
      if (!e.is_object()) {
        return fail(ErrorCode::Internal, "etcd answered with a non-object watch event");
      }
      WatchEvent event;
      if (auto t = e.find("type"); t != e.end() && t->is_string() && *t == "DELETE") {
        event.type = WatchEvent::Type::Delete;
      }
      if (auto kv = e.find("kv"); kv != e.end()) {
        auto decoded = decodeKv(*kv);
        if (!decoded) {
          return fail(decoded.error());
        }
        event.kv = std::move(*decoded);
      }
      if (auto prev = e.find("prev_kv"); prev != e.end() && prev->is_object()) {
        auto decoded = decodeKv(*prev);
        if (!decoded) {
          return fail(decoded.error());
        }
        event.prev_kv = std::move(*decoded);
      }
      out.events.push_back(std::move(event));
    }
  }
  return out;
}

}  // namespace rampart::store::etcd
